"""The to-do list that ends a run which is not ready: per agent, what to fix, in order.

A first run after ``agent-readiness init`` fails on every placeholder the human has not yet
filled in. The failures say what is wrong one by one; this list says what to do next, agent by
agent, in the order that lifts the verdict soonest: what blocks the gate (critical checks)
before the rest, each in manifest order, each at its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._text import ScorecardView, clip, one_line, view

# A to-do line stays one terminal line's worth; the failure above it has the whole reason.
_REASON_CHARS = 150


def render_todo(scorecard: Mapping[str, Any] | ScorecardView) -> str:
    """The failing checks of each agent as a numbered to-do list ('' when there are none)."""
    card = view(scorecard)
    sections: list[str] = []
    for agent in sorted(card.agents, key=lambda agent: (not agent.gated, agent.name)):
        failing = sorted(
            (check for check in agent.checks if not check.passed),
            key=lambda check: (not check.critical, check.line or 0, check.id),
        )
        if not failing:
            continue
        sections.append(f"  {agent.name}:" + ("" if agent.gated else " (pilot: not gated)"))
        for number, check in enumerate(failing, 1):
            where = check.file + (f":{check.line}" if check.line else "")
            reason = clip(one_line(check.reason), _REASON_CHARS)
            sections.append(f"    {number}. {where} {check.label}: {reason}")
    if not sections:
        return ""
    heading = (
        "to do, in order (blockers first), then run pytest --readiness again:"
        if not card.ready
        else "to do, in order (these fail without blocking the gate):"
    )
    return "\n".join([heading, *sections]) + "\n"
