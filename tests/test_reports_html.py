"""The self-contained HTML report: parsed for structure and escaping, then shown in Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

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


def test_chart_has_four_bars_per_scope_and_the_gate_line() -> None:
    page = render_html(validate(sample_scorecard()))
    parsed = parse_html(page)

    scopes = [value for tag, name, value in parsed.attributes if name == "data-name"]
    assert scopes == ["Project", "refund-agent", "triage-bot"]
    scores = [value for tag, name, value in parsed.attributes if name == "data-score"]
    assert scores == ["3", "2", "3", "3", "2", "1", "2", "2", "3", "2", "3", "3"]
    bars = [value for tag, name, value in parsed.attributes if tag == "rect" and name == "class"]
    assert bars[1] == "bar d-infrastructure below"  # the project misses the gate there
    assert bars[5] == "bar d-infrastructure"  # a pilot is never marked
    assert ("line", "class", "gate") in parsed.attributes
    assert ("text", "gate 3") in parsed.texts


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

    assert hostile.tags == benign.tags
    assert hostile.comments == []
    assert [name for _, name, _ in hostile.attributes] == [name for _, name, _ in benign.attributes]
    assert ("h3", clip(clean(text), 200) + " ") in hostile.texts  # the agent name, as text


def test_script_agent_name_appears_only_escaped() -> None:
    page = render_html(validate(hostile_scorecard("<script>alert(1)</script>")))

    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_output_is_deterministic() -> None:
    assert render_html(validate(sample_scorecard())) == render_html(validate(sample_scorecard()))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("card", ["sample", "hostile"])
def test_chromium_renders_the_report(card: str, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    scorecard = (
        sample_scorecard()
        if card == "sample"
        else hostile_scorecard("<script>document.title='pwned'</script><img src=x>")
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(validate(scorecard)), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    browser = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip

    dom = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    subprocess.run(
        [*browser, f"--screenshot={screenshot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip

    rendered = parse_html(dom)
    assert ("h1", "✗ Not ready") in rendered.texts
    assert next(data for tag, data in rendered.texts if tag == "title").startswith(
        "Agent readiness"
    )
    assert not {tag for tag, _, _ in rendered.attributes} & LOADING_TAGS
    assert "<script" not in dom
    groups = dom.split('<g class="scope"')[1:]
    assert len(groups) == 3
    assert [group.count('<rect class="bar') for group in groups] == [4, 4, 4]
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    artifacts = os.environ.get("READINESS_ARTIFACTS_DIR")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(artifacts) / f"report-{card}.png")
