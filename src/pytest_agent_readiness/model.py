"""The manifest as plain frozen data: what a project declares about its agents."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Stage = Literal["pilot", "stabilization", "scaling", "optimization"]
STAGES: tuple[Stage, ...] = ("pilot", "stabilization", "scaling", "optimization")

Dimension = Literal["governance", "infrastructure", "observability", "data_quality"]
DIMENSIONS: tuple[Dimension, ...] = (
    "governance",
    "infrastructure",
    "observability",
    "data_quality",
)

# The failure states the article says must each reach a named human.
REQUIRED_FAILURE_STATES: tuple[str, ...] = (
    "tool_error",
    "budget_exceeded",
    "policy_violation",
    "low_confidence",
)

# The article's alert signals; each needs a declared threshold.
ALERT_SIGNALS: tuple[str, ...] = (
    "failed_tool_calls",
    "unusual_call_frequency",
    "unexpected_data_access",
    "escalation_loops",
    "policy_violations",
    "output_quality",
)
# Signals whose alert must suspend the agent, not just notify, unless declared otherwise.
CRITICAL_SIGNALS: frozenset[str] = frozenset(
    {"unexpected_data_access", "policy_violations", "escalation_loops"}
)

OUTCOME_METRICS: tuple[str, ...] = ("task_completion_rate", "escalation_rate", "error_rate")
BOARD_METRICS: tuple[str, ...] = (
    "cost_per_resolved_case",
    "cycle_time",
    "error_rate_vs_human_baseline",
)

Path = tuple[str | int, ...]


def stage_index(stage: Stage) -> int:
    """Position of a stage in the rollout order (pilot is 0)."""
    return STAGES.index(stage)


def next_stage(stage: Stage) -> Stage | None:
    """The stage after ``stage``, or None for the last one."""
    index = stage_index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


@dataclass(frozen=True)
class Owner:
    """The accountable person: a name and an e-mail, or one string as written."""

    name: str | None
    email: str | None
    raw: str | None = None  # when written as one string


@dataclass(frozen=True)
class Tool:
    """A tool the agent may call: its access, its approval, the decision it carries out."""

    name: str
    access: Literal["read", "write", "admin"]
    approval: Literal["required", "none"]
    decision: str
    added: str | None = None
    # Per argument, the glob patterns its value must match: a call outside is unexpected data
    # access (the alert signal).
    data_scope: Mapping[str, tuple[str, ...]] | None = None

    @property
    def writes(self) -> bool:
        return self.access in ("write", "admin")


@dataclass(frozen=True)
class KillSwitch:
    """How the agent is halted (``mechanism`` and ``target``), how fast, and by whom."""

    mechanism: Literal["env", "file", "callable", "http"]
    target: str
    halt_within_s: float
    operators: tuple[str, ...]


@dataclass(frozen=True)
class Budgets:
    """Per-session and per-day limits on what the agent may spend."""

    tokens_per_session: int | None = None
    tool_calls_per_session: int | None = None
    sequential_actions_without_confirmation: int | None = None
    cost_usd_per_day: float | None = None


@dataclass(frozen=True)
class Alert:
    """A monitored signal: the threshold over a window, and what crossing it does."""

    signal: str
    threshold: float
    window: str
    action: Literal["suspend", "page", "notify"]
    severity: Literal["critical", "warning"]
    index: int


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file, with the version to roll back to."""

    path: str
    version: str
    rollback_to: str | None
    index: int


@dataclass(frozen=True)
class RedTeamImport:
    """A red-team tool's results file, counted as the adversarial suite ``suite``."""

    tool: str
    path: str
    suite: str
    index: int


@dataclass(frozen=True)
class Adversarial:
    """The adversarial suites the agent must pass, and at what pass rate."""

    suites: tuple[str, ...]
    min_pass_rate: float
    suite_dirs: tuple[str, ...] = ()
    imports: tuple[RedTeamImport, ...] = ()


@dataclass(frozen=True)
class Drift:
    """The metric drift is detected on, its threshold and what a breach does."""

    metric: str
    threshold: float
    action: str


@dataclass(frozen=True)
class Outcomes:
    """Outcome metrics against their baseline, and where the measured values are."""

    baseline: Mapping[str, float]
    thresholds: Mapping[str, Mapping[str, float]]
    measured_path: str | None


@dataclass(frozen=True)
class RiskAssessment:
    """One recorded risk assessment: its scope, who made it, when, and where it lives."""

    scope: str
    assessed_by: str
    date: str
    link: str


@dataclass(frozen=True)
class Agent:
    """One agent's declarations, exactly as the manifest states them (None = not declared)."""

    name: str
    stage: Stage
    owner: Owner | None = None
    stage_changed: str | None = None
    adapter: str | None = None
    autonomous: tuple[str, ...] | None = None
    human_approval: tuple[str, ...] | None = None
    escalation: Mapping[str, str] | None = None
    tools: Mapping[str, Tool] = field(default_factory=dict)
    permissions_reviewed: str | None = None
    kill_switch: KillSwitch | None = None
    budgets: Budgets | None = None
    tracing_required: bool | None = None
    alerts: tuple[Alert, ...] | None = None
    anomaly_log: str | None = None
    prompts: tuple[Prompt, ...] | None = None
    adversarial: Adversarial | None = None
    drift: Drift | None = None
    input_validation: bool | None = None
    outcomes: Outcomes | None = None
    risk_assessments: tuple[RiskAssessment, ...] | None = None
    board_metrics: Mapping[str, str] | None = None

    @property
    def gated(self) -> bool:
        """A pilot is scored and shown but never blocks a release."""
        return self.stage != "pilot"


@dataclass(frozen=True)
class Waiver:
    """A waiver of one check for one agent: why, who approved it, until when."""

    check: str
    agent: str
    reason: str
    approved_by: str
    expires: str
    index: int


@dataclass(frozen=True)
class Gate:
    """The release gate: the minimum total and the minimum per dimension."""

    min_total: int = 14
    min_dimension: int = 3


@dataclass(frozen=True)
class Manifest:
    """A validated manifest, with where each of its values was written."""

    path: str  # display path, '/'-separated, relative to the rootdir when possible
    base_dir: str  # absolute directory the manifest's relative paths resolve against
    sha256: str
    project: str | None
    gate: Gate
    agents: Mapping[str, Agent]
    waivers: tuple[Waiver, ...]
    lines: Mapping[Path, int]  # document path -> 1-based line

    def line_of(self, *path: str | int) -> int | None:
        """The line of the nearest declared value on ``path`` (None when nothing on it exists)."""
        probe: Path = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return None
