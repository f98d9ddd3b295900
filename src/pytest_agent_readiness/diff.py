"""What got better and worse between two scorecards: the one diff behind ``agent-readiness diff``
and the Markdown report's "change against base".

Pure functions over the scorecard JSON (read defensively through :func:`reports._text.view`, so a
scorecard from another version still diffs); the renderers decide how a change looks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .model import DIMENSIONS
from .reports._text import (
    LEVELS,
    AgentView,
    CheckView,
    ScorecardView,
    blockers_first,
    inert_lines,
    one_line,
    view,
)

ScopeStatus = Literal["added", "removed", "changed", "unchanged"]
CheckStatus = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class ScoreDelta:
    """One score before and after (None: unknown, or the scope did not exist)."""

    before: int | None
    after: int | None

    @property
    def delta(self) -> int | None:
        """``after - before``, or None when either side is unknown."""
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(frozen=True)
class ScopeDelta:
    """The dimension scores and total of the project (``agent is None``) or of one agent."""

    agent: str | None
    status: ScopeStatus
    dimensions: Mapping[str, ScoreDelta]
    total: ScoreDelta


@dataclass(frozen=True)
class CheckDelta:
    """A check of one agent whose level or outcome changed, or that appeared or went away."""

    agent: str
    id: str
    title: str
    critical: bool
    status: CheckStatus
    level_before: str | None
    level_after: str | None
    passed_before: bool | None
    passed_after: bool | None

    @property
    def regressed(self) -> bool:
        """True when the check now fails where it passed, or reached a lower level."""
        if self.status != "changed":
            return self.status == "added" and self.passed_after is False
        if self.passed_before and not self.passed_after:
            return True
        return self.passed_before == self.passed_after and _rank(self.level_after) < _rank(
            self.level_before
        )

    @property
    def improved(self) -> bool:
        """True when the check now passes where it failed, or reached a higher level."""
        if self.status != "changed":
            return False
        if not self.passed_before and self.passed_after:
            return True
        return self.passed_before == self.passed_after and _rank(self.level_after) > _rank(
            self.level_before
        )


@dataclass(frozen=True)
class ScorecardDiff:
    """Everything that differs between a base scorecard and a head scorecard."""

    base_ready: bool
    head_ready: bool
    project: ScopeDelta
    agents: tuple[ScopeDelta, ...]
    checks: tuple[CheckDelta, ...]

    @property
    def verdict_changed(self) -> bool:
        return self.base_ready != self.head_ready

    @property
    def regressions(self) -> tuple[CheckDelta, ...]:
        return tuple(check for check in self.checks if check.regressed)

    @property
    def improvements(self) -> tuple[CheckDelta, ...]:
        return tuple(check for check in self.checks if check.improved)


def _rank(level: str | None) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def _scope(
    name: str | None,
    before: AgentView | ScorecardView | None,
    after: AgentView | ScorecardView | None,
) -> ScopeDelta:
    dimensions: dict[str, ScoreDelta] = {
        dimension: ScoreDelta(
            before.dimensions[dimension] if before is not None else None,
            after.dimensions[dimension] if after is not None else None,
        )
        for dimension in DIMENSIONS
    }
    total = ScoreDelta(
        before.total if before is not None else None, after.total if after is not None else None
    )
    status: ScopeStatus
    if before is None:
        status = "added"
    elif after is None:
        status = "removed"
    elif total.changed or any(delta.changed for delta in dimensions.values()):
        status = "changed"
    else:
        status = "unchanged"
    return ScopeDelta(name, status, dimensions, total)


def _check_delta(agent: str, before: CheckView | None, after: CheckView | None) -> CheckDelta:
    either = after if after is not None else before
    assert either is not None
    status: CheckStatus = "added" if before is None else "removed" if after is None else "changed"
    return CheckDelta(
        agent=agent,
        id=either.id,
        title=either.title,
        critical=either.critical,
        status=status,
        level_before=before.level if before is not None else None,
        level_after=after.level if after is not None else None,
        passed_before=before.passed if before is not None else None,
        passed_after=after.passed if after is not None else None,
    )


def diff_views(base: ScorecardView, head: ScorecardView) -> ScorecardDiff:
    """The diff of two scorecards already read with :func:`~.reports._text.view`.

    Checks come blockers first in head's order (checks of new agents count as added), then the
    checks that went away from agents still present. Removed agents show only as a scope.
    """
    names = sorted({agent.name for agent in head.agents} | {agent.name for agent in base.agents})
    agents = tuple(_scope(name, base.agent(name), head.agent(name)) for name in names)
    checks: list[CheckDelta] = []
    for agent, check in blockers_first(head.agents):
        before_agent = base.agent(agent.name)
        before = None
        if before_agent is not None:
            before = next((c for c in before_agent.checks if c.id == check.id), None)
        if before is not None and (before.level, before.passed) == (check.level, check.passed):
            continue
        checks.append(_check_delta(agent.name, before, check))
    for agent in base.agents:
        now = head.agent(agent.name)
        if now is None:
            continue
        present = {check.id for check in now.checks}
        gone = sorted((c for c in agent.checks if c.id not in present), key=lambda c: c.id)
        checks.extend(_check_delta(agent.name, check, None) for check in gone)
    return ScorecardDiff(
        base_ready=base.ready,
        head_ready=head.ready,
        project=_scope(None, base, head),
        agents=agents,
        checks=tuple(checks),
    )


def diff_scorecards(base: Mapping[str, Any], head: Mapping[str, Any]) -> ScorecardDiff:
    """What changed from ``base`` to ``head`` (two scorecard JSON documents)."""
    return diff_views(view(base), view(head))


# --- plain renderings (Markdown lives in reports/markdown.py, beside the other sections)
def _verdict(ready: bool) -> str:
    return "ready" if ready else "not_ready"


def _scope_json(scope: ScopeDelta) -> dict[str, Any]:
    def pair(delta: ScoreDelta) -> dict[str, Any]:
        return {"before": delta.before, "after": delta.after, "delta": delta.delta}

    return {
        "status": scope.status,
        "dimensions": {name: pair(delta) for name, delta in scope.dimensions.items()},
        "total": pair(scope.total),
    }


def diff_as_json(diff: ScorecardDiff) -> dict[str, Any]:
    """The diff as a JSON-ready document (stable keys; deltas None where a side is unknown)."""
    return {
        "verdict": {
            "before": _verdict(diff.base_ready),
            "after": _verdict(diff.head_ready),
            "changed": diff.verdict_changed,
        },
        "project": _scope_json(diff.project),
        "agents": {scope.agent: _scope_json(scope) for scope in diff.agents if scope.agent},
        "checks": [
            {
                "agent": check.agent,
                "id": check.id,
                "title": check.title,
                "severity": "critical" if check.critical else "standard",
                "status": check.status,
                "level": {"before": check.level_before, "after": check.level_after},
                "passed": {"before": check.passed_before, "after": check.passed_after},
                "regressed": check.regressed,
                "improved": check.improved,
            }
            for check in diff.checks
        ],
    }


def _score(delta: ScoreDelta) -> str:
    before = "-" if delta.before is None else str(delta.before)
    after = "-" if delta.after is None else str(delta.after)
    if not delta.changed:
        return after
    change = f" ({delta.delta:+d})" if delta.delta is not None else ""
    return f"{before} -> {after}{change}"


def render_diff_text(diff: ScorecardDiff) -> str:
    """The diff as plain text for a terminal or a CI log."""
    verdict = f"verdict: {_verdict(diff.base_ready)} -> {_verdict(diff.head_ready)}"
    lines = [verdict + ("" if diff.verdict_changed else " (unchanged)")]
    scopes = [diff.project, *(scope for scope in diff.agents if scope.status != "unchanged")]
    width = max(len(one_line(scope.agent or "project")) for scope in scopes)
    lines.append(
        f"{'scope':<{width}}  " + "  ".join(f"{name:>14}" for name in (*DIMENSIONS, "total"))
    )
    for scope in scopes:
        label = one_line(scope.agent or "project")
        cells = [_score(scope.dimensions[name]) for name in DIMENSIONS] + [_score(scope.total)]
        note = f"  ({scope.status})" if scope.status in ("added", "removed") else ""
        lines.append(f"{label:<{width}}  " + "  ".join(f"{cell:>14}" for cell in cells) + note)
    if not diff.checks:
        lines.append("no check changed its level or outcome")
    for check in diff.checks:
        mark = "worse" if check.regressed else "better" if check.improved else check.status
        level = f"{check.level_before or '-'} -> {check.level_after or '-'}"
        passed = f"{_passed(check.passed_before)} -> {_passed(check.passed_after)}"
        lines.append(
            f"  [{mark}] {one_line(check.agent)} {one_line(check.id)} {one_line(check.title)}: "
            f"level {level}; passed {passed}"
        )
    # Agent names and titles come from the scorecards: no line may read as a workflow command.
    return inert_lines("\n".join(lines) + "\n")


def _passed(passed: bool | None) -> str:
    return "-" if passed is None else ("pass" if passed else "fail")
