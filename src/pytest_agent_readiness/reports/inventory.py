"""The organisation's inventory rendered as text, Markdown, JSON, CSV or one HTML page.

Every string in an inventory came from some repository's manifest or a server: each renderer
carries it through the same scrubbing as the scorecard reports (``clean``, ``md_text``,
``html_text``), and CSV cells that a spreadsheet would run as a formula are quoted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence

from ..inventory import FINDING_KINDS, AgentEntry, Finding, Inventory, inventory_as_json
from ..model import DIMENSIONS
from ._text import (
    DIMENSION_LABELS,
    clean,
    html_text,
    inert_lines,
    md_table,
    md_text,
    one_line,
)
from .html import _STYLE as REPORT_STYLE
from .html import CSP, _breakable, _list, _table

_NAME_LIMIT = 200
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _score(value: object) -> str:
    return str(value) if isinstance(value, int | float) and value is not None else "–"


def _median(value: float | None) -> str:
    return "–" if value is None else f"{value:g}"


def _review(agent: AgentEntry) -> str:
    when = agent.permissions_reviewed or ("never" if agent.review_overdue else "unknown")
    return f"{when} (overdue)" if agent.review_overdue else when


def _stage(agent: AgentEntry) -> str:
    if agent.days_in_stage is None:
        return agent.stage
    return f"{agent.stage} ({agent.days_in_stage} d)"


def _waivers(agent: AgentEntry) -> str:
    return ", ".join(f"{w.check} until {w.expires}" for w in agent.waivers)


def _age(agent: AgentEntry) -> str:
    age = "–" if agent.scorecard_age_days is None else f"{agent.scorecard_age_days} d"
    return f"{age} @ {agent.commit[:12]}" if agent.commit else age


def _columns() -> list[tuple[str, Callable[[AgentEntry], str]]]:
    """The agent table's columns, shared by every tabular format."""
    return [
        ("Repository", lambda a: a.repository),
        ("Manifest", lambda a: a.manifest),
        ("Agent", lambda a: a.name),
        ("Owner", lambda a: a.owner or "(none)"),
        ("Stage", _stage),
        *((DIMENSION_LABELS[d], (lambda a, d=d: _score(a.dimensions.get(d)))) for d in DIMENSIONS),
        ("Total", lambda a: _score(a.total)),
        ("Verdict", lambda a: a.verdict),
        ("Proven controls", lambda a: ", ".join(a.proven_controls)),
        ("Permissions reviewed", _review),
        ("Waivers", _waivers),
        ("Prompts", lambda a: ", ".join(a.prompts)),
        ("Scorecard age", _age),
    ]


def _grouped(findings: Sequence[Finding]) -> list[tuple[str, list[Finding]]]:
    return [
        (title, [f for f in findings if f.kind == kind])
        for kind, title in FINDING_KINDS.items()
        if any(f.kind == kind for f in findings)
    ]


def _change_lines(inventory: Inventory) -> list[str]:
    changes = inventory.changes
    if changes is None:
        return []
    lines = [f"added: {key}" for key in changes.added]
    lines += [f"removed: {key}" for key in changes.removed]
    lines += [f"score up: {key} {old} → {new}" for key, old, new in changes.up]
    lines += [f"score down: {key} {old} → {new}" for key, old, new in changes.down]
    lines += [f"stage: {key} {old} → {new}" for key, old, new in changes.stage_moves]
    return lines or ["no change"]


def _board_lines(inventory: Inventory) -> list[str]:
    board = inventory.board
    stages = ", ".join(f"{stage} {count}" for stage, count in board.per_stage.items())
    verdicts = ", ".join(f"{verdict} {count}" for verdict, count in board.per_verdict.items())
    medians = ", ".join(
        f"{DIMENSION_LABELS.get(d, 'Total')} {_median(board.median[d])}" for d in board.median
    )
    return [f"per stage: {stages}", f"per verdict: {verdicts}", f"median: {medians}"]


# --------------------------------------------------------------------------- text


def render_inventory_text(inventory: Inventory) -> str:
    """A plain-text inventory for a terminal or a CI log (no workflow command gets through)."""
    out = [
        f"agent inventory as of {inventory.as_of}: {len(inventory.agents)} agents, "
        f"{len(inventory.findings)} findings"
    ]
    out += [f"  {line}" for line in _board_lines(inventory)]
    out.append("")
    for agent in inventory.agents:
        cells = [f"{title}: {cell(agent)}" for title, cell in _columns()[3:] if cell(agent)]
        out.append(f"{agent.key}")
        out.append("  " + "; ".join(cells))
    for title, findings in _grouped(inventory.findings):
        out.append("")
        out.append(f"{title} ({len(findings)}):")
        out += [f"  - {finding.message}" for finding in findings]
    if inventory.changes is not None:
        out.append("")
        out.append("since the base inventory:")
        out += [f"  {line}" for line in _change_lines(inventory)]
    if inventory.notes:
        out.append("")
        out += [f"note: {note}" for note in inventory.notes]
    return inert_lines("\n".join(one_line(clean(line)) if line else "" for line in out) + "\n")


# --------------------------------------------------------------------------- markdown


def render_inventory_markdown(inventory: Inventory) -> str:
    """The inventory as GitHub-flavoured Markdown (a job summary or an issue)."""
    columns = _columns()
    parts = [
        f"## Agent inventory · {md_text(inventory.as_of)}",
        f"{len(inventory.agents)} agents · {len(inventory.findings)} findings",
        "### Board",
        "\n".join(f"- {md_text(line)}" for line in _board_lines(inventory)),
        "### Agents",
        md_table(
            [title for title, _ in columns],
            (
                [md_text(cell(agent), limit=_NAME_LIMIT) for _, cell in columns]
                for agent in inventory.agents
            ),
        ),
    ]
    for title, findings in _grouped(inventory.findings):
        parts.append(f"### {title} ({len(findings)})")
        parts.append("\n".join(f"- {md_text(f.message, limit=1_000)}" for f in findings))
    if inventory.changes is not None:
        parts.append("### Since the base inventory")
        parts.append("\n".join(f"- {md_text(line)}" for line in _change_lines(inventory)))
    if inventory.notes:
        parts.append("### Notes")
        parts.append("\n".join(f"- {md_text(note)}" for note in inventory.notes))
    return "\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- csv and json


def _csv_cell(text: str) -> str:
    cell = one_line(clean(text))
    return f"'{cell}" if cell.startswith(_FORMULA_START) else cell


def render_inventory_csv(inventory: Inventory) -> str:
    """One row per agent, with the kinds of finding raised for it (for a spreadsheet)."""
    columns = _columns()
    kinds: dict[str, list[str]] = {}
    for finding in inventory.findings:
        for key in finding.agents:
            kinds.setdefault(key, []).append(finding.kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([title for title, _ in columns] + ["Findings"])
    for agent in inventory.agents:
        row = [cell(agent) for _, cell in columns] + [" ".join(kinds.get(agent.key, []))]
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue()


def render_inventory_json(inventory: Inventory) -> str:
    """The inventory's JSON (sorted keys; what ``--base`` reads back)."""
    return (
        json.dumps(inventory_as_json(inventory), sort_keys=True, indent=2, ensure_ascii=False)
        + "\n"
    )


# --------------------------------------------------------------------------- html


def _h(text: str) -> str:
    return html_text(text, limit=_NAME_LIMIT)


def render_inventory_html(inventory: Inventory) -> str:
    """One self-contained page (the scorecard report's styles and CSP; no script, no fetch)."""
    flagged = {key for finding in inventory.findings for key in finding.agents}
    # Fewer, fuller cells than the text formats' columns: seventeen columns would make a
    # desktop table scroll sideways.
    header = ["Agent", "Owner", "Stage", "Scores", "Total", "Proven", "Review", "Waivers",
              "Prompts", "Scorecard"]  # fmt: skip
    rows = [
        (
            "failed" if agent.key in flagged else "",
            [
                f"<strong>{_breakable(_h(agent.name))}</strong><br>"
                f'<span class="muted">{_breakable(_h(agent.repository))} · '
                f"{_breakable(_h(agent.manifest))}</span>",
                *(
                    _breakable(_h(text))
                    for text in (
                        agent.owner or "(none)",
                        _stage(agent),
                        " · ".join(
                            f"{DIMENSION_LABELS[d][0]} {_score(agent.dimensions.get(d))}"
                            for d in DIMENSIONS
                        ),
                        f"{_score(agent.total)} {agent.verdict}",
                        ", ".join(agent.proven_controls),
                        _review(agent),
                        _waivers(agent),
                        ", ".join(agent.prompts),
                        _age(agent),
                    )
                ),
            ],
        )
        for agent in inventory.agents
    ]
    board = inventory.board
    board_rows = [("", [_h(stage), str(count)]) for stage, count in board.per_stage.items()] + [
        ("", [_h(verdict), str(count)]) for verdict, count in board.per_verdict.items()
    ]
    medians = [
        ("", [_h(DIMENSION_LABELS.get(d, "Total")), _median(board.median[d])]) for d in board.median
    ]
    sections = [
        '<section id="board">\n<h2>Board</h2>\n'
        + _table(["Stage or verdict", "Agents"], board_rows)
        + _table(["Dimension", "Median score"], medians)
        + "\n</section>",
        '<section id="agents">\n<h2>Agents</h2>\n' + _table(header, rows) + "\n</section>",
    ]
    for kind, title in FINDING_KINDS.items():
        items = [_breakable(_h(f.message)) for f in inventory.findings if f.kind == kind]
        sections.append(
            _list(f"finding-{kind.replace('_', '-')}", f"{title} ({len(items)})", items)
        )
    if inventory.changes is not None:
        sections.append(
            _list("changes", "Since the base inventory", map(_h, _change_lines(inventory)))
        )
    sections.append(_list("notes", "Notes", map(_h, inventory.notes)))
    attention = bool(inventory.findings)
    state, word = (
        ("not-ready", "✗ Needs attention") if attention else ("ready", "✓ Nothing to act on")
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Agent inventory · {_h(inventory.as_of)}</title>\n<style>{REPORT_STYLE}</style>\n"
        "</head>\n<body>\n"
        f'<header class="verdict {state}" id="verdict">\n<h1>{word}</h1>\n'
        f"<p>{len(inventory.agents)} agents · {len(inventory.findings)} findings · as of "
        f"{_h(inventory.as_of)}</p>\n</header>\n<main>\n"
        + "\n".join(s for s in sections if s)
        + "\n</main>\n</body>\n</html>\n"
    )


INVENTORY_RENDERERS: Mapping[str, Callable[[Inventory], str]] = {
    "text": render_inventory_text,
    "markdown": render_inventory_markdown,
    "json": render_inventory_json,
    "csv": render_inventory_csv,
    "html": render_inventory_html,
}
