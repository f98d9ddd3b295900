"""What a readiness run reads before it scores anything, checked in one place.

``pytest --readiness`` (at configure time) and ``agent-readiness validate`` both go through
:func:`load_gate_inputs` and :func:`check_waivers_name_known_checks`, so validate accepts exactly
the manifests the gate accepts, with the same messages. Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .checks import Check, CheckRegistry, DuplicateCheck
from .evidence import EvidenceInputError, load_imports, load_suites
from .manifest import ManifestError, load_manifest
from .model import Manifest

if TYPE_CHECKING:
    from .adversarial import Suite
    from .adversarial.results import ImportedResult


class GateInputError(ValueError):
    """An input the gate refuses before scoring; the message names the file, line and fix."""


@dataclass(frozen=True)
class GateInputs:
    """The manifest and everything it makes a run read: adversarial suites, imported results."""

    manifest: Manifest
    suites: Mapping[str, Suite]
    imported: tuple[ImportedResult, ...]


def load_gate_inputs(path: Path, shown: str) -> GateInputs:
    """Load and check the manifest at ``path`` (``shown`` in messages), the suites it declares
    (built-in and ``suite_dirs``) and the red-team results it imports."""
    try:
        manifest = load_manifest(path, display=shown)
    except ManifestError as error:
        raise GateInputError(str(error)) from None
    try:
        suites = load_suites(manifest, shown)
        imported = load_imports(manifest, shown)
    except EvidenceInputError as error:
        raise GateInputError(str(error)) from None
    return GateInputs(manifest=manifest, suites=suites, imported=imported)


def registry_of(registered: Iterable[Sequence[Check]]) -> CheckRegistry:
    """One registry of the checks each plugin registered; a clash of ids is refused."""
    registry = CheckRegistry()
    try:
        for checks in registered:
            registry.extend(checks)
    except (DuplicateCheck, ValueError) as error:
        raise GateInputError(f"readiness checks: {error}") from None
    return registry


def check_waivers_name_known_checks(manifest: Manifest, shown: str, known: Collection[str]) -> None:
    """Refuse a waiver for a check no installed plugin registers: it could never apply."""
    for waiver in manifest.waivers:
        if waiver.check not in known:
            raise GateInputError(
                f"{shown}:{manifest.line_of('waivers', waiver.index, 'check')}: waivers"
                f"[{waiver.index}].check: unknown check '{waiver.check}' (expected one of: "
                f"{', '.join(sorted(known))})"
            )


def waivers_not_applied(manifest: Manifest, shown: str, today: date) -> list[str]:
    """Why each waiver the gate will not apply on ``today`` is refused, one line each.

    The gate scores these rather than refusing the run (an expiry is a fact of the calendar,
    not a typo): the waiver lifts nothing, GOV-007 fails for the agent, and an expired one
    fails the gate. The reasons are the gate's own (``waiver_problem``).
    """
    from .waivers import waiver_problem

    problems: list[str] = []
    for waiver in manifest.waivers:
        problem = waiver_problem(waiver.approved_by, waiver.reason, waiver.expires, today)
        if problem is None:
            continue
        line = manifest.line_of("waivers", waiver.index)
        consequence = "fails the gate" if problem.startswith("expired") else "lifts nothing"
        problems.append(
            f"{shown}:{line}: waivers[{waiver.index}]: waiver for {waiver.check} on "
            f"{waiver.agent}: {problem}; it {consequence} and GOV-007 fails for {waiver.agent} "
            f"(as of {today.isoformat()})"
        )
    return problems
