"""The scorecard: one versioned JSON document that every report renders.

Same inputs give the same bytes: keys are sorted, lists are in a fixed order, and nothing
that varies between runs (times, absolute paths, hosts) is written.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

from . import __version__
from .checks import CheckResult
from .model import next_stage
from .schemacheck import shipped_schema
from .scoring import Assessment

SCHEMA_VERSION = 1
TOOL_NAME = "pytest-agent-readiness"


class ScorecardError(Exception):
    """A file that is not a scorecard this version can read."""


def _check_entry(result: CheckResult) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "title": check.title,
        "dimension": check.dimension,
        "severity": check.severity,
        "weight": check.weight,
        "level": result.level,
        "full_level": check.full_level,
        "passed": result.passed,
        "points": result.points,
        "max_points": check.max_points,
        "reason": result.reason,
        "remediation": check.remediation,
        "manifest_line": result.manifest_line,
        "manifest_path": result.manifest_path,
        "evidence": list(result.evidence),
        "failed_evidence": list(result.failed_evidence),
        "evidence_sources": dict(result.evidence_sources),
        "waiver": dict(result.waiver) if result.waiver is not None else None,
    }


def _owner(assessment: Assessment, name: str) -> str | None:
    owner = assessment.manifest.agents[name].owner
    if owner is None:
        return None
    return owner.name or owner.raw


def build_scorecard(
    assessment: Assessment,
    *,
    run: Mapping[str, str] | None = None,
    adversarial: Mapping[str, Any] | None = None,
    coverage: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The scorecard document for ``assessment``.

    ``run`` names the CI run that produced it; ``adversarial`` holds pass rates per agent,
    suite and prompt version, ``coverage`` the cases per taxonomy id."""
    manifest = assessment.manifest
    verdict = assessment.verdict
    agents: dict[str, Any] = {}
    for name, score in assessment.agents.items():
        agents[name] = {
            "stage": score.agent.stage,
            "gated": score.agent.gated,
            "owner": _owner(assessment, name),
            "total": score.total,
            "dimensions": dict(score.dimensions),
            "checks": [_check_entry(result) for result in score.results],
            "promotion": {
                "next_stage": next_stage(score.agent.stage),
                "blockers": [
                    {"id": r.check.id, "title": r.check.title, "reason": r.reason}
                    for r in score.promotion_blockers
                ],
            },
        }
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "project": manifest.project,
        "manifest": {"path": manifest.path, "sha256": manifest.sha256},
        "as_of": assessment.today.isoformat(),
        "verdict": "ready" if verdict.ready else "not_ready",
        "incomplete": bool(verdict.incomplete_reasons),
        "incomplete_reasons": list(verdict.incomplete_reasons),
        "total": verdict.total,
        "dimensions": dict(verdict.dimensions),
        "gate": {
            "min_total": manifest.gate.min_total,
            "min_dimension": manifest.gate.min_dimension,
            "failures": list(verdict.failures),
        },
        "agents": agents,
        "waivers": [
            {
                "check": o.waiver.check,
                "agent": o.waiver.agent,
                "reason": o.waiver.reason,
                "approved_by": o.waiver.approved_by,
                "expires": o.waiver.expires,
                "status": o.status,
                "note": o.note,
                "manifest_line": o.manifest_line,
            }
            for o in assessment.waivers
        ],
        "warnings": [*assessment.warnings, *warnings],
        "adversarial": dict(adversarial or {}),
        "coverage": dict(coverage or {}),
    }
    if run:
        document["run"] = dict(sorted(run.items()))
    return document


def dumps(document: Mapping[str, Any]) -> str:
    """The canonical text of a scorecard: sorted keys, two-space indent, final newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so a reader sees the old file or the whole new one, never half of it.

    The file gets the mode a plain ``open(path, "w")`` would give it: an existing file keeps
    its mode, a new one gets 0666 less the umask (``mkstemp`` alone would leave it 0600, so a
    report meant for a CI artifact or a web server could not be read by anyone else).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, _plain_write_mode(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain_write_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    # The umask can only be read by setting it; set it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@cache
def scorecard_schema() -> Mapping[str, Any]:
    """The scorecard's JSON Schema, as shipped in the package."""
    return shipped_schema("pytest_agent_readiness", "schemas/scorecard.schema.json")


def load_scorecard(path: Path) -> dict[str, Any]:
    """Read a scorecard back, refusing anything that is not one (ScorecardError)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScorecardError(f"{path}: no such scorecard file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = f":{error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        raise ScorecardError(f"{path}{line}: not a JSON scorecard: {error}") from None
    if isinstance(document, dict) and document.get("schema_version") not in (None, SCHEMA_VERSION):
        raise ScorecardError(
            f"{path}: scorecard schema_version {document.get('schema_version')!r}; "
            f"this version reads {SCHEMA_VERSION}"
        )
    invalid = best_match(Draft202012Validator(scorecard_schema()).iter_errors(document))
    if invalid is not None:
        where = "/".join(str(part) for part in invalid.absolute_path) or "(root)"
        raise ScorecardError(f"{path}: not a valid scorecard at {where}: {invalid.message}")
    return cast("dict[str, Any]", document)
