"""The check engine's vocabulary: what a check is, what it found, the evidence that raises it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .lock import LockError, lock_path_for, read_lock, verify
from .model import Agent, Dimension, Manifest, Stage
from .paths import ManifestPaths

if TYPE_CHECKING:
    from .registry_scan import ConstructedAgent, SourceScan

Level = Literal["missing", "declared", "proven"]
Severity = Literal["critical", "standard"]
Proof = Literal["declaration", "runtime"]
LEVEL_POINTS: Mapping[Level, int] = {"missing": 0, "declared": 1, "proven": 2}
CHECK_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3}$")


@dataclass(frozen=True)
class CheckContext:
    """What a check may consult besides the agent: the whole manifest and the date it judges on."""

    manifest: Manifest
    today: date

    def resolve(self, relative: str) -> Path:
        """A path from the manifest, resolved against the manifest's directory with symlinks
        followed; :class:`~.paths.OutsideRepository` when it leaves the repository."""
        return self.paths.resolve(relative)

    @cached_property
    def paths(self) -> ManifestPaths:
        """The manifest's paths, resolved once per assessment (see :mod:`~.paths`)."""
        return ManifestPaths(self.manifest)

    @cached_property
    def prompt_lock(self) -> tuple[str | None, tuple[Any, ...]]:
        """The prompt lock's problem as text (an unreadable lock), and every prompt finding.

        Read once per assessment: every agent's checks consult the same lock."""
        try:
            path = lock_path_for(self.manifest)
            lock = read_lock(path, display=path.name) if path.is_file() else None
        except LockError as error:
            return str(error), ()
        return None, tuple(verify(self.manifest, lock, lock_path_display=path.name))

    @cached_property
    def source_scan(self) -> SourceScan:
        """The agents the repository's code constructs (a :class:`~.registry_scan.SourceScan`).

        Scanned once per assessment: every agent's GOV-010 consults the same scan."""
        from .registry_scan import scan_repository

        return scan_repository(self.paths.root, Path(self.manifest.base_dir))

    @cached_property
    def unregistered_agents(self) -> tuple[ConstructedAgent, ...]:
        """The scanned agents no manifest key names (see :func:`~.registry_scan.unregistered`).

        Matched once per assessment: every agent's GOV-010 reports the same project-wide set,
        and matching it per agent would cost agents x agents."""
        from .registry_scan import unregistered

        return tuple(unregistered(self.source_scan, self.manifest.agents))


@dataclass(frozen=True)
class Finding:
    """What a check concluded from the declarations alone.

    ``declared`` means the manifest states the control and it is well-formed; anything wrong
    with it is ``declared=False`` with a reason that says what to write.
    """

    declared: bool
    reason: str
    path: tuple[str | int, ...] = ()

    @classmethod
    def ok(cls, reason: str, *path: str | int) -> Finding:
        """A well-formed declaration."""
        return cls(True, reason, tuple(path))

    @classmethod
    def missing(cls, reason: str, *path: str | int) -> Finding:
        """No declaration, or one that does not hold up."""
        return cls(False, reason, tuple(path))


Evaluate = Callable[[Agent, CheckContext], Finding]


@dataclass(frozen=True)
class Check:
    """One control the gate asks for, scored per agent.

    ``proof`` says where full marks come from: a ``declaration`` check is settled by the manifest
    (full marks at ``declared``); a ``runtime`` check is a control only a run can show working
    (full marks at ``proven``; declaring it earns half).
    """

    id: str
    dimension: Dimension
    title: str
    severity: Severity
    proof: Proof
    remediation: str
    evaluate: Evaluate
    weight: int = 0  # 0 means "by severity": critical 2, standard 1
    min_stage: Stage = "pilot"

    def __post_init__(self) -> None:
        if not CHECK_ID_PATTERN.match(self.id):
            raise ValueError(f"check id {self.id!r} must look like ABC-123")
        if self.weight == 0:
            object.__setattr__(self, "weight", 2 if self.severity == "critical" else 1)

    @property
    def full_level(self) -> Level:
        return "proven" if self.proof == "runtime" else "declared"

    @property
    def max_points(self) -> int:
        return self.weight * LEVEL_POINTS[self.full_level]


Outcome = Literal["passed", "failed", "skipped"]
EvidenceSource = Literal["test", "probe"]


@dataclass(frozen=True)
class Evidence:
    """A test's outcome linked to one check for one agent."""

    nodeid: str
    check: str
    agent: str
    outcome: Outcome
    source: EvidenceSource = "test"
    message: str = ""


@dataclass(frozen=True)
class CheckResult:
    """A check's verdict for one agent, with everything a report needs to explain it."""

    check: Check
    agent: str
    level: Level
    passed: bool
    reason: str
    line: int | None  # the manifest line the finding is about
    document_path: str  # the place inside the manifest, e.g. 'agents.refund-agent.owner'
    evidence: tuple[str, ...] = ()
    failed_evidence: tuple[str, ...] = ()
    waiver: Mapping[str, str] | None = None
    # node id -> "probe" (a built-in run-time probe) or "test" (the team's own marked test)
    evidence_sources: Mapping[str, EvidenceSource] = field(default_factory=dict)

    @property
    def points(self) -> int:
        if not self.passed:
            return 0
        return self.check.weight * min(
            LEVEL_POINTS[self.level], LEVEL_POINTS[self.check.full_level]
        )


class DuplicateCheck(ValueError):
    """Two plugins registered the same check id."""


@dataclass
class CheckRegistry:
    """All checks known to a session, built-in and from policy-pack plugins, by id."""

    checks: dict[str, Check] = field(default_factory=dict)

    def add(self, check: Check) -> None:
        """Register ``check``; ids are unique across every plugin."""
        if check.id in self.checks and self.checks[check.id] is not check:
            raise DuplicateCheck(f"two plugins register check {check.id}")
        self.checks[check.id] = check

    def extend(self, checks: Iterable[Check]) -> None:
        """Register each of ``checks``."""
        for check in checks:
            self.add(check)

    def ordered(self) -> Sequence[Check]:
        """Checks in a stable order: by dimension as the article lists them, then id."""
        from .model import DIMENSIONS

        return sorted(self.checks.values(), key=lambda c: (DIMENSIONS.index(c.dimension), c.id))
