"""The built-in checks: one id per control the article names.

Ids are stable once released; a check's evaluation reads declarations only. Run-time proof
raises a check's level through :class:`~.checks.Evidence`, never through these functions.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .checks import Check, CheckContext, Finding
from .lock import LOCK_COMMAND, record_hint
from .model import (
    ALERT_SIGNALS,
    BOARD_METRICS,
    CRITICAL_SIGNALS,
    OUTCOME_METRICS,
    REQUIRED_FAILURE_STATES,
    Agent,
    Owner,
    stage_index,
)
from .paths import OutsideRepository
from .people import EMAIL, NAMED_EMAIL, contact_problem, person_problem
from .waivers import waiver_problem

PERMISSION_REVIEW_MAX_AGE_DAYS = 90

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")


def _owner_problem(owner: Owner) -> str | None:
    if owner.raw is not None:
        named = NAMED_EMAIL.match(owner.raw.strip())
        if named is None:
            if EMAIL.match(owner.raw.strip()):
                return (
                    f"owner '{owner.raw}' is a bare address with no person; write "
                    "owner: {name: <a person>, email: <their address>}"
                )
            return (
                f"owner '{owner.raw}' has no contact; write "
                "owner: {name: <a person>, email: <their address>}"
            )
        name, email = named.group("name"), named.group("email")
    else:
        name, email = owner.name, owner.email
    return person_problem(name) or contact_problem(email)


def _owner_name(owner: Owner) -> str:
    if owner.raw is not None:
        named = NAMED_EMAIL.match(owner.raw.strip())
        return named.group("name") if named else owner.raw
    return owner.name or ""


def check_owner(agent: Agent, context: CheckContext) -> Finding:
    """GOV-001: a named human owner with a contact."""
    if agent.owner is None:
        return Finding.missing("no owner declared", "agents", agent.name)
    problem = _owner_problem(agent.owner)
    if problem:
        return Finding.missing(
            f"owner is not a named person with a contact: {problem}", "agents", agent.name, "owner"
        )
    return Finding.ok(f"owned by {_owner_name(agent.owner)}", "agents", agent.name, "owner")


def check_decision_boundaries(agent: Agent, context: CheckContext) -> Finding:
    """GOV-002: every tool falls under a decision boundary, and no decision is on both sides."""
    base = ("agents", agent.name)
    if not agent.tools:
        return Finding.missing("no tools declared: list every tool the agent can call", *base)
    if agent.autonomous is None and agent.human_approval is None:
        return Finding.missing(
            "no decision boundaries declared (decisions.autonomous, decisions.human_approval)",
            *base,
        )
    autonomous = set(agent.autonomous or ())
    human = set(agent.human_approval or ())
    both = sorted(autonomous & human)
    if both:
        return Finding.missing(
            f"decisions both autonomous and human-approved: {', '.join(both)}", *base, "decisions"
        )
    uncovered = sorted(t.name for t in agent.tools.values() if t.decision not in autonomous | human)
    if uncovered:
        return Finding.missing(
            f"tools outside every decision boundary: {', '.join(uncovered)}", *base, "decisions"
        )
    return Finding.ok(
        f"{len(agent.tools)} tools under {len(autonomous)} autonomous and "
        f"{len(human)} human-approved decisions",
        *base,
        "decisions",
    )


def check_escalation(agent: Agent, context: CheckContext) -> Finding:
    """GOV-003: every failure state names a human escalation owner."""
    base = ("agents", agent.name)
    if agent.escalation is None:
        return Finding.missing("no escalation paths declared", *base)
    absent = [state for state in REQUIRED_FAILURE_STATES if state not in agent.escalation]
    if absent:
        return Finding.missing(
            f"failure states with no escalation owner: {', '.join(absent)}", *base, "escalation"
        )
    for state, owner in sorted(agent.escalation.items()):
        problem = contact_problem(owner)
        if problem:
            return Finding.missing(
                f"escalation owner for {state}: {problem}", *base, "escalation", state, "owner"
            )
    return Finding.ok(
        f"{len(agent.escalation)} failure states each reach an owner", *base, "escalation"
    )


def check_least_privilege(agent: Agent, context: CheckContext) -> Finding:
    """GOV-004: least privilege by decision boundary.

    A write tool may run without approval only when its decision is listed under
    ``decisions.autonomous`` (a low-risk write such as a customer notification); an ``admin``
    tool always needs ``approval: required``; a write whose decision is under
    ``decisions.human_approval`` needs ``approval: required`` in code from stabilization on
    (a pilot may still rely on the human boundary); a write in neither list fails.
    """
    base = ("agents", agent.name)
    if not agent.tools:
        return Finding.missing("no tools declared", *base)
    autonomous = set(agent.autonomous or ())
    human = set(agent.human_approval or ())
    strict = stage_index(agent.stage) >= stage_index("stabilization")
    gated: list[str] = []
    free: list[str] = []
    for tool in sorted(agent.tools.values(), key=lambda t: t.name):
        if not tool.writes:
            continue
        path = (*base, "tools", tool.name)
        if tool.approval == "required":
            gated.append(tool.name)
            continue
        if tool.access == "admin":
            return Finding.missing(
                f"admin tool {tool.name} runs without approval: required (an admin tool always "
                "needs approval)",
                *path,
            )
        if tool.decision in autonomous:
            free.append(tool.name)
            continue
        if tool.decision in human:
            if strict:
                return Finding.missing(
                    f"write tool {tool.name} runs without approval: required, but its decision "
                    f"{tool.decision} is under decisions.human_approval (code-enforced approval "
                    f"is needed at {agent.stage})",
                    *path,
                )
            gated.append(tool.name)
            continue
        return Finding.missing(
            f"write tool {tool.name} has no approval: required and its decision "
            f"{tool.decision} is under neither decisions.autonomous nor decisions.human_approval",
            *path,
        )
    if not gated and not free:
        return Finding.ok("no writing tools", *base, "tools")
    said = [f"{len(gated)} behind human approval"] if gated else []
    if free:
        said.append(f"{len(free)} autonomous by decision ({', '.join(free)})")
    return Finding.ok(f"writing tools: {'; '.join(said)}", *base, "tools")


def _parse_date(text: str) -> date:
    return date.fromisoformat(text)


def check_permissions_reviewed(agent: Agent, context: CheckContext) -> Finding:
    """GOV-005: tool permissions audited within the last 90 days."""
    base = ("agents", agent.name)
    if agent.permissions_reviewed is None:
        return Finding.missing("no permission review date (permissions_reviewed)", *base)
    reviewed = _parse_date(agent.permissions_reviewed)
    path = (*base, "permissions_reviewed")
    age = (context.today - reviewed).days
    if age < 0:
        return Finding.missing(f"permission review date {reviewed} is in the future", *path)
    if age > PERMISSION_REVIEW_MAX_AGE_DAYS:
        return Finding.missing(
            f"permissions last reviewed {reviewed}, {age} days ago "
            f"(more than {PERMISSION_REVIEW_MAX_AGE_DAYS})",
            *path,
        )
    return Finding.ok(f"permissions reviewed {reviewed} ({age} days ago)", *path)


def check_permission_creep(agent: Agent, context: CheckContext) -> Finding:
    """GOV-006: every declared tool is one the agent uses (only traces can show it)."""
    if not agent.tools:
        return Finding.missing("no tools declared", "agents", agent.name)
    return Finding.ok(f"{len(agent.tools)} tools declared", "agents", agent.name, "tools")


def check_no_undeclared_tools(agent: Agent, context: CheckContext) -> Finding:
    """GOV-009: the agent has and uses no tool the manifest does not declare."""
    if not agent.tools:
        return Finding.missing("no tools declared", "agents", agent.name)
    return Finding.ok(f"{len(agent.tools)} tools declared", "agents", agent.name, "tools")


_SHOWN_UNREGISTERED = 5


def check_agents_registered(agent: Agent, context: CheckContext) -> Finding:
    """GOV-010: every agent the code constructs with a supported framework is in the manifest.

    A project-wide finding: each agent of the manifest carries it, since no single one owns an
    agent nobody declared (see :mod:`~.registry_scan` for how code maps to manifest keys)."""
    scan = context.source_scan
    if scan.incomplete is not None:
        return Finding.missing(
            f"{scan.incomplete}: agents in the files not read cannot be ruled out", "agents"
        )
    strays = context.unregistered_agents
    skipped = f"; not scanned: {'; '.join(scan.skipped)}" if scan.skipped else ""
    if strays:
        shown = []
        for stray in strays[:_SHOWN_UNREGISTERED]:
            bare = (
                f" (its ignore comment on line {stray.ignore_without_reason} gives no reason)"
                if stray.ignore_without_reason is not None
                else ""
            )
            shown.append(stray.describe() + bare)
        more = len(strays) - _SHOWN_UNREGISTERED
        return Finding.missing(
            f"{len(strays)} agent{'s' * (len(strays) != 1)} in the code the manifest does not "
            f"declare: {'; '.join(shown)}{f' (and {more} more)' if more > 0 else ''}{skipped}",
            "agents",
        )
    ignored = [a for a in scan.agents if a.ignored is not None]
    said = f"; {len(ignored)} ignored ({ignored[0].where}: {ignored[0].ignored})" if ignored else ""
    count = len(scan.agents) - len(ignored)
    return Finding.ok(
        f"{count} agent construction{'s' * (count != 1)} in {scan.files} Python files, each "
        f"declared{said}{skipped}",
        "agents",
    )


def check_waivers(agent: Agent, context: CheckContext) -> Finding:
    """GOV-007: the agent's waivers name an approver and a reason and have not expired."""
    own = [w for w in context.manifest.waivers if w.agent == agent.name]
    if not own:
        return Finding.ok("no waivers", "agents", agent.name)
    for waiver in own:
        problem = waiver_problem(waiver.approved_by, waiver.reason, waiver.expires, context.today)
        if problem:
            return Finding.missing(f"waiver for {waiver.check}: {problem}", "waivers", waiver.index)
    return Finding.ok(f"{len(own)} valid waivers", "waivers", own[0].index)


def check_risk_assessments(agent: Agent, context: CheckContext) -> Finding:
    """GOV-008: each tool added since the last stage change has a risk-assessment record."""
    base = ("agents", agent.name)
    if agent.stage_changed is None:
        return Finding.missing("no stage_changed date to judge new tools against", *base)
    since = _parse_date(agent.stage_changed)
    assessed = {record.scope for record in agent.risk_assessments or ()}
    added = sorted(
        tool.name
        for tool in agent.tools.values()
        if tool.added is not None and _parse_date(tool.added) >= since
    )
    unassessed = [name for name in added if name not in assessed]
    if unassessed:
        return Finding.missing(
            f"tools added since {since} without a risk assessment: {', '.join(unassessed)}",
            *base,
            "tools",
            unassessed[0],
            "added",
        )
    return Finding.ok(f"{len(added)} tools added since {since}, each risk-assessed", *base)


def check_kill_switch(agent: Agent, context: CheckContext) -> Finding:
    """INF-001: a kill switch any operator can engage, with a halt deadline."""
    base = ("agents", agent.name)
    kill = agent.kill_switch
    if kill is None:
        return Finding.missing("no kill switch declared", *base)
    path = (*base, "kill_switch")
    target_ok = {
        "env": bool(_ENV_NAME.match(kill.target)),
        "file": bool(kill.target.strip()),
        "callable": bool(_CALLABLE.match(kill.target)),
        "http": kill.target.startswith(("http://", "https://")),
    }[kill.mechanism]
    if not target_ok:
        expected = {
            "env": "an environment variable name",
            "file": "a file path",
            "callable": "'package.module:function'",
            "http": "an http(s) URL",
        }[kill.mechanism]
        return Finding.missing(
            f"kill switch target '{kill.target}' is not {expected}", *path, "target"
        )
    if not kill.operators:
        return Finding.missing("no operators named: who can engage it without engineering?", *path)
    return Finding.ok(
        f"{kill.mechanism} switch {kill.target}, halt within {kill.halt_within_s:g}s, "
        f"{len(kill.operators)} operators",
        *path,
    )


_BUDGET_KEYS = (
    "tokens_per_session",
    "tool_calls_per_session",
    "sequential_actions_without_confirmation",
)


def check_budgets(agent: Agent, context: CheckContext) -> Finding:
    """INF-002: hard limits on tokens, tool calls and unconfirmed sequential actions."""
    base = ("agents", agent.name)
    if agent.budgets is None:
        return Finding.missing("no budgets declared", *base)
    absent = [key for key in _BUDGET_KEYS if getattr(agent.budgets, key) is None]
    if absent:
        return Finding.missing(f"budgets missing: {', '.join(absent)}", *base, "budgets")
    b = agent.budgets
    return Finding.ok(
        f"{b.tokens_per_session} tokens, {b.tool_calls_per_session} tool calls, "
        f"{b.sequential_actions_without_confirmation} unconfirmed actions per session",
        *base,
        "budgets",
    )


def semver_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key for a semantic version (a pre-release sorts before its release)."""
    match = _SEMVER.match(version)
    if match is None:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def check_prompts(agent: Agent, context: CheckContext) -> Finding:
    """INF-003: prompts are files with a version and an older version to roll back to."""
    base = ("agents", agent.name)
    if not agent.prompts:
        return Finding.missing("no prompts declared", *base)
    for prompt in agent.prompts:
        path = (*base, "prompts", prompt.index)
        try:
            file = context.resolve(prompt.path)
        except OutsideRepository:
            return Finding.missing(
                f"prompt file {prompt.path} is outside the repository", *path, "path"
            )
        unreadable = _prompt_text_problem(file, prompt.path)
        if unreadable:
            return Finding.missing(unreadable, *path, "path")
        if prompt.rollback_to is None:
            return Finding.missing(
                f"prompt {prompt.path} has no rollback_to version: when you release the next "
                f"version, keep {prompt.version} as its rollback_to and run `{LOCK_COMMAND}` "
                f"(the lock keeps {prompt.version}'s text); to name an older version the lock "
                f"never saw, record it first: `{record_hint(prompt.path, 'VERSION')}`",
                *path,
                "version",
            )
        if semver_key(prompt.rollback_to) >= semver_key(prompt.version):
            return Finding.missing(
                f"prompt {prompt.path}: rollback_to {prompt.rollback_to} is not older than "
                f"{prompt.version}",
                *path,
                "rollback_to",
            )
    versions = ", ".join(f"{p.path}@{p.version}" for p in agent.prompts)
    return Finding.ok(f"versioned prompts: {versions}", *base, "prompts")


def _prompt_text_problem(file: Path, shown: str) -> str | None:
    """Why the prompt file cannot serve as a system prompt (missing, not a file, not UTF-8)."""
    try:
        file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return f"prompt file {shown} does not exist"
    except IsADirectoryError:
        return f"prompt file {shown} is a directory, not a file"
    except UnicodeDecodeError as error:
        return (
            f"prompt file {shown} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at "
            f"offset {error.start}): a prompt is text a model reads; save it as UTF-8"
        )
    except OSError as error:
        return f"prompt file {shown} cannot be read: {error.strerror or type(error).__name__}"
    return None


def _lock_findings(agent: Agent, context: CheckContext) -> list[Any]:
    unreadable, findings = context.prompt_lock
    if unreadable is not None:
        return [unreadable]
    return [finding for finding in findings if finding.agent == agent.name]


def check_prompt_lock(agent: Agent, context: CheckContext) -> Finding:
    """INF-005: every prompt is pinned by hash; none changed under its version."""
    base = ("agents", agent.name)
    if not agent.prompts:
        return Finding.missing("no prompts declared", *base)
    findings = _lock_findings(agent, context)
    if findings:
        first = findings[0]
        if isinstance(first, str):
            return Finding.missing(first, *base, "prompts")
        critical = [f for f in findings if f.critical]
        shown = critical[0] if critical else first
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        return Finding.missing(shown.message + more, *base, "prompts", shown.prompt_index)
    versions = ", ".join(f"{p.path}@{p.version}" for p in agent.prompts)
    return Finding.ok(f"prompts pinned by hash: {versions}", *base, "prompts")


def check_regression(agent: Agent, context: CheckContext) -> Finding:
    """INF-004: regression tests ran on the current prompt versions."""
    base = ("agents", agent.name)
    if not agent.prompts:
        return Finding.missing("no versioned prompts to regression-test", *base)
    if any(
        not isinstance(f, str) and f.kind == "content-changed"
        for f in _lock_findings(agent, context)
    ):
        # Tests ran on prompt text no version names: they prove nothing about a version.
        return Finding.missing(
            "a prompt changed without a new version: the tests ran on "
            "unversioned text (see INF-005)",
            *base,
            "prompts",
        )
    versions = ", ".join(p.version for p in agent.prompts)
    return Finding.ok(f"current prompt versions {versions}", *base, "prompts")


def check_tracing(agent: Agent, context: CheckContext) -> Finding:
    """OBS-001: tracing is required for every tool call."""
    base = ("agents", agent.name)
    if agent.tracing_required is None:
        return Finding.missing("tracing not declared", *base)
    if not agent.tracing_required:
        return Finding.missing("tracing is declared as not required", *base, "tracing")
    return Finding.ok("tracing required", *base, "tracing")


def check_alerts(agent: Agent, context: CheckContext) -> Finding:
    """OBS-002: an alert threshold for each of the article's signals."""
    base = ("agents", agent.name)
    if not agent.alerts:
        return Finding.missing("no alerts declared", *base)
    declared = {alert.signal for alert in agent.alerts}
    absent = [signal for signal in ALERT_SIGNALS if signal not in declared]
    if absent:
        return Finding.missing(f"no alert for: {', '.join(absent)}", *base, "alerts")
    return Finding.ok(f"alerts for all {len(ALERT_SIGNALS)} signals", *base, "alerts")


def check_alerts_suspend(agent: Agent, context: CheckContext) -> Finding:
    """OBS-003: critical alerts suspend the agent, not just notify."""
    base = ("agents", agent.name)
    if not agent.alerts:
        return Finding.missing("no alerts declared", *base)
    for alert in agent.alerts:
        if alert.severity == "critical" and alert.action != "suspend":
            return Finding.missing(
                f"critical alert on {alert.signal} only does '{alert.action}'; it must suspend",
                *base,
                "alerts",
                alert.index,
                "action",
            )
    suspending = {alert.signal for alert in agent.alerts if alert.action == "suspend"}
    absent = sorted(CRITICAL_SIGNALS - suspending)
    if absent:
        return Finding.missing(f"no suspending alert for: {', '.join(absent)}", *base, "alerts")
    return Finding.ok(f"{len(suspending)} signals suspend the agent", *base, "alerts")


def check_outcome_metrics(agent: Agent, context: CheckContext) -> Finding:
    """OBS-004: task completion, escalation and error rates with a baseline and a threshold."""
    base = ("agents", agent.name)
    if agent.outcomes is None:
        return Finding.missing("no outcome metrics declared", *base)
    path = (*base, "outcomes")
    no_baseline = [m for m in OUTCOME_METRICS if m not in agent.outcomes.baseline]
    if no_baseline:
        return Finding.missing(f"no baseline for: {', '.join(no_baseline)}", *path)
    no_threshold = [m for m in OUTCOME_METRICS if m not in agent.outcomes.thresholds]
    if no_threshold:
        return Finding.missing(f"no threshold for: {', '.join(no_threshold)}", *path)
    return Finding.ok("outcome metrics declared with baselines and thresholds", *path)


def _load_metrics(file: Path) -> Any:
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".json":
        return json.loads(text)
    return yaml.safe_load(text)


def check_measured_outcomes(agent: Agent, context: CheckContext) -> Finding:
    """OBS-005: measured outcomes meet their thresholds (the promotion evidence)."""
    base = ("agents", agent.name)
    outcomes = agent.outcomes
    if outcomes is None or outcomes.measured_path is None:
        return Finding.missing("no measured outcomes file (outcomes.measured.path)", *base)
    path = (*base, "outcomes", "measured", "path")
    try:
        measured = _load_metrics(context.resolve(outcomes.measured_path))
    except OutsideRepository:
        return Finding.missing(
            f"measured outcomes file {outcomes.measured_path} is outside the repository", *path
        )
    except FileNotFoundError:
        return Finding.missing(
            f"measured outcomes file {outcomes.measured_path} does not exist", *path
        )
    except IsADirectoryError:
        return Finding.missing(
            f"measured outcomes file {outcomes.measured_path} is a directory: name the JSON or "
            "YAML file your export writes",
            *path,
        )
    except OSError as error:
        return Finding.missing(
            f"measured outcomes file {outcomes.measured_path} cannot be read: "
            f"{error.strerror or type(error).__name__}",
            *path,
        )
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        first = str(error).splitlines()[0]
        return Finding.missing(
            f"{outcomes.measured_path} is not valid JSON or YAML: {first}", *path
        )
    if not isinstance(measured, dict):
        return Finding.missing(
            f"{outcomes.measured_path} must be a mapping of metric to value", *path
        )
    misses: list[str] = []
    for metric in OUTCOME_METRICS:
        value = measured.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            misses.append(f"{metric} not measured")
            continue
        if not math.isfinite(value):  # NaN compares false with every threshold: never a pass
            misses.append(f"{metric} {value} is not a finite number")
            continue
        bounds = outcomes.thresholds.get(metric, {})
        if "min" in bounds and value < bounds["min"]:
            misses.append(f"{metric} {value:g} < {bounds['min']:g}")
        if "max" in bounds and value > bounds["max"]:
            misses.append(f"{metric} {value:g} > {bounds['max']:g}")
    if misses:
        return Finding.missing(
            f"measured outcomes miss their thresholds: {'; '.join(misses)}", *path
        )
    return Finding.ok(f"measured outcomes in {outcomes.measured_path} meet every threshold", *path)


def check_anomaly_log(agent: Agent, context: CheckContext) -> Finding:
    """OBS-006: an anomaly log, the evidence base for scaling."""
    if agent.anomaly_log is None:
        return Finding.missing("no anomaly log declared", "agents", agent.name)
    return Finding.ok(
        f"anomalies logged to {agent.anomaly_log}", "agents", agent.name, "anomaly_log"
    )


def check_board_metrics(agent: Agent, context: CheckContext) -> Finding:
    """OBS-007: the board's business metrics, each with a source."""
    base = ("agents", agent.name)
    declared = agent.board_metrics or {}
    absent = [metric for metric in BOARD_METRICS if metric not in declared]
    if absent:
        return Finding.missing(f"board metrics missing: {', '.join(absent)}", *base)
    return Finding.ok("board metrics declared", *base, "board_metrics")


def check_adversarial(agent: Agent, context: CheckContext) -> Finding:
    """DQ-001: adversarial suites declared with a required pass rate."""
    base = ("agents", agent.name)
    if agent.adversarial is None or not agent.adversarial.suites:
        return Finding.missing("no adversarial suites declared", *base)
    suites = ", ".join(agent.adversarial.suites)
    return Finding.ok(
        f"suites {suites} at pass rate {agent.adversarial.min_pass_rate:g}", *base, "adversarial"
    )


def check_drift(agent: Agent, context: CheckContext) -> Finding:
    """DQ-002: data drift detection with a threshold and an action."""
    base = ("agents", agent.name)
    if agent.drift is None:
        return Finding.missing("no drift detection declared", *base)
    drift = agent.drift
    return Finding.ok(
        f"{drift.metric} drift over {drift.threshold:g} triggers {drift.action}",
        *base,
        "data_quality",
        "drift",
    )


def check_input_validation(agent: Agent, context: CheckContext) -> Finding:
    """DQ-003: inputs are validated before the agent acts on them."""
    base = ("agents", agent.name)
    if agent.input_validation is None:
        return Finding.missing("input validation not declared", *base)
    if not agent.input_validation:
        return Finding.missing(
            "input validation is declared off", *base, "data_quality", "input_validation"
        )
    return Finding.ok("input validation on", *base, "data_quality", "input_validation")


BUILTIN_CHECKS: tuple[Check, ...] = (
    Check(
        "GOV-001",
        "governance",
        "Named human owner",
        "critical",
        "declaration",
        "Set owner: {name: <a person>, email: <their address>}; a team or placeholder is no owner.",
        check_owner,
    ),
    Check(
        "GOV-002",
        "governance",
        "Decision boundaries cover every tool",
        "critical",
        "declaration",
        "List each tool's decision under decisions.autonomous or decisions.human_approval.",
        check_decision_boundaries,
    ),
    Check(
        "GOV-003",
        "governance",
        "Escalation owner for every failure state",
        "critical",
        "runtime",
        "Map tool_error, budget_exceeded, policy_violation and low_confidence to an owner "
        "under escalation, and prove each is reached with a test.",
        check_escalation,
    ),
    Check(
        "GOV-004",
        "governance",
        "Least privilege: writes need approval unless their decision is autonomous",
        "critical",
        "runtime",
        "Set approval: required on every admin tool and on every write whose decision is under "
        "decisions.human_approval; list a low-risk write's decision (a notification) under "
        "decisions.autonomous; prove with a test that approval-required tools do not run "
        "unapproved.",
        check_least_privilege,
    ),
    Check(
        "GOV-005",
        "governance",
        "Permissions reviewed within 90 days",
        "standard",
        "declaration",
        "Audit the agent's tool permissions and set permissions_reviewed to the audit date.",
        check_permissions_reviewed,
    ),
    Check(
        "GOV-006",
        "governance",
        "No unused tool permissions (permission creep)",
        "standard",
        "runtime",
        "Remove tools the agent never uses; prove use with traces from tests.",
        check_permission_creep,
    ),
    Check(
        "GOV-007",
        "governance",
        "Waivers valid",
        "standard",
        "declaration",
        "Give each waiver a named approver, a reason and an expiry at most 90 days ahead.",
        check_waivers,
    ),
    Check(
        "GOV-008",
        "governance",
        "Risk assessment for every new tool",
        "critical",
        "declaration",
        "Add a risk_assessments record (scope, assessed_by, date, link) for each tool added "
        "since stage_changed.",
        check_risk_assessments,
        min_stage="optimization",
    ),
    Check(
        "GOV-009",
        "governance",
        "No undeclared tools",
        "critical",
        "runtime",
        "Declare every tool the agent has, or take it away from the agent; prove it with the "
        "adapter's tool inventory and traces.",
        check_no_undeclared_tools,
    ),
    Check(
        "GOV-010",
        "governance",
        "Every agent in the code is registered",
        # Standard: the name mapping is a heuristic over source text; a miss must not block a
        # release on its own, and the failure names each file and line to declare or ignore.
        "standard",
        "declaration",
        "Declare each agent the code builds under agents: with its name= as the key, or mark "
        "the line `# agent-readiness: ignore <reason>` when it is no agent the company runs.",
        check_agents_registered,
    ),
    Check(
        "INF-005",
        "infrastructure",
        "Prompts pinned by hash in agent-readiness.lock",
        "critical",
        "declaration",
        "Run `agent-readiness lock` after every prompt change, and bump the prompt's version when "
        "its text changes; `agent-readiness lock --record PROMPT@VERSION=FILE` records a "
        "rollback version the lock never saw.",
        check_prompt_lock,
    ),
    Check(
        "INF-001",
        "infrastructure",
        "Kill switch halts the agent",
        "critical",
        "runtime",
        "Declare kill_switch (mechanism, target, halt_within_s, operators) and prove with a "
        "test that a runaway session stops in time.",
        check_kill_switch,
    ),
    Check(
        "INF-002",
        "infrastructure",
        "Budgets enforced",
        "critical",
        "runtime",
        "Declare tokens_per_session, tool_calls_per_session and "
        "sequential_actions_without_confirmation, and prove the agent stops at them.",
        check_budgets,
    ),
    Check(
        "INF-003",
        "infrastructure",
        "Prompts versioned with a rollback version",
        "critical",
        "declaration",
        "Keep each prompt in a UTF-8 file with a semantic version and an older rollback_to "
        "version the lock knows: bump version, keep the old one as rollback_to, run "
        "`agent-readiness lock` (`--record PROMPT@VERSION=FILE` adds a version it never saw).",
        check_prompts,
    ),
    Check(
        "INF-004",
        "infrastructure",
        "Regression tests pass on the current prompt version",
        "standard",
        "runtime",
        "Mark the agent's regression tests @pytest.mark.readiness('INF-004', agent=...).",
        check_regression,
    ),
    Check(
        "OBS-001",
        "observability",
        "Every tool call traced",
        "critical",
        "runtime",
        "Set tracing: {required: true} and prove with a test that every tool call has a span.",
        check_tracing,
    ),
    Check(
        "OBS-002",
        "observability",
        "Alerts for the article's signals",
        "standard",
        "declaration",
        "Declare an alert (threshold, window, action) for each signal: "
        + ", ".join(ALERT_SIGNALS)
        + ".",
        check_alerts,
    ),
    Check(
        "OBS-003",
        "observability",
        "Critical alerts suspend the agent",
        "critical",
        "runtime",
        "Set action: suspend on alerts for "
        + ", ".join(sorted(CRITICAL_SIGNALS))
        + "; wire a monitor (pytest_agent_readiness.monitor.wire_monitor) so the alert probes "
        "prove each suspends the agent, reaches its owner and holds until released.",
        check_alerts_suspend,
    ),
    Check(
        "OBS-004",
        "observability",
        "Outcome metrics against a baseline",
        "standard",
        "declaration",
        "Declare outcomes.baseline and outcomes.thresholds for task_completion_rate, "
        "escalation_rate and error_rate.",
        check_outcome_metrics,
        min_stage="stabilization",
    ),
    Check(
        "OBS-005",
        "observability",
        "Measured outcomes meet thresholds",
        "critical",
        "declaration",
        "Export measured outcomes to the file outcomes.measured.path names and meet each "
        "threshold before scaling.",
        check_measured_outcomes,
        min_stage="scaling",
    ),
    Check(
        "OBS-006",
        "observability",
        "Anomaly log declared",
        "standard",
        "declaration",
        "Declare anomaly_log: {location: ...}, where every anomaly is recorded.",
        check_anomaly_log,
        min_stage="scaling",
    ),
    Check(
        "OBS-007",
        "observability",
        "Board metrics declared",
        "standard",
        "declaration",
        "Declare board_metrics (cost_per_resolved_case, cycle_time, "
        "error_rate_vs_human_baseline) with their sources.",
        check_board_metrics,
        min_stage="optimization",
    ),
    Check(
        "DQ-001",
        "data_quality",
        "Adversarial suites pass",
        "critical",
        "runtime",
        "Declare adversarial suites and min_pass_rate, and run them on the current prompt version.",
        check_adversarial,
    ),
    Check(
        "DQ-002",
        "data_quality",
        "Drift detection declared",
        "standard",
        "declaration",
        "Declare data_quality.drift with a metric, threshold and action.",
        check_drift,
    ),
    Check(
        "DQ-003",
        "data_quality",
        "Input validation declared",
        "standard",
        "declaration",
        "Validate inputs before the agent acts and set data_quality.input_validation: true.",
        check_input_validation,
    ),
)
