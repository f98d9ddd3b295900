"""The scorecard as one self-contained HTML page: verdict, a chart of the four dimensions, checks.

Nothing is fetched: the CSS and the chart are inline, there is no script, and a Content
Security Policy of ``default-src 'none'`` forbids the page from loading anything even if a
string slipped through. Every project string is HTML-escaped.

Legible from a phone (420 px) to a desktop (1200 px): the chart is HTML bars with their values
written on them, so its text stays text-sized at any width; tables wrap at word boundaries (and
identifiers at ``/``, ``::``, ``[``, ``_``) and turn into one card per row on a narrow screen, so
the page never scrolls sideways; a score under the gate is marked with ✗, not by colour alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..model import DIMENSIONS
from ._text import (
    DIMENSION_LABELS,
    MAX_SCORE,
    AgentView,
    CheckView,
    ScorecardView,
    below_gate,
    blockers_first,
    failed_checks,
    html_text,
    score_text,
    view,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'"
_NAME_LIMIT = 200

# Below this width every table turns into one card per row (see _STYLE).
_NARROW_PX = 760
# Where an escaped identifier (a node id, a path, a snake_case name) may wrap: after these.
_BREAK_AFTER = re.compile(r"(::|[/\[_.,=])")
UNDER_GATE_MARK = "✗"

_STYLE = (
    """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;
background:#fff;overflow-wrap:break-word}
main{max-width:1100px;margin:0 auto;padding:0 20px 40px}
.verdict{padding:18px 20px;color:#fff}
.verdict h1{margin:0;font-size:28px}
.verdict p{margin:4px 0 0}
.verdict.ready{background:#1a7f37}.verdict.not-ready{background:#cf222e}
h2{margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
li{margin:0 0 8px}
.table-wrap{overflow-x:auto;margin:8px 0 16px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.id{white-space:nowrap}
tr.failed td{background:#ffebe9}tr.partial td{background:#fff8c5}
.under{display:inline-block;padding:0 6px;border-radius:4px;background:#cf222e;color:#fff;
font-weight:700}
.fix{display:block;margin:6px 0 0;padding:2px 0 2px 8px;border-left:3px solid #0969da}
.fix b{color:#0969da}
.matrix{max-width:820px;margin:8px 0 0}
.scope{margin:0 0 14px}
.scope h3{margin:0 0 4px;font-size:15px}
.row{display:grid;grid-template-columns:7.5em minmax(0,1fr);gap:8px;align-items:center;
margin:3px 0}
.dim{font-size:13px;color:#59636e;text-align:right}
.plot{position:relative;height:22px;margin-right:4.5em;border-left:1px solid #8c959f}
.bar{position:absolute;left:0;top:2px;bottom:2px;border-radius:0 3px 3px 0}
.bar.below{outline:2px solid #cf222e;outline-offset:1px;background-image:
repeating-linear-gradient(135deg,rgba(255,255,255,.6) 0 3px,transparent 3px 7px)}
.value{position:absolute;top:0;line-height:22px;padding-left:9px;font-size:14px;
font-weight:700;white-space:nowrap}
.value.below-gate{color:#cf222e}
.gate{position:absolute;top:-4px;bottom:-4px;border-left:2px dashed #cf222e}
.axis .plot{border:0;height:20px}
.gate-label{position:absolute;bottom:0;transform:translateX(-50%);font-size:13px;
color:#cf222e;font-weight:600;white-space:nowrap}
.d-governance{background-color:#4e79a7}
.d-infrastructure{background-color:#f28e2b}
.d-observability{background-color:#59a14f}
.d-data_quality{background-color:#b07aa1}
.legend span{display:inline-block;margin-right:16px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.legend .gate-key{width:0;border-left:2px dashed #cf222e}
.muted{color:#59636e}
footer{margin-top:32px;font-size:13px;color:#59636e}
"""
    # Score widths and gate positions: classes, not inline styles (scores are whole numbers).
    + "".join(f".at{n}{{left:{20 * n}%}}.w{n}{{width:{20 * n}%}}" for n in range(MAX_SCORE + 1))
    + f"""
@media (max-width:{_NARROW_PX}px){{
main{{padding:0 12px 32px}}
.verdict{{padding:14px 12px}}
table,thead,tbody,tr,th,td{{display:block;width:auto}}
thead{{position:absolute;left:-9999px}}
tr{{border:1px solid #d0d7de;margin:0 0 10px}}
td{{border:0;border-top:1px solid #eaeef2}}
td:first-child{{border-top:0}}
td::before{{content:attr(data-label) ": ";font-weight:600;color:#59636e}}
.row{{grid-template-columns:6.5em minmax(0,1fr)}}
}}
"""
)


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
    """A table from escaped cells; each row comes with its CSS class (or '').

    Each cell carries its column's name (``data-label``): on a narrow screen a row becomes a
    card of labelled cells. The wrapper scrolls only if one unbreakable string is wider than
    the screen, so the page itself never does.
    """
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        f'<tr class="{css}">'
        + "".join(
            f'<td data-label="{label}">{cell}</td>'
            for label, cell in zip(header, cells, strict=True)
        )
        + "</tr>\n"
        for css, cells in rows
    )
    return (
        '<div class="table-wrap"><table>\n'
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table></div>"
    )


def _breakable(escaped: str) -> str:
    """Escaped identifier text that may wrap after ``/``, ``::``, ``[``, ``_`` and the like.

    ``<wbr>`` goes only after characters an HTML entity never holds, so none is split.
    """
    return _BREAK_AFTER.sub(r"\1<wbr>", escaped)


def _fix(check: CheckView) -> str:
    """The remediation, set apart from the reason on a line of its own."""
    if not check.remediation:
        return ""
    return f'<span class="fix"><b>Fix:</b> {html_text(check.remediation)}</span>'


def _score(score: int | None, minimum: int | None) -> str:
    """A score; under the gate it is marked with ✗ and a highlight (not by colour alone)."""
    text = score_text(score)
    if below_gate(score, minimum):
        return (
            f'<span class="under" title="under the gate\'s minimum of {score_text(minimum)}">'
            f"{text} {UNDER_GATE_MARK}</span>"
        )
    return text


def _score_cells(
    scores: Mapping[str, int | None], total: int | None, minimum: int | None
) -> list[str]:
    """Score cells for one scope; ``minimum`` is None when the scope is not gated."""
    return [*(_score(scores[dimension], minimum) for dimension in DIMENSIONS), score_text(total)]


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
    gate = _clamped(card.min_dimension)
    # A pilot's bars are never marked: say why next to its name.
    parts = []
    if gate is not None:
        # Above every bar, so it covers none of them.
        parts.append(
            f'<div class="row axis"><span></span><div class="plot">'
            f'<span class="gate-label at{gate}">gate {gate}</span></div></div>'
        )
    for kind, name, scores, gated in scopes:
        minimum = card.min_dimension if gated else None
        parts.append(_group(kind, name, scores, minimum, gate, note="" if gated else "not gated"))
    legend = "".join(f'<span><i class="d-{d}"></i>{DIMENSION_LABELS[d]}</span>' for d in DIMENSIONS)
    if gate is not None:
        legend += (
            f'<span><i class="gate-key"></i>gate: {gate} in every dimension</span>'
            f"<span>{UNDER_GATE_MARK} under the gate</span>"
        )
    return (
        '<section id="chart" class="chart">\n<h2>Readiness matrix</h2>\n'
        '<div class="matrix" role="group" aria-label="Scores per dimension, 1 to 5, with the '
        'gate threshold">\n' + "\n".join(parts) + f'\n</div>\n<p class="legend">{legend}</p>\n'
        "</section>"
    )


def _clamped(score: int | None) -> int | None:
    return None if score is None else max(0, min(score, MAX_SCORE))


def _group(
    kind: str,
    name: str,
    scores: Mapping[str, int | None],
    minimum: int | None,
    gate: int | None,
    *,
    note: str,
) -> str:
    escaped = html_text(name, limit=_NAME_LIMIT)
    aside = f' <span class="muted">{note}</span>' if note else ""
    gate_line = f'<span class="gate at{gate}"></span>' if gate is not None else ""
    rows = []
    for dimension in DIMENSIONS:
        score = scores[dimension]
        width = _clamped(score) or 0
        below = below_gate(score, minimum)
        label = DIMENSION_LABELS[dimension]
        value = score_text(score) + (f" {UNDER_GATE_MARK}" if below else "")
        rows.append(
            f'<div class="row"><span class="dim">{label}</span><div class="plot">'
            f'<span class="bar d-{dimension} w{width}{" below" if below else ""}" '
            f'data-dimension="{dimension}" data-score="{score_text(score)}" '
            f'title="{escaped}: {label} {score_text(score)}"></span>'
            f'<span class="value at{width}{" below-gate" if below else ""}">{value}</span>'
            f"{gate_line}</div></div>"
        )
    return (
        f'<div class="scope" data-scope="{kind}" data-name="{escaped}">\n'
        f"<h3>{_breakable(escaped)}{aside}</h3>\n" + "\n".join(rows) + "\n</div>"
    )


# --- checks
def _row_class(check: CheckView) -> str:
    if not check.passed:
        return "failed"
    return "" if check.at_full_level else "partial"


def _failed(card: ScorecardView) -> str:
    items = []
    for agent, check in failed_checks(card.agents):
        badge = "pilot, not blocking" if not agent.gated else check.severity
        items.append(
            f"<strong>{html_text(check.id)}</strong> {html_text(check.title)} "
            f'<span class="muted">[{badge}] agent '
            f"{_breakable(html_text(agent.name, limit=_NAME_LIMIT))}</span>: "
            f"{_breakable(html_text(check.reason))}{_fix(check)}"
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
                    f'<span class="id">{html_text(check.id)}</span>',
                    html_text(check.title),
                    DIMENSION_LABELS.get(check.dimension) or html_text(check.dimension),
                    check.severity,
                    f"{check.level} (full: {check.full_level})",
                    ("✓ yes" if check.passed else "✗ no") + (" (waived)" if check.waived else ""),
                    _breakable(html_text(check.reason)) + (_fix(check) if not check.passed else ""),
                    _evidence(check),
                ],
            )
            for _, check in blockers_first([agent])
        ]
        blocks.append(
            f"<h3>{html_text(agent.name, limit=_NAME_LIMIT)} "
            f'<span class="muted">{_stage(agent)}{owner}</span></h3>\n{_table(header, rows)}'
        )
    if not blocks:
        return ""
    return '<section id="checks">\n<h2>All checks</h2>\n' + "\n".join(blocks) + "\n</section>"


def _evidence(check: CheckView) -> str:
    passed = [f"✓ {_breakable(html_text(node))}" for node in check.evidence]
    failed = [f"✗ {_breakable(html_text(node))}" for node in check.failed_evidence]
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
