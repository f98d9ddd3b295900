"""The scorecard as plain text for a terminal or a CI log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SHORT = (
    ("governance", "GOV"),
    ("infrastructure", "INF"),
    ("observability", "OBS"),
    ("data_quality", "DQ"),
)


def _row(label: str, stage: str, dimensions: Mapping[str, int], total: int, width: int) -> str:
    scores = "".join(f"{dimensions.get(key, 0):>5}" for key, _ in _SHORT)
    return f"{label:<{width}} {stage:<14}{scores}{total:>7}"


def render_text(scorecard: Mapping[str, Any]) -> str:
    """A compact scorecard: scores per agent and project, the verdict, then why."""
    agents: Mapping[str, Any] = scorecard.get("agents", {})
    gate = scorecard["gate"]
    width = max([len("project"), *(len(name) for name in agents)])
    lines: list[str] = []
    manifest = scorecard.get("manifest", {}).get("path", "?")
    project = scorecard.get("project") or "(unnamed project)"
    lines.append(f"project {project}, manifest {manifest}, as of {scorecard.get('as_of', '?')}")
    header = "".join(f"{short:>5}" for _, short in _SHORT)
    lines.append(f"{'agent':<{width}} {'stage':<14}{header}{'total':>7}")
    for name, agent in agents.items():
        stage = agent.get("stage", "?") + ("" if agent.get("gated", True) else "*")
        lines.append(_row(name, stage, agent["dimensions"], agent.get("total", 0), width))
    lines.append(_row("project", "", scorecard["dimensions"], scorecard["total"], width))
    lines.append(
        f"gate: total >= {gate['min_total']}, every dimension >= {gate['min_dimension']}"
        + (
            "   (* pilot: scored, not gated)"
            if any(not a.get("gated", True) for a in agents.values())
            else ""
        )
    )
    ready = scorecard["verdict"] == "ready"
    lines.append(f"VERDICT: {'READY' if ready else 'NOT READY'} ({scorecard['total']}/20)")
    if scorecard.get("incomplete"):
        lines.append("the run is INCOMPLETE, so it cannot be ready:")
        lines.extend(f"  - {reason}" for reason in scorecard.get("incomplete_reasons", []))
    if gate["failures"]:
        lines.append("gate failures:")
        lines.extend(f"  - {failure}" for failure in gate["failures"])
    blockers = [
        (name, check)
        for name, agent in agents.items()
        for check in agent["checks"]
        if not check["passed"]
    ]
    blockers.sort(key=lambda item: (item[1]["severity"] != "critical", item[0], item[1]["id"]))
    if blockers:
        # A ready verdict means no failing check blocks: say so, as the exit status does.
        lines.append(
            "failing checks (not blocking: the verdict is READY):" if ready else "failing checks:"
        )
        for name, check in blockers:
            line = check.get("manifest_line")
            where = f"{manifest}:{line}" if line else manifest
            lines.append(f"  {name} {check['id']} [{check['severity']}] {where}: {check['reason']}")
            if check.get("remediation"):
                lines.append(f"      fix: {check['remediation']}")
    for name, agent in agents.items():
        promotion = agent.get("promotion") or {}
        if promotion.get("next_stage") and promotion.get("blockers"):
            ids = ", ".join(b["id"] for b in promotion["blockers"])
            lines.append(f"promotion of {name} to {promotion['next_stage']} blocked by: {ids}")
    for warning in scorecard.get("warnings", []):
        lines.append(f"warning: {warning}")
    return "\n".join(lines) + "\n"
