"""The self-contained HTML report: parsed for structure and escaping, then shown in Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
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
from pytest_agent_readiness.reports._text import clean, clip
from pytest_agent_readiness.reports.html import CSP, render_html

# Tags and attributes through which a page could load or run something.
LOADING_TAGS = {"script", "link", "img", "iframe", "object", "embed", "audio", "video", "base"}
LOADING_ATTRIBUTES = {"href", "src", "srcset", "action", "xlink:href", "formaction", "background"}
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)


def test_page_is_self_contained_with_a_strict_csp() -> None:
    page = render_html(validate(sample_scorecard()))
    parsed = parse_html(page)

    assert page.startswith("<!DOCTYPE html>\n")
    assert ("meta", "content", CSP) in parsed.attributes
    assert CSP == "default-src 'none'; style-src 'unsafe-inline'"
    assert not {tag for tag, _, _ in parsed.attributes} & LOADING_TAGS
    assert not {name for _, name, _ in parsed.attributes} & LOADING_ATTRIBUTES
    assert not [name for _, name, _ in parsed.attributes if name.startswith("on")]
    assert "http://" not in page
    assert "https://" not in page
    assert "url(" not in page
    assert "@import" not in page


def test_verdict_banner() -> None:
    not_ready = parse_html(render_html(validate(sample_scorecard())))
    ready = parse_html(render_html(validate(ready_scorecard())))

    assert ("h1", "✗ Not ready") in not_ready.texts
    assert ("header", "class", "verdict not-ready") in not_ready.attributes
    assert ("h1", "✓ Ready") in ready.texts
    assert ("header", "class", "verdict ready") in ready.attributes


def test_chart_has_four_bars_per_scope_with_their_values_and_the_gate_line() -> None:
    page = render_html(validate(sample_scorecard()))
    parsed = parse_html(page)

    scopes = [value for tag, name, value in parsed.attributes if name == "data-name"]
    assert scopes == ["Project", "refund-agent", "triage-bot"]
    scores = [value for tag, name, value in parsed.attributes if name == "data-score"]
    assert scores == ["3", "2", "3", "3", "2", "1", "2", "2", "3", "2", "3", "3"]
    bars = [
        value
        for tag, name, value in parsed.attributes
        if name == "class" and (value or "").startswith("bar ")
    ]
    assert bars[1] == "bar d-infrastructure w2 below"  # the project misses the gate there
    assert bars[5] == "bar d-infrastructure w1"  # a pilot is never marked
    # Each bar says its value; one under the gate says so in text, not by colour alone.
    values = re.findall(r'<span class="value [^"]*">([^<]*)</span>', page)
    assert values == ["3", "2 ✗", "3", "3", "2", "1", "2", "2", "3", "2 ✗", "3", "3"]
    assert page.count('<span class="gate at3">') == 12
    # The gate's label sits above every bar, not over one.
    assert ("span", "gate 3") in parsed.texts
    assert page.index('class="gate-label') < page.index('class="scope"')
    assert ("span", "not gated") in parsed.texts  # why the pilot's low bars are not marked


def test_failing_scores_are_marked_in_the_scores_table() -> None:
    page = render_html(validate(sample_scorecard()))
    table = page[page.index('<section id="scores">') : page.index('<section id="failed">')]

    marked = re.findall(r'<td data-label="([^"]+)"><span class="under"[^>]*>([^<]*)</span>', table)
    # The project and triage-bot miss the gate on infrastructure; the pilot is not gated.
    assert marked == [("Infrastructure", "2 ✗"), ("Infrastructure", "2 ✗")]


def test_fixes_are_set_apart_from_the_reason() -> None:
    page = render_html(validate(sample_scorecard()))

    fixes = re.findall(r'<span class="fix"><b>Fix:</b> ([^<]*)</span>', page)
    # Four failed checks: once in the list, once in their table rows.
    assert len(fixes) == 8
    assert "Declare kill_switch with a mechanism, target and halt_within_s." in fixes
    assert "Fix:" not in re.sub(r'<span class="fix"><b>Fix:</b>', "", page)


def test_identifiers_may_wrap_only_at_their_separators() -> None:
    page = render_html(validate(sample_scorecard()))

    assert "✗ readiness::<wbr>kill_<wbr>switch[<wbr>refund-agent]" in page
    assert "Governanc" not in page.replace("Governance", "")


def test_checks_and_waivers_are_tabulated() -> None:
    parsed = parse_html(render_html(validate(sample_scorecard())))
    cells = [data for tag, data in parsed.texts if tag == "td"]

    assert "Kill switch halts the agent" in cells
    assert "missing (full: proven)" in cells
    assert "readiness::kill_switch[refund-agent]" in "".join(cells)
    assert "The drift dashboard lands in Q1." in cells
    assert "expiring" in cells
    assert parsed.attributes.count(("tr", "class", "failed")) == 4
    assert parsed.attributes.count(("tr", "class", "partial")) == 2  # GOV-004 and the waiver


@pytest.mark.parametrize("name", HOSTILE_STRINGS.keys())
def test_hostile_strings_are_escaped_text(name: str) -> None:
    text = HOSTILE_STRINGS[name]
    benign = parse_html(render_html(validate(hostile_scorecard("benign"))))
    hostile = parse_html(render_html(validate(hostile_scorecard(text))))

    # <wbr> (a line-break opportunity, inert) goes after separators the text happens to have.
    assert without_wbr(hostile.tags) == without_wbr(benign.tags)
    assert hostile.comments == []
    assert [name for _, name, _ in hostile.attributes] == [name for _, name, _ in benign.attributes]
    assert ("h3", clip(clean(text), 200) + " ") in hostile.texts  # the agent name, as text


def without_wbr(tags: list[str]) -> list[str]:
    return [tag for tag in tags if not tag.startswith("<wbr")]


def test_script_agent_name_appears_only_escaped() -> None:
    page = render_html(validate(hostile_scorecard("<script>alert(1)</script>")))

    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_output_is_deterministic() -> None:
    assert render_html(validate(sample_scorecard())) == render_html(validate(sample_scorecard()))


# Headless Chromium will not make a window narrower than 500 px, so the report is laid out in
# an iframe of the width under test, inside a page whose script measures it (the report itself
# runs none: its CSP forbids it): sideways scroll, words broken across lines, the chart's size,
# and whether the gate's label covers a bar or a value.
FRAME = """<!DOCTYPE html>
<html><body style="margin:0">
<iframe id="report" src="REPORT" style="border:0;width:WIDTHpx;height:1600px"></iframe>
<script>
document.getElementById("report").addEventListener("load", () => {
  const win = document.getElementById("report").contentWindow, doc = win.document;
  const found = {viewport: win.innerWidth, scrollWidth: doc.documentElement.scrollWidth};
  const broken = [];
  const walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const match of node.data.matchAll(/[^\\s\\-]+/g)) {
      const range = doc.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0)
        .map(r => Math.round(r.bottom)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  found.broken = broken;
  found.tablesScrolling = [...doc.querySelectorAll(".table-wrap")]
    .filter(e => e.scrollWidth > e.clientWidth).length;
  found.chartWidth = doc.querySelector("#chart .matrix").getBoundingClientRect().width;
  const label = doc.querySelector("#chart .gate-label").getBoundingClientRect();
  found.gateLabelCovers = [...doc.querySelectorAll("#chart .bar, #chart .value")]
    .map(e => e.getBoundingClientRect())
    .filter(b => b.left < label.right && b.right > label.left && b.top < label.bottom
      && b.bottom > label.top).length;
  found.valuesOverBars = [...doc.querySelectorAll("#chart .row")].filter(row => {
    const bar = row.querySelector(".bar"), value = row.querySelector(".value");
    if (!bar || !value) return false;
    const reach = bar.getBoundingClientRect().right + (bar.classList.contains("below") ? 3 : 0);
    return value.firstChild && (() => {
      const text = doc.createRange();
      text.selectNodeContents(value);
      return text.getBoundingClientRect().left < reach;
    })();
  }).length;
  document.body.setAttribute("data-measured", JSON.stringify(found));
});
</script></body></html>
"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    browser = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--hide-scrollbars", "--allow-file-access-from-files",
        "--virtual-time-budget=5000", f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run(
        [*browser, *args], capture_output=True, text=True, timeout=120, check=True
    )


def framed(report: Path, width: int) -> Path:
    """A page showing ``report`` ``width`` CSS pixels wide, with the measuring script."""
    frame = report.with_name(f"{report.stem}-at-{width}.html")
    frame.write_text(
        FRAME.replace("REPORT", report.name).replace("WIDTH", str(width)), encoding="utf-8"
    )
    return frame


def measure(report: Path, width: int) -> dict[str, Any]:
    frame = framed(report, width)
    dom = chromium(
        f"--window-size={max(width, 500)},1600",
        "--dump-dom",
        frame.as_uri(),
        profile=report.parent / "profile",
    ).stdout
    match = re.search(r'data-measured="([^"]*)"', dom)
    assert match is not None, dom[-2000:]
    found: dict[str, Any] = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return found


def screenshot(report: Path, width: int, artifacts: str | None) -> Path:
    """A screenshot of ``report`` at ``width``; kept in ``artifacts`` when given."""
    shot = report.with_name(f"{report.stem}-{width}.png")
    chromium(
        f"--screenshot={shot}",
        f"--window-size={max(width, 500)},1600",
        framed(report, width).as_uri(),
        profile=report.parent / "profile",
    )
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot.name)
    return shot


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", [1200, 420])
def test_chromium_lays_the_report_out_legibly(width: int, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text(render_html(validate(sample_scorecard())), encoding="utf-8")

    found = measure(report, width)

    assert found["viewport"] == width
    assert found["scrollWidth"] <= width, found  # no sideways scroll
    assert found["tablesScrolling"] == 0, found  # not even inside a table
    assert found["broken"] == [], found  # every word on one line
    assert found["gateLabelCovers"] == 0, found
    assert found["valuesOverBars"] == 0, found  # each value stands clear of its bar
    # The chart uses the room it has: no thumbnail on a desktop, the phone's width on a phone.
    assert found["chartWidth"] >= (700 if width == 1200 else width - 40), found
    screenshot(report, width, os.environ.get("READINESS_ARTIFACTS_DIR"))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("card", ["sample", "hostile"])
def test_chromium_renders_the_report(card: str, tmp_path: Path) -> None:
    scorecard = (
        sample_scorecard()
        if card == "sample"
        else hostile_scorecard("<script>document.title='pwned'</script><img src=x>")
    )
    page = tmp_path / f"report-{card}.html"
    page.write_text(render_html(validate(scorecard)), encoding="utf-8")

    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    rendered = parse_html(dom)
    assert ("h1", "✗ Not ready") in rendered.texts
    assert next(data for tag, data in rendered.texts if tag == "title").startswith(
        "Agent readiness"
    )
    assert not {tag for tag, _, _ in rendered.attributes} & LOADING_TAGS
    assert "<script" not in dom
    scopes = dom.split('<div class="scope"')[1:]
    assert len(scopes) == 3
    assert [scope.count('<span class="bar ') for scope in scopes] == [4, 4, 4]
    # Both screenshots, desktop and phone; READINESS_ARTIFACTS_DIR keeps them for a look.
    for width in (1200, 420):
        screenshot(page, width, os.environ.get("READINESS_ARTIFACTS_DIR"))
        if card == "hostile":
            # However long or odd the project's strings, the page does not scroll sideways.
            found = measure(page, width)
            assert found["scrollWidth"] <= width, found
