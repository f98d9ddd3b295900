"""The scorecard as GitHub-flavoured Markdown: the sticky PR comment and the job summary.

Every string the project wrote goes through :func:`md_text` or :func:`md_code`, so a hostile
agent name cannot break a table, ping someone, link an issue or hide text in a comment. Long
reports are cut between whole items (a table row, a list item, an agent's block), never inside
one, so the comment stays under GitHub's 65,536-character limit and still renders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

# diff.py reads scorecards through this package's views: import the module, not its names, so
# either side can be imported first.
from .. import diff as scorecard_diff
from ..model import DIMENSIONS
from ._text import (
    DIMENSION_LABELS,
    AgentView,
    CheckView,
    ScorecardView,
    below_gate,
    blockers_first,
    clip,
    failed_checks,
    md_code,
    md_table,
    md_text,
    score_text,
    view,
)

if TYPE_CHECKING:
    from ..diff import CheckDelta, ScorecardDiff, ScoreDelta

# Caps on single untrusted strings, so one absurd value cannot crowd out the rest of the report.
_NAME_LIMIT = 120
_CELL_LIMIT = 300
_PROSE_LIMIT = 1_000
_EVIDENCE_SHOWN = 3
_MIN_CHARS = 2_000
# Room kept for the truncation note (plus the link, whose length is added on top).
_NOTE_RESERVE = 600
_MARKER = re.compile(r"[A-Za-z0-9 _.:/=+@#-]{1,200}")

_WAIVER_STATUS = {
    "applied": "✅ applied",
    "expiring": "⏳ expiring",
    "expired": "❌ expired",
    "stale": "💤 stale",
    "invalid": "❌ invalid",
    "not_applicable": "➖ not applicable",
}


@dataclass(frozen=True)
class _Section:
    """A piece of the report that truncation may shorten (dropping trailing items) or drop.

    ``opening`` and ``closing`` are kept or dropped together, so a table keeps its header and a
    ``<details>`` block is always closed.
    """

    name: str
    opening: str
    items: tuple[str, ...] = ()
    closing: str = "\n"

    @property
    def text(self) -> str:
        return self.opening + "".join(self.items) + self.closing


def render_markdown(
    scorecard: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    marker: str | None = None,
    max_chars: int = 65_000,
    full_report_url: str | None = None,
) -> str:
    """Render ``scorecard`` as Markdown: verdict, scores against the gate, failed checks, waivers,
    the change against ``base`` (when given) and every check in a collapsed section.

    ``marker`` becomes a hidden ``<!-- marker -->`` first line (for finding a sticky comment).
    When the report would exceed ``max_chars`` it is cut at an item boundary and ends with a note
    pointing at ``full_report_url``.
    """
    if max_chars < _MIN_CHARS:
        raise ValueError(f"max_chars must be at least {_MIN_CHARS}, got {max_chars}")
    if marker is not None and not _MARKER.fullmatch(marker):
        raise ValueError(
            f"marker {marker!r} must be 1-200 letters, digits, spaces or _.:/=+@#- characters"
        )
    card = view(scorecard)
    base_card = view(base) if base is not None else None
    sections = [
        _verdict(card, base_card, marker),
        _scores(card),
        _gate(card),
        _failures(card),
        _waivers(card),
        _warnings(card),
    ]
    if base_card is not None:
        changes = scorecard_diff.diff_views(base_card, card)
        sections += [_score_changes(changes), _check_changes(changes)]
    sections += [_all_checks(card), _footer(card)]
    return _fit(
        [section for section in sections if section.text.strip()], max_chars, full_report_url
    )


def render_markdown_diff(base: Mapping[str, Any], head: Mapping[str, Any]) -> str:
    """Only the change from ``base`` to ``head``: score deltas and the checks that changed."""
    changes = scorecard_diff.diff_scorecards(base, head)
    return "".join(section.text for section in (_score_changes(changes), _check_changes(changes)))


# --- sections
def _verdict(card: ScorecardView, base: ScorecardView | None, marker: str | None) -> _Section:
    lines = [f"<!-- {marker} -->"] if marker is not None else []
    verdict = "✅ Ready" if card.ready else "❌ Not ready"
    project = f" · {md_text(card.project, limit=_NAME_LIMIT)}" if card.project else ""
    lines += [f"## {verdict}{project}", ""]
    was = ""
    if base is not None and base.total != card.total:
        was = f" (was {score_text(base.total)})"
    gate = (
        f"the gate needs at least **{score_text(card.min_total)}** in total "
        f"and **{score_text(card.min_dimension)}** in every dimension"
    )
    lines += [f"**Total {score_text(card.total)} / {card.max_total}**{was}; {gate}.", ""]
    if not card.incomplete:
        return _Section("verdict", "\n".join(lines) + "\n", closing="")
    lines += [
        "**⚠️ Incomplete run:** not everything could be judged, so the verdict is not ready.",
        "",
    ]
    items = tuple(
        f"- {md_text(reason, limit=_PROSE_LIMIT)}\n" for reason in card.incomplete_reasons
    )
    return _Section("verdict", "\n".join(lines) + "\n", items)


def _score_cell(score: int | None, minimum: int | None, *, gated: bool) -> str:
    if gated and below_gate(score, minimum):
        return f"❌ {score_text(score)}"
    return score_text(score)


def _scores(card: ScorecardView) -> _Section:
    header = ["Scope", "Stage", *(DIMENSION_LABELS[d] for d in DIMENSIONS), "Total"]
    project = [
        "**Project**",
        f"gate ≥ {score_text(card.min_dimension)}",
        *(_score_cell(card.dimensions[d], card.min_dimension, gated=True) for d in DIMENSIONS),
        f"**{score_text(card.total)}** / {card.max_total}",
    ]
    rows = [project] + [
        [
            md_text(agent.name, limit=_NAME_LIMIT),
            _stage(agent),
            *(
                _score_cell(agent.dimensions[d], card.min_dimension, gated=agent.gated)
                for d in DIMENSIONS
            ),
            score_text(agent.total),
        ]
        for agent in card.agents
    ]
    table = md_table(header, rows).splitlines(keepends=True)
    return _Section("scores", "### Scores\n\n" + "".join(table[:3]), tuple(table[3:]))


def _stage(agent: AgentView) -> str:
    stage = md_text(agent.stage) if agent.stage else "–"
    return stage if agent.gated else f"{stage} (not gated)"


def _gate(card: ScorecardView) -> _Section:
    messages = card.gate_messages()
    if not messages:
        return _Section("gate", "")
    items = tuple(f"- {md_text(message, limit=_PROSE_LIMIT)}\n" for message in messages)
    return _Section("gate failures", "### Gate failures\n\n", items)


def _failures(card: ScorecardView) -> _Section:
    failed = failed_checks(card.agents)
    if not failed:
        return _Section("failed checks", "")
    items = tuple(_failure_item(card, agent, check) for agent, check in failed)
    return _Section("failed checks", f"### Failed checks ({len(failed)})\n\n", items)


def _failure_item(card: ScorecardView, agent: AgentView, check: CheckView) -> str:
    if not agent.gated:
        badge = "🧪 pilot, not blocking"
    else:
        badge = "🛑 critical" if check.critical else "⚠️ standard"
        if card.ready:  # a ready verdict means no failing check blocks the gate
            badge += ", not blocking"
    parts = [
        f"- {badge} · **{md_text(check.id)}** {md_text(check.title, limit=_CELL_LIMIT)}",
        f" · agent {md_code(agent.name, limit=_NAME_LIMIT)}",
        f": {md_text(check.reason, limit=_PROSE_LIMIT)}" if check.reason else "",
        f" **Fix:** {md_text(check.remediation, limit=_PROSE_LIMIT)}" if check.remediation else "",
    ]
    if check.line is not None:
        parts.append(f" ({md_text(check.file)} line {check.line})")
    return "".join(parts) + "\n"


def _waivers(card: ScorecardView) -> _Section:
    if not card.waivers:
        return _Section("waivers", "")
    header = ["Check", "Agent", "Status", "Expires", "Approved by", "Reason"]
    rows = [
        [
            md_text(waiver.check),
            md_text(waiver.agent, limit=_NAME_LIMIT),
            _WAIVER_STATUS.get(waiver.status, md_text(waiver.status)),
            md_text(waiver.expires) or "–",
            md_text(waiver.approved_by, limit=_NAME_LIMIT) or "–",
            md_text(" ".join(filter(None, (waiver.reason, waiver.note))), limit=_CELL_LIMIT),
        ]
        for waiver in card.waivers
    ]
    table = md_table(header, rows).splitlines(keepends=True)
    return _Section("waivers", "### Waivers\n\n" + "".join(table[:2]), tuple(table[2:]))


def _warnings(card: ScorecardView) -> _Section:
    if not card.warnings:
        return _Section("warnings", "")
    items = tuple(f"- {md_text(warning, limit=_PROSE_LIMIT)}\n" for warning in card.warnings)
    return _Section("warnings", "### Warnings\n\n", items)


def _delta(change: ScoreDelta) -> str:
    before, after = change.before, change.after
    if before == after:
        return score_text(after)
    if before is None or after is None:
        return f"{score_text(before)} → {score_text(after)}"
    return f"{before} → {after} (**{after - before:+d}**)"


def _score_changes(diff: ScorecardDiff) -> _Section:
    header = ["Scope", *(DIMENSION_LABELS[d] for d in DIMENSIONS), "Total"]
    project = diff.project
    rows = [["**Project**", *(_delta(project.dimensions[d]) for d in DIMENSIONS)]]
    rows[0].append(_delta(project.total))
    for scope in diff.agents:
        name = md_text(scope.agent or "", limit=_NAME_LIMIT)
        if scope.status in ("added", "removed"):
            label = " (new)" if scope.status == "added" else " (removed)"
            rows.append([name + label] + ["–"] * 5)
        elif scope.status == "changed":
            rows.append([name, *(_delta(scope.dimensions[d]) for d in DIMENSIONS)])
            rows[-1].append(_delta(scope.total))
    verdicts = f"Verdict: {_verdict_word(diff.base_ready)} → {_verdict_word(diff.head_ready)}."
    table = md_table(header, rows).splitlines(keepends=True)
    opening = f"### Change against base\n\n{verdicts}\n\n" + "".join(table[:3])
    return _Section("change against base", opening, tuple(table[3:]))


def _verdict_word(ready: bool) -> str:
    return "ready" if ready else "not ready"


def _check_changes(diff: ScorecardDiff) -> _Section:
    items = tuple(_check_change_item(check) for check in diff.checks)
    if not items:
        return _Section("changed checks", "No check changed its level or outcome.\n")
    return _Section("changed checks", f"#### Checks that changed ({len(items)})\n\n", items)


def _check_change_item(check: CheckDelta) -> str:
    def both(before: str, after: str) -> str:
        return f"{before} → {after}"

    if check.status == "added":
        level, passed, note = check.level_after or "", _passed(check.passed_after), " (new)"
    elif check.status == "removed":
        level, passed, note = check.level_before or "", _passed(check.passed_before), " (removed)"
    else:
        level = both(check.level_before or "", check.level_after or "")
        passed = both(_passed(check.passed_before), _passed(check.passed_after))
        note = ""
    return (
        f"- {md_code(check.agent, limit=_NAME_LIMIT)} · **{md_text(check.id)}** "
        f"{md_text(check.title, limit=_CELL_LIMIT)}{note}: level {level}; passed {passed}\n"
    )


def _passed(passed: bool | None) -> str:
    return "✅" if passed else "❌"


def _all_checks(card: ScorecardView) -> _Section:
    count = sum(len(agent.checks) for agent in card.agents)
    if not count:
        return _Section("all checks", "")
    opening = f"<details>\n<summary>All checks ({count})</summary>\n\n"
    items = tuple(_agent_checks(agent) for agent in card.agents)
    return _Section("all checks", opening, items, closing="</details>\n\n")


def _agent_checks(agent: AgentView) -> str:
    owner = f" · owner {md_text(agent.owner, limit=_NAME_LIMIT)}" if agent.owner else ""
    heading = f"#### {md_code(agent.name, limit=_NAME_LIMIT)} · {_stage(agent)}{owner}\n\n"
    header = ["Check", "Title", "Dimension", "Level", "Passed", "Reason", "Evidence"]
    rows = [
        [
            md_text(check.id),
            md_text(check.title, limit=_CELL_LIMIT),
            DIMENSION_LABELS.get(check.dimension) or md_text(check.dimension),
            f"{check.level} (full: {check.full_level})",
            _passed(check.passed) + (" waived" if check.waived else ""),
            md_text(check.reason, limit=_CELL_LIMIT),
            _evidence(check.evidence, check.failed_evidence),
        ]
        for _, check in blockers_first([agent])
    ]
    return heading + md_table(header, rows) + "\n"


def _evidence(passed: Sequence[str], failed: Sequence[str]) -> str:
    cells = [f"✅ {md_text(node, limit=_CELL_LIMIT)}" for node in passed[:_EVIDENCE_SHOWN]]
    cells += [f"❌ {md_text(node, limit=_CELL_LIMIT)}" for node in failed[:_EVIDENCE_SHOWN]]
    hidden = max(len(passed) - _EVIDENCE_SHOWN, 0) + max(len(failed) - _EVIDENCE_SHOWN, 0)
    if hidden:
        cells.append(f"and {hidden} more")
    return "<br>".join(cells) or "–"


def _footer(card: ScorecardView) -> _Section:
    as_of = f" · as of {md_text(card.as_of)}" if card.as_of else ""
    return _Section(
        "footer",
        f"<sub>{md_text(card.tool_name)} {md_text(card.tool_version)} · "
        f"manifest {md_text(card.manifest_file, limit=_CELL_LIMIT)}{as_of}</sub>\n",
        closing="",
    )


# --- truncation
def _fit(sections: Sequence[_Section], max_chars: int, full_report_url: str | None) -> str:
    whole = "".join(section.text for section in sections)
    if len(whole) <= max_chars:
        return whole
    link = _link(full_report_url)
    budget = max_chars - _NOTE_RESERVE - len(link)
    parts: list[str] = []
    used = 0
    for index, section in enumerate(sections):
        frame = len(section.opening) + len(section.closing)
        kept: list[str] = []
        for item in section.items:
            if used + frame + len(item) > budget:
                break
            kept.append(item)
            used += len(item)
        if used + frame > budget or len(kept) < len(section.items):
            if kept:  # a shortened section still has its heading, table header and closing tag
                parts += [section.opening, *kept, section.closing]
                return "".join(parts) + _note(section, len(kept), sections[index + 1 :], link)
            return "".join(parts) + _note(None, 0, sections[index:], link)
        parts += [section.opening, *kept, section.closing]
        used += frame
    raise AssertionError("unreachable: the report is longer than max_chars, so something is cut")


def _note(cut: _Section | None, shown: int, rest: Iterable[_Section], link: str) -> str:
    if cut is not None:
        what = f"only {shown} of {len(cut.items)} entries of “{cut.name}” are shown"
    else:
        what = "the rest is left out"
    left_out = [section.name for section in rest if section.name != "footer"]
    omitted = f" Left out: {', '.join(left_out)}." if left_out else ""
    where = f"See {link}." if link else "Render it whole with `agent-readiness report`."
    return f"\n---\n\n> ✂️ This report was cut to fit the comment limit: {what}.{omitted} {where}\n"


def _link(url: str | None) -> str:
    if not url:
        return ""
    # Percent-encode everything that could end the link destination or open Markdown/HTML.
    destination = quote(clip(url, 2_000), safe=":/?&=%~.,;+!*'@$-_#")
    return f"[the full report]({destination})"
