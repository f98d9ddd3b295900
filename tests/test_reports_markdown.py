"""The Markdown renderer, read back through cmark-gfm (the parser GitHub's renderer forks).

Escaping is checked by what GitHub would build from the text: a hostile scorecard must give the
very same HTML tag structure as a benign one, and its strings must come back as plain text.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from _scorecards import (
    HOSTILE_STRINGS,
    hostile_scorecard,
    parse_html,
    ready_scorecard,
    sample_scorecard,
    validate,
)
from pytest_agent_readiness.reports import RENDERERS, UnknownFormat, render
from pytest_agent_readiness.reports._text import clean, clip, md_code, md_text, one_line
from pytest_agent_readiness.reports.markdown import render_markdown

cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (GitHub's Markdown parser) is needed")

JOINER = "\u2060"
MARKER = "agent-readiness"


def to_html(markdown: str) -> str:
    """What GitHub's parser makes of ``markdown``, raw HTML let through so we can see it."""
    unsafe: int = cmarkgfm.Options.CMARK_OPT_UNSAFE
    rendered: str = cmarkgfm.github_flavored_markdown_to_html(markdown, options=unsafe)
    return rendered


def visible(text: str) -> str:
    """Text as a reader sees it: the invisible joiners we insert removed."""
    return text.replace(JOINER, "")


# --- the escaping primitives ---
@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_md_text_renders_as_one_plain_paragraph(text: str) -> None:
    parsed = parse_html(to_html(f"Agent {md_text(text)} here\n"))

    assert parsed.tags == ["<p >", "</p>"]
    assert parsed.comments == []
    assert visible("".join(data for _, data in parsed.texts)).strip() == one_line(
        f"Agent {clean(text)} here"
    )


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_md_text_neutralises_mentions_references_and_links(text: str) -> None:
    rendered = "".join(data for _, data in parse_html(to_html(md_text(text))).texts)

    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", rendered)  # GitHub's mention pattern
    assert not re.search(r"#\d|\bGH-\d", rendered, re.IGNORECASE)  # issue references
    assert "://" not in rendered
    assert not re.search(r"\bwww\.", rendered, re.IGNORECASE)


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_md_text_keeps_a_table_row_whole(text: str) -> None:
    table = f"| a | b |\n|---|---|\n| {md_text(text)} | x |\n"

    parsed = parse_html(to_html(table))

    assert parsed.tags.count("<td >") == 2
    assert parsed.tags.count("<tr >") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "`plain`"),
        ("a`b", "``a`b``"),
        ("a``b`c", "```a``b`c```"),
        ("`edge`", "`` `edge` ``"),
        ("  spaced  ", "`spaced`"),
        ("two\nlines", "`two lines`"),
        ("", ""),
        ("<!-- x -->", f"`<!-{JOINER}- x -{JOINER}->`"),
    ],
)
def test_md_code_fence_and_padding(text: str, expected: str) -> None:
    assert md_code(text) == expected


@pytest.mark.parametrize("text", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS.keys())
def test_md_code_round_trips_through_the_parser(text: str) -> None:
    parsed = parse_html(to_html(f"x {md_code(text)} y\n"))

    assert parsed.tags == ["<p >", "<code >", "</code>", "</p>"]
    code = "".join(data for tag, data in parsed.texts if tag == "code")
    assert visible(code) == one_line(clean(text))


# --- the report ---
def test_verdict_comes_first_with_marker_and_totals() -> None:
    lines = render_markdown(validate(sample_scorecard()), marker=MARKER).splitlines()

    assert lines[0] == f"<!-- {MARKER} -->"
    assert lines[1] == "## ❌ Not ready · support-automation"
    assert lines[3].startswith("**Total 11 / 20**")
    assert "at least **14** in total and **3** in every dimension" in lines[3]


def test_ready_scorecard_says_ready_and_lists_no_failures() -> None:
    report = render_markdown(validate(ready_scorecard()))

    assert report.startswith("## ✅ Ready · support-automation\n")
    assert "Gate failures" not in report
    assert "Failed checks" not in report


def test_incomplete_run_is_never_ready_and_says_why() -> None:
    card = ready_scorecard()
    card.update(incomplete=True, incomplete_reasons=["A worker crashed: gw1."])

    report = render_markdown(validate(card))

    assert report.startswith("## ❌ Not ready")
    assert "**⚠️ Incomplete run:**" in report
    assert "- A worker crashed: gw1.\n" in report


def test_scores_table_marks_dimensions_under_the_gate() -> None:
    html_report = to_html(render_markdown(validate(sample_scorecard())))
    rows = re.findall(r"<tr>(.*?)</tr>", html_report, re.DOTALL)
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in rows]

    assert cells[1][:6] == ["<strong>Project</strong>", "gate ≥ 3", "3", "❌ 2", "3", "3"]
    assert cells[2][:3] == ["refund-agent", "pilot (not gated)", "2"]  # pilots are not marked
    assert cells[3][:4] == ["triage-bot", "stabilization", "3", "❌ 2"]


def test_failed_checks_are_listed_blockers_first() -> None:
    report = render_markdown(validate(sample_scorecard()))
    section = report.split("### Failed checks (4)\n\n")[1].split("\n\n")[0].splitlines()

    assert [line.split(" · ")[0] for line in section] == [
        "- 🛑 critical",
        "- 🧪 pilot, not blocking",
        "- 🧪 pilot, not blocking",
        "- ⚠️ standard",
    ]
    assert "**INF-001** Kill switch halts the agent · agent `triage-bot`" in section[0]
    assert "**Fix:** Declare kill\\_switch" in section[0]
    assert section[0].endswith("(agent-readiness.yaml line 3)")


def test_all_checks_are_in_a_closed_details_block() -> None:
    report = render_markdown(validate(sample_scorecard()))
    parsed = parse_html(to_html(report))

    assert parsed.tags.count("<details >") == parsed.tags.count("</details>") == 1
    assert "<summary>All checks (10)</summary>" in report
    for check_id in ("GOV-001", "GOV-004", "INF-002", "OBS-001", "DQ-001", "DQ-002"):
        assert f"| {check_id} |" in report


def test_waivers_show_their_status() -> None:
    report = render_markdown(validate(sample_scorecard()))

    assert "| DQ-002 | triage-bot | ⏳ expiring | 2026-12-31 | Dana Reyes |" in report


def test_change_against_base_shows_deltas_and_changed_checks() -> None:
    report = render_markdown(validate(sample_scorecard()), base=validate(ready_scorecard()))

    assert "**Total 11 / 20** (was 20)" in report
    assert "Verdict: ready → not ready." in report
    assert "| **Project** | 5 → 3 (**-2**) | 5 → 2 (**-3**) |" in report
    assert "| refund-agent (new) |" in report
    assert "**INF-001** Kill switch halts the agent: level proven → missing; passed ✅ → ❌" in (
        report
    )
    assert "**DQ-001**" not in report.split("#### Checks that changed")[1].split("<details>")[0]


def test_no_change_against_an_identical_base() -> None:
    card = validate(sample_scorecard())

    report = render_markdown(card, base=card)

    assert "No check changed its level or outcome." in report


@pytest.mark.parametrize("name", HOSTILE_STRINGS.keys())
def test_hostile_strings_do_not_change_the_structure(name: str) -> None:
    def rendered(text: str) -> str:
        card = validate(hostile_scorecard(text))
        return to_html(render_markdown(card, marker=MARKER, max_chars=10**7))

    benign, hostile = rendered("benign"), rendered(HOSTILE_STRINGS[name])

    assert parse_html(hostile).tags == parse_html(benign).tags
    assert parse_html(hostile).comments == [f" {MARKER} "]


@pytest.mark.parametrize("name", HOSTILE_STRINGS.keys())
def test_hostile_strings_come_back_as_text(name: str) -> None:
    text = HOSTILE_STRINGS[name]
    report = render_markdown(validate(hostile_scorecard(text)), marker=MARKER)
    parsed = parse_html(to_html(report))

    heading = "".join(data for tag, data in parsed.texts if tag == "h2")
    assert visible(heading).split("\n")[0] == f"❌ Not ready · {clip(one_line(clean(text)), 120)}"
    prose = "".join(data for tag, data in parsed.texts if tag != "code")
    assert not re.search(r"(?<![\w`])@[A-Za-z0-9]", prose)
    assert not re.search(r"#\d", prose)
    assert report.count(f"<!-- {MARKER} -->") == 1


def test_marker_text_inside_a_name_cannot_fake_the_sticky_marker() -> None:
    card = hostile_scorecard(f"<!-- {MARKER} -->")

    report = render_markdown(validate(card), marker=MARKER)

    assert report.count(f"<!-- {MARKER} -->") == 1
    assert report.count("<!--") == 1


@pytest.mark.parametrize("marker", ["", "a -->", "two\nlines", "x<y", "x" * 201])
def test_unsafe_markers_are_refused(marker: str) -> None:
    with pytest.raises(ValueError, match="marker"):
        render_markdown(validate(sample_scorecard()), marker=marker)


def _huge_scorecard(agents: int, *, failing: bool = True) -> dict[str, Any]:
    card = sample_scorecard()
    template = card["agents"]["triage-bot"]
    for index in range(agents):
        agent = copy.deepcopy(template)
        for check in agent["checks"]:
            check["reason"] = f"Reason {index} " + "long words here " * 50
            check["passed"] = not failing
        card["agents"][f"agent-{index:03}"] = agent
    return card


def test_cut_inside_the_details_block_still_closes_it() -> None:
    card = validate(_huge_scorecard(agents=120, failing=False))

    report = render_markdown(card, max_chars=30_000)

    assert len(report) <= 30_000
    assert "entries of “all checks” are shown" in report
    assert report.count("<details>") == report.count("</details>") == 1
    assert report.index("</details>") < report.index("✂️")


@pytest.mark.parametrize("max_chars", [2_000, 5_000, 20_000, 65_000])
def test_long_reports_are_cut_cleanly_with_a_note(max_chars: int) -> None:
    card = validate(_huge_scorecard(agents=40))
    url = "https://github.example/acme/app/actions/runs/1?x=(a b)"

    report = render_markdown(card, marker=MARKER, max_chars=max_chars, full_report_url=url)

    assert len(report) <= max_chars
    assert report.startswith(f"<!-- {MARKER} -->\n## ❌ Not ready")
    assert "> ✂️ This report was cut to fit the comment limit" in report
    assert "[the full report](https://github.example/acme/app/actions/runs/1?x=%28a%20b%29)" in (
        report
    )
    parsed = parse_html(to_html(report))
    assert parsed.tags.count("<details >") == parsed.tags.count("</details>")
    for table in re.findall(r"<table>.*?</table>", to_html(report), re.DOTALL):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
        assert len({row.count("<td") + row.count("<th") for row in rows}) == 1


def test_cut_report_without_url_says_how_to_get_it_whole() -> None:
    report = render_markdown(validate(_huge_scorecard(agents=40)))

    assert len(report) <= 65_000
    assert report.rstrip().endswith("Render it whole with `agent-readiness report`.")


def test_report_that_fits_is_not_cut() -> None:
    report = render_markdown(validate(sample_scorecard()), max_chars=65_000)

    assert "✂️" not in report
    assert report.endswith("as of 2026-11-25</sub>\n")


def test_max_chars_below_the_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        render_markdown(validate(sample_scorecard()), max_chars=100)


def test_output_is_deterministic_whatever_the_key_order() -> None:
    card = validate(sample_scorecard())
    reordered = dict(reversed(list(card.items())))
    reordered["agents"] = dict(reversed(list(card["agents"].items())))

    assert render_markdown(card) == render_markdown(reordered)


def test_missing_optional_keys_are_tolerated() -> None:
    dimensions = {"governance": 3, "infrastructure": 3, "observability": 3, "data_quality": 3}
    check = {
        "id": "X-1",
        "dimension": "governance",
        "severity": "standard",
        "level": "declared",
        "passed": True,
        "reason": "",
        "file": "agent-readiness.yaml",
        "line": None,
    }
    card = {
        "schema_version": 2,
        "verdict": "ready",
        "total": 12,
        "dimensions": dimensions,
        "gate": {"min_total": 12, "min_dimension": 3, "failures": []},
        "agents": {"bot": {"dimensions": dict(dimensions), "checks": [check]}},
        "waivers": [],
        "incomplete": False,
    }

    report = render_markdown(validate(card))

    assert report.startswith("## ✅ Ready\n")
    assert "| X-1 |  | Governance | declared (full: proven) | ✅ |  | – |" in report


# --- the registry ---
@pytest.mark.parametrize("name", ["markdown", "junit", "sarif", "github", "html"])
def test_every_format_renders_through_the_registry(name: str) -> None:
    card = validate(sample_scorecard())

    assert render(name, card) == RENDERERS[name](card)
    assert render(name, card)


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(UnknownFormat) as raised:
        render("pdf", validate(sample_scorecard()))

    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == (
        "unknown report format 'pdf'; expected one of: badge, github, html, junit, markdown, sarif"
    )
    assert raised.value.format == "pdf"
