"""The scorecard as plain text for a terminal or a CI log.

A CI log is read by the runner too: every project string is scrubbed of control and invisible
characters and kept on one line, and the finished text goes through :func:`inert_lines`, so
neither a raw escape sequence nor a workflow command (``::error::``, ``::add-mask::``) can reach
the terminal or the runner from a manifest, a test id or an imported scorecard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._text import (
    AgentView,
    ScorecardView,
    inert_lines,
    one_line,
    score_text,
    view,
)

_SHORT = (
    ("governance", "GOV"),
    ("infrastructure", "INF"),
    ("observability", "OBS"),
    ("data_quality", "DQ"),
)


def _row(label: str, stage: str, scores: AgentView | ScorecardView, width: int) -> str:
    cells = "".join(f"{score_text(scores.dimensions.get(key)):>5}" for key, _ in _SHORT)
    return f"{label:<{width}} {stage:<14}{cells}{score_text(scores.total):>7}"


def _where(file: str, line: int | None, document_path: str) -> str:
    place = f"{file}:{line}" if line else file
    return f"{place} ({document_path})" if document_path else place


def render_text(scorecard: Mapping[str, Any] | ScorecardView) -> str:
    """A compact scorecard: scores per agent and project, the verdict, then why."""
    card = view(scorecard)
    names = {agent.name: one_line(agent.name) for agent in card.agents}
    width = max([len("project"), *(len(name) for name in names.values())])
    lines: list[str] = []
    project = one_line(card.project or "") or "(unnamed project)"
    lines.append(
        f"project {project}, manifest {one_line(card.manifest_file)}, "
        f"as of {one_line(card.as_of or '?')}"
    )
    header = "".join(f"{short:>5}" for _, short in _SHORT)
    lines.append(f"{'agent':<{width}} {'stage':<14}{header}{'total':>7}")
    for agent in card.agents:
        stage = one_line(agent.stage or "?") + ("" if agent.gated else "*")
        lines.append(_row(names[agent.name], stage, agent, width))
    lines.append(_row("project", "", card, width))
    gate = (
        f"gate: total >= {score_text(card.min_total)}, "
        f"every dimension >= {score_text(card.min_dimension)}"
    )
    pilots = any(not agent.gated for agent in card.agents)
    lines.append(gate + ("   (* pilot: scored, not gated)" if pilots else ""))
    verdict = "READY" if card.ready else "NOT READY"
    lines.append(f"VERDICT: {verdict} ({score_text(card.total)}/{card.max_total})")
    if card.incomplete:
        lines.append("the run is INCOMPLETE, so it cannot be ready:")
        lines.extend(f"  - {one_line(reason)}" for reason in card.incomplete_reasons)
    failures = card.gate_messages()
    if failures:
        lines.append("gate failures:")
        lines.extend(f"  - {one_line(failure)}" for failure in failures)
    blockers = [(agent, check) for agent in card.agents for check in agent.checks]
    blockers = [(agent, check) for agent, check in blockers if not check.passed]
    blockers.sort(key=lambda pair: (not pair[1].critical, pair[0].name, pair[1].id))
    if blockers:
        # A ready verdict means no failing check blocks: say so, as the exit status does.
        lines.append(
            "failing checks (not blocking: the verdict is READY):"
            if card.ready
            else "failing checks:"
        )
        for agent, check in blockers:
            where = _where(check.file, check.line, check.document_path)
            lines.append(
                f"  {names[agent.name]} {one_line(check.id)} [{check.severity}] "
                f"{one_line(where)}: {one_line(check.reason)}"
            )
            if check.remediation:
                lines.append(f"      fix: {one_line(check.remediation)}")
    for agent in card.agents:
        if agent.next_stage and agent.promotion_blockers:
            ids = ", ".join(one_line(blocker) for blocker in agent.promotion_blockers)
            lines.append(
                f"promotion of {names[agent.name]} to {one_line(agent.next_stage)} "
                f"blocked by: {ids}"
            )
    lines.extend(f"warning: {one_line(warning)}" for warning in card.warnings)
    return inert_lines("\n".join(lines) + "\n")
