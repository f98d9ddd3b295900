"""The scorecard as one self-contained HTML page: verdict, a chart of the four dimensions, checks.

Nothing is fetched: the CSS and the SVG chart are inline, there is no script, and a Content
Security Policy of ``default-src 'none'`` forbids the page from loading anything even if a
string slipped through. Every project string is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pytest_agent_readiness.model import DIMENSIONS
from pytest_agent_readiness.reports._text import (
    DIMENSION_LABELS,
    MAX_SCORE,
    AgentView,
    CheckView,
    ScorecardView,
    below_gate,
    blockers_first,
    clip,
    failed_checks,
    html_text,
    score_text,
    view,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'"
_NAME_LIMIT = 200
_LABEL_LIMIT = 16

# Chart geometry, in SVG user units.
_BAR = 18
_BAR_GAP = 4
_GROUP_GAP = 30
_PLOT_TOP = 16
_PLOT_HEIGHT = 200
_AXIS = 36
_LABEL_SPACE = 44

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.verdict{padding:18px 20px;color:#fff}
.verdict h1{margin:0;font-size:28px}
.verdict p{margin:4px 0 0}
.verdict.ready{background:#1a7f37}.verdict.not-ready{background:#cf222e}
h2{margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:14px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere}
th{background:#f6f8fa;white-space:nowrap}
tr.failed td{background:#ffebe9}tr.partial td{background:#fff8c5}
td.below{color:#cf222e;font-weight:600}
.chart svg{max-width:100%;height:auto;font-size:11px}
.chart .axis{stroke:#8c959f;stroke-width:1}
.chart .grid{stroke:#eaeef2;stroke-width:1}
.chart .gate{stroke:#cf222e;stroke-width:2;stroke-dasharray:6 4}
.chart .gate-label{fill:#cf222e}
.chart text{fill:#1f2328}
.bar.below{stroke:#cf222e;stroke-width:2}
.d-governance{fill:#4e79a7;background:#4e79a7}
.d-infrastructure{fill:#f28e2b;background:#f28e2b}
.d-observability{fill:#59a14f;background:#59a14f}
.d-data_quality{fill:#b07aa1;background:#b07aa1}
.legend span{display:inline-block;margin-right:16px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.muted{color:#59636e}
footer{margin-top:32px;font-size:13px;color:#59636e}
"""


def render_html(scorecard: Mapping[str, Any]) -> str:
    """Render ``scorecard`` as a self-contained HTML report (no network, no script)."""
    card = view(scorecard)
    title = "Agent readiness" + (f": {html_text(card.project)}" if card.project else "")
    body = "\n".join(
        part
        for part in (
            _incomplete(card),
            _gate(card),
            _chart(card),
            _scores(card),
            _failed(card),
            _checks(card),
            _waivers(card),
            _warnings(card),
        )
        if part
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"{_verdict(card)}\n<main>\n{body}\n{_footer(card)}\n</main>\n</body>\n</html>\n"
    )


def _verdict(card: ScorecardView) -> str:
    state, word = ("ready", "✓ Ready") if card.ready else ("not-ready", "✗ Not ready")
    project = f"{html_text(card.project, limit=_NAME_LIMIT)} · " if card.project else ""
    return (
        f'<header class="verdict {state}" id="verdict">\n<h1>{word}</h1>\n'
        f"<p>{project}Total <strong>{score_text(card.total)}</strong> / {card.max_total} · "
        f"the gate needs at least {score_text(card.min_total)} in total and "
        f"{score_text(card.min_dimension)} in every dimension</p>\n</header>"
    )


def _list(section_id: str, heading: str, items: Iterable[str]) -> str:
    entries = "".join(f"<li>{item}</li>\n" for item in items)
    if not entries:
        return ""
    return f'<section id="{section_id}">\n<h2>{heading}</h2>\n<ul>\n{entries}</ul>\n</section>'


def _incomplete(card: ScorecardView) -> str:
    if not card.incomplete:
        return ""
    reasons = card.incomplete_reasons or ("The run could not judge every check.",)
    return _list("incomplete", "Incomplete run", (html_text(reason) for reason in reasons))


def _gate(card: ScorecardView) -> str:
    return _list("gate", "Gate failures", (html_text(m) for m in card.gate_messages()))


def _table(header: Sequence[str], rows: Iterable[tuple[str, Sequence[str]]]) -> str:
    """A table from escaped cells; each row comes with its CSS class (or '')."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        f'<tr class="{css}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>\n"
        for css, cells in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _score_cells(
    scores: Mapping[str, int | None], total: int | None, minimum: int | None
) -> list[str]:
    """Score cells for one scope; ``minimum`` is None when the scope is not gated."""
    cells = []
    for dimension in DIMENSIONS:
        score = score_text(scores[dimension])
        if below_gate(scores[dimension], minimum):
            score = f'<span class="below">{score}</span>'
        cells.append(score)
    return [*cells, score_text(total)]


def _scores(card: ScorecardView) -> str:
    header = ["Scope", "Stage", *(DIMENSION_LABELS[d] for d in DIMENSIONS), "Total"]
    gate = f"gate ≥ {score_text(card.min_dimension)}"
    project = ["<strong>Project</strong>", gate]
    rows = [("", project + _score_cells(card.dimensions, card.total, card.min_dimension))]
    for agent in card.agents:
        minimum = card.min_dimension if agent.gated else None
        scope = [html_text(agent.name, limit=_NAME_LIMIT), _stage(agent)]
        rows.append(("", scope + _score_cells(agent.dimensions, agent.total, minimum)))
    return f'<section id="scores">\n<h2>Scores</h2>\n{_table(header, rows)}\n</section>'


def _stage(agent: AgentView) -> str:
    stage = html_text(agent.stage) or "–"
    return stage if agent.gated else f"{stage} (not gated)"


# --- chart
def _chart(card: ScorecardView) -> str:
    scopes: list[tuple[str, str, Mapping[str, int | None], bool]] = [
        ("project", "Project", card.dimensions, True)
    ]
    scopes += [("agent", agent.name, agent.dimensions, agent.gated) for agent in card.agents]
    group_width = 4 * _BAR + 3 * _BAR_GAP + _GROUP_GAP
    width = _AXIS + len(scopes) * group_width + 10
    height = _PLOT_TOP + _PLOT_HEIGHT + _LABEL_SPACE
    parts = [
        f'<svg class="readiness-chart" role="img" aria-labelledby="chart-title" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<title id="chart-title">Scores per dimension, 1 to 5, with the gate threshold</title>',
        *_axis(width),
    ]
    for position, (kind, name, scores, gated) in enumerate(scopes):
        x = _AXIS + position * group_width + _GROUP_GAP // 2
        parts.append(_group(kind, name, scores, x, card.min_dimension if gated else None))
    if card.min_dimension is not None:
        y = _y(card.min_dimension)
        parts.append(f'<line class="gate" x1="{_AXIS}" y1="{y:g}" x2="{width - 4}" y2="{y:g}"/>')
        parts.append(
            f'<text class="gate-label" x="{width - 6}" y="{y - 4:g}" text-anchor="end">'
            f"gate {card.min_dimension}</text>"
        )
    parts.append("</svg>")
    legend = "".join(f'<span><i class="d-{d}"></i>{DIMENSION_LABELS[d]}</span>' for d in DIMENSIONS)
    return (
        '<section id="chart" class="chart">\n<h2>Readiness matrix</h2>\n'
        + "\n".join(parts)
        + f'\n<p class="legend">{legend}</p>\n</section>'
    )


def _y(score: float) -> float:
    """The SVG y coordinate of ``score`` (clamped to the plot)."""
    return _PLOT_TOP + _PLOT_HEIGHT * (1 - max(0, min(score, MAX_SCORE)) / MAX_SCORE)


def _axis(width: int) -> list[str]:
    lines = []
    for score in range(MAX_SCORE + 1):
        y = _y(score)
        css = "axis" if score == 0 else "grid"
        lines.append(f'<line class="{css}" x1="{_AXIS}" y1="{y:g}" x2="{width - 4}" y2="{y:g}"/>')
        lines.append(f'<text x="{_AXIS - 6}" y="{y + 4:g}" text-anchor="end">{score}</text>')
    return lines


def _group(
    kind: str, name: str, scores: Mapping[str, int | None], x: int, minimum: int | None
) -> str:
    escaped = html_text(name, limit=_NAME_LIMIT)
    parts = [
        f'<g class="scope" data-scope="{kind}" data-name="{escaped}">',
        f"<title>{escaped}</title>",
    ]
    for index, dimension in enumerate(DIMENSIONS):
        score = scores[dimension]
        top = _y(score or 0)
        below = " below" if below_gate(score, minimum) else ""
        parts.append(
            f'<rect class="bar d-{dimension}{below}" data-dimension="{dimension}" '
            f'data-score="{score_text(score)}" x="{x + index * (_BAR + _BAR_GAP)}" y="{top:g}" '
            f'width="{_BAR}" height="{_PLOT_TOP + _PLOT_HEIGHT - top:g}">'
            f"<title>{escaped}: {DIMENSION_LABELS[dimension]} {score_text(score)}</title></rect>"
        )
    middle = x + (4 * _BAR + 3 * _BAR_GAP) // 2
    label = html_text(clip(name, _LABEL_LIMIT))
    baseline = _PLOT_TOP + _PLOT_HEIGHT + 16
    parts.append(f'<text x="{middle}" y="{baseline}" text-anchor="middle">{label}</text>')
    parts.append("</g>")
    return "\n".join(parts)


# --- checks
def _row_class(check: CheckView) -> str:
    if not check.passed:
        return "failed"
    return "" if check.at_full_level else "partial"


def _failed(card: ScorecardView) -> str:
    items = []
    for agent, check in failed_checks(card.agents):
        badge = "pilot, not blocking" if not agent.gated else check.severity
        fix = f" <em>Fix:</em> {html_text(check.remediation)}" if check.remediation else ""
        items.append(
            f"<strong>{html_text(check.id)}</strong> {html_text(check.title)} "
            f'<span class="muted">[{badge}] agent {html_text(agent.name, limit=_NAME_LIMIT)}'
            f"</span>: {html_text(check.reason)}{fix}"
        )
    return _list("failed", f"Failed checks ({len(items)})", items)


def _checks(card: ScorecardView) -> str:
    header = ["Check", "Title", "Dimension", "Severity", "Level", "Passed", "Reason", "Evidence"]
    blocks = []
    for agent in card.agents:
        owner = f" · owner {html_text(agent.owner)}" if agent.owner else ""
        rows = [
            (
                _row_class(check),
                [
                    html_text(check.id),
                    html_text(check.title),
                    DIMENSION_LABELS.get(check.dimension) or html_text(check.dimension),
                    check.severity,
                    f"{check.level} (full: {check.full_level})",
                    ("✓ yes" if check.passed else "✗ no") + (" (waived)" if check.waived else ""),
                    html_text(check.reason)
                    + (f"<br><em>Fix:</em> {html_text(check.remediation)}" if not check.passed
                       and check.remediation else ""),
                    _evidence(check),
                ],
            )
            for _, check in blockers_first([agent])
        ]  # fmt: skip
        blocks.append(
            f"<h3>{html_text(agent.name, limit=_NAME_LIMIT)} "
            f'<span class="muted">{_stage(agent)}{owner}</span></h3>\n{_table(header, rows)}'
        )
    if not blocks:
        return ""
    return '<section id="checks">\n<h2>All checks</h2>\n' + "\n".join(blocks) + "\n</section>"


def _evidence(check: CheckView) -> str:
    passed = [f"✓ {html_text(node)}" for node in check.evidence]
    failed = [f"✗ {html_text(node)}" for node in check.failed_evidence]
    return "<br>".join(passed + failed) or "–"


def _waivers(card: ScorecardView) -> str:
    if not card.waivers:
        return ""
    header = ["Check", "Agent", "Status", "Expires", "Approved by", "Reason", "Note"]
    rows = [
        (
            "" if waiver.status in ("applied", "not_applicable") else "partial",
            [
                html_text(waiver.check),
                html_text(waiver.agent, limit=_NAME_LIMIT),
                html_text(waiver.status),
                html_text(waiver.expires) or "–",
                html_text(waiver.approved_by) or "–",
                html_text(waiver.reason),
                html_text(waiver.note),
            ],
        )
        for waiver in card.waivers
    ]
    return f'<section id="waivers">\n<h2>Waivers</h2>\n{_table(header, rows)}\n</section>'


def _warnings(card: ScorecardView) -> str:
    return _list("warnings", "Warnings", (html_text(warning) for warning in card.warnings))


def _footer(card: ScorecardView) -> str:
    as_of = f" · as of {html_text(card.as_of)}" if card.as_of else ""
    return (
        f"<footer>{html_text(card.tool_name)} {html_text(card.tool_version)} · manifest "
        f"{html_text(card.manifest_file)}{as_of}</footer>"
    )
