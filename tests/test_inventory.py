"""`agent-readiness inventory` over directories of real scorecards: every agent, every finding.

tests/data/inventory holds the scorecards of real gate runs of the four examples (written with
GITHUB_SHA and GITHUB_REPOSITORY set, as under Actions); variants are edits of those.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from _examples import run_example
from _scorecards import parse_html, validate
from pytest_agent_readiness.cli import main
from pytest_agent_readiness.inventory import (
    LoadedScorecard,
    Unreadable,
    build_inventory,
    collect_files,
)
from pytest_agent_readiness.reports.html import CSP
from pytest_agent_readiness.reports.inventory import (
    render_inventory_csv,
    render_inventory_html,
    render_inventory_markdown,
    render_inventory_text,
)
from test_reports_html import CHROMIUM, LOADING_TAGS, chromium

DATA = Path(__file__).parent / "data" / "inventory"
AS_OF = dt.date(2026, 12, 4)
EXAMPLES = ("broken-kill-switch", "pydantic-ai-refunds", "support-triage", "unready-pilot")


def real(example: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((DATA / f"{example}.json").read_text(encoding="utf-8"))
    return document


def as_version_1(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` written the way schema version 1 wrote it (before file/line/document path,
    and before the inventory's fields)."""
    old = copy.deepcopy(document)
    old["schema_version"] = 1
    old["manifest"] = {"path": old["manifest"].pop("file"), **old["manifest"]}
    for agent in old["agents"].values():
        for key in ("stage_changed", "permissions_reviewed", "prompts"):
            agent.pop(key)
        for check in agent["checks"]:
            check.pop("file")
            check["manifest_line"] = check.pop("line")
            check["manifest_path"] = check.pop("document_path")
    old.pop("run")
    return old


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def card(document: dict[str, Any], repository: str | None = None) -> LoadedScorecard:
    if repository is not None:
        document = dict(document, run=dict(document.get("run", {}), repository=repository))
    return LoadedScorecard("test", repository or document["run"]["repository"], document)


def kinds(inventory: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in inventory.findings:
        found.setdefault(finding.kind, []).extend(finding.agents or [finding.repository])
    return found


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """A directory tree like an org's scorecards: nested, old and new schema, a duplicate,
    an older copy of one repository's scorecard, and a corrupt file."""
    root = tmp_path / "scorecards"
    for example in EXAMPLES:
        shutil.copy(DATA / f"{example}.json", root.mkdir(exist_ok=True) or root / f"{example}.json")
    old = as_version_1(real("support-triage"))
    old["project"] = "legacy-support"
    write(root / "legacy" / "deep" / "v1.json", old)
    shutil.copy(DATA / "support-triage.json", root / "legacy" / "copy-of-triage.json")
    older = real("pydantic-ai-refunds")
    older["as_of"] = "2026-11-01"
    older["total"] = 12
    write(root / "archive" / "refunds-november.json", older)
    (root / "archive" / "corrupt.json").write_text('{"schema_version": 2, "agents": ', "utf-8")
    return root


def test_every_agent_of_every_scorecard_appears_once(
    fleet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["inventory", str(fleet), "--as-of", "2026-12-04", "--format", "json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 1  # findings (the corrupt file among them)
    keys = [agent["key"] for agent in report["agents"]]
    assert len(keys) == len(set(keys)) == 5
    assert {key.split(":")[0] for key in keys} == {
        "acme/broken-kill-switch",
        "acme/pydantic-ai-refunds",
        "acme/support-triage",
        "acme/unready-pilot",
        "legacy-support",  # the version-1 file: no recorded repository, named by its project
    }
    refunds = next(a for a in report["agents"] if a["repository"] == "acme/pydantic-ai-refunds")
    assert refunds["total"] == 20  # the newer of the two, not November's 12
    assert refunds["commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert refunds["prompts"] == ["prompts/refunds.md@2.0.0"]
    assert "INF-001" in refunds["proven_controls"]
    triage = next(a for a in report["agents"] if a["repository"] == "acme/support-triage")
    assert triage["stage_changed"] == "2026-10-15"
    assert triage["days_in_stage"] == 50
    assert triage["permissions_reviewed"] == "2026-10-01"
    assert triage["review_overdue"] is False
    legacy = next(a for a in report["agents"] if a["repository"] == "legacy-support")
    assert legacy["stage_changed"] is None  # version 1 never recorded it
    assert legacy["review_overdue"] is False  # its GOV-005 passed
    # Duplicates are named, with the one kept.
    notes = "\n".join(report["notes"])
    assert (
        "copy-of-triage.json: a duplicate of" in notes
        or "support-triage.json: a duplicate" in notes
    )
    assert "refunds-november.json: a duplicate of" in notes
    # The corrupt file is reported, never skipped.
    (unreadable,) = report["unreadable"]
    assert unreadable["source"].endswith("corrupt.json")
    assert "not a JSON scorecard" in unreadable["reason"]
    assert any(f["kind"] == "unreadable" for f in report["findings"])


def test_each_finding_is_raised_for_the_agents_behind_it() -> None:
    good = real("support-triage")
    no_owner = real("support-triage")
    no_owner["agents"]["triage-bot"]["owner"] = None
    overdue = real("support-triage")
    overdue["agents"]["triage-bot"]["permissions_reviewed"] = "2026-08-01"
    stale = real("support-triage")
    stale["as_of"] = "2026-10-01"
    pilot = real("support-triage")
    pilot["agents"]["triage-bot"].update(stage="pilot", stage_changed="2026-06-01")
    waived = real("support-triage")
    waived["waivers"] = [
        {"check": "DQ-002", "agent": "triage-bot", "status": "applied", "expires": "2026-12-10"},
        {"check": "OBS-003", "agent": "triage-bot", "status": "expired", "expires": "2026-11-30"},
    ]
    cards = [
        card(good, "acme/good"),
        card(no_owner, "acme/no-owner"),
        card(overdue, "acme/overdue"),
        card(stale, "acme/stale"),
        card(pilot, "acme/pilot"),
        card(waived, "acme/waived"),
        card(real("broken-kill-switch")),
        card(real("unready-pilot")),
    ]
    inventory = build_inventory(
        cards, as_of=AS_OF, unreadable=[Unreadable("acme/locked", "HTTP 403")]
    )
    found = kinds(inventory)

    def key(repository: str, agent: str = "triage-bot") -> str:
        example = "support-triage" if agent == "triage-bot" else ""
        return f"{repository}:examples/{example}/agent-readiness.yaml:{agent}"

    triage = "examples/support-triage/agent-readiness.yaml:triage-bot"
    assert found["no_owner"] == [
        f"acme/no-owner:{triage}",
        "acme/unready-pilot:examples/unready-pilot/agent-readiness.yaml:refund-agent",  # "TBD"
    ]
    assert found["review_overdue"] == [
        f"acme/overdue:{triage}",
        "acme/unready-pilot:examples/unready-pilot/agent-readiness.yaml:refund-agent",
    ]
    assert found["stale_scorecard"] == [f"acme/stale:{triage}"]
    assert found["pilot_too_long"] == [f"acme/pilot:{triage}"]
    assert found["waiver_expiring"] == [f"acme/waived:{triage}"]
    assert found["waiver_expired"] == [f"acme/waived:{triage}"]
    assert found["critical_not_proven"] == [
        "acme/broken-kill-switch:examples/broken-kill-switch/agent-readiness.yaml:ops-agent",
        "acme/unready-pilot:examples/unready-pilot/agent-readiness.yaml:refund-agent",
    ]
    assert found["unreadable"] == ["acme/locked"]
    # Dana Reyes owns five agents here (no-owner's is nobody's): at the limit, not over it.
    assert "owner_overloaded" not in found
    crowded = build_inventory(
        [card(real("support-triage"), f"acme/r{i}") for i in range(6)], as_of=AS_OF
    )
    (overloaded,) = crowded.findings
    assert overloaded.kind == "owner_overloaded"
    assert len(overloaded.agents) == 6
    assert "Dana Reyes owns 6 agents" in overloaded.message
    assert not build_inventory([card(good, "acme/good")], as_of=AS_OF).findings


def test_board_view_and_changes_since_a_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tmp_path / "before"
    for example in ("support-triage", "unready-pilot", "broken-kill-switch"):
        shutil.copy(DATA / f"{example}.json", before.mkdir(exist_ok=True) or before)
    base = tmp_path / "base.json"
    main(
        [
            "inventory",
            str(before),
            "--as-of",
            "2026-12-04",
            "--format",
            "json",
            "--output",
            str(base),
        ]
    )
    board = json.loads(base.read_text("utf-8"))["board"]
    assert board["per_stage"] == {"pilot": 0, "stabilization": 3, "scaling": 0, "optimization": 0}
    assert board["per_verdict"] == {"ready": 1, "not_ready": 2}
    assert board["median"]["total"] == 17

    after = tmp_path / "after"
    shutil.copytree(before, after)
    (after / "broken-kill-switch.json").unlink()
    shutil.copy(DATA / "pydantic-ai-refunds.json", after)
    moved = real("unready-pilot")
    moved["agents"]["refund-agent"].update(stage="pilot", total=9)
    write(after / "unready-pilot.json", moved)
    capsys.readouterr()
    code = main(["inventory", str(after), "--as-of", "2026-12-04", "--base", str(base)])
    text = capsys.readouterr().out

    assert code == 1
    assert "added: acme/pydantic-ai-refunds:" in text
    assert "removed: acme/broken-kill-switch:" in text
    refund_agent = "acme/unready-pilot:examples/unready-pilot/agent-readiness.yaml:refund-agent"
    assert f"score up: {refund_agent} 5 → 9" in text
    assert f"stage: {refund_agent} stabilization → pilot" in text


def test_no_finding_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", str(DATA / "support-triage.json"), "--as-of", "2026-12-04"]) == 0
    assert "1 agents, 0 findings" in capsys.readouterr().out
    # A month later the same scorecard is stale.
    assert main(["inventory", str(DATA / "support-triage.json"), "--as-of", "2027-01-10"]) == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["inventory"], "name at least one scorecard file or directory"),
        (["inventory", "no/such/dir"], "no/such/dir: no such scorecard file or directory"),
        (["inventory", str(DATA), "--as-of", "12/04/2026"], "is not a date (YYYY-MM-DD)"),
        (["inventory", str(DATA), "--base", str(DATA / "support-triage.json")], "not an inventory"),
        (["inventory", str(DATA), "--github-org", "acme"], "needs a token in GITHUB_TOKEN"),
    ],
)
def test_bad_input_exits_2_with_a_reason(
    argv: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_renderers_carry_hostile_strings_inertly() -> None:
    hostile = real("support-triage")
    hostile["agents"]["triage-bot"]["owner"] = '=HYPERLINK("https://evil.example")'
    hostile["agents"]["<script>x</script>\n::error::boom"] = hostile["agents"]["triage-bot"]
    inventory = build_inventory([card(hostile, "acme/hostile")], as_of=AS_OF)

    rows = list(csv.reader(io.StringIO(render_inventory_csv(inventory))))
    assert rows[0][:3] == ["Repository", "Manifest", "Agent"]
    assert {row[3] for row in rows[1:]} == {'\'=HYPERLINK("https://evil.example")'}
    assert "\n::error::" not in render_inventory_text(inventory)
    page = render_inventory_html(inventory)
    parsed = parse_html(page)
    assert ("meta", "content", CSP) in parsed.attributes
    assert "<script>x" not in page
    assert not {tag for tag, _, _ in parsed.attributes} & {"script", "img", "link", "iframe"}


def test_collect_files_reads_a_directory_recursively(fleet: Path) -> None:
    cards, unreadable = collect_files([str(fleet)])
    assert len(cards) == 7
    assert [Path(u.source).name for u in unreadable] == ["corrupt.json"]


# --------------------------------------------------------------------------- Chromium

# The inventory page laid out in an iframe of the width under test (headless Chromium will
# not make a window narrower than 500 px), measured by the frame's script: the page itself
# runs none.
INVENTORY_FRAME = """<!DOCTYPE html>
<html><body style="margin:0">
<iframe id="page" src="REPORT" style="border:0;width:WIDTHpx;height:1600px"></iframe>
<script>
document.getElementById("page").addEventListener("load", () => {
  const win = document.getElementById("page").contentWindow, doc = win.document;
  document.body.setAttribute("data-measured", JSON.stringify({
    viewport: win.innerWidth,
    scrollWidth: doc.documentElement.scrollWidth,
    tablesScrolling: [...doc.querySelectorAll(".table-wrap")]
      .filter(e => e.scrollWidth > e.clientWidth).length,
    rows: doc.querySelectorAll("#agents tbody tr").length,
    flagged: doc.querySelectorAll("#agents tbody tr.failed").length,
    sections: [...doc.querySelectorAll("section")].map(s => s.id),
    title: doc.title,
  }));
});
</script></body></html>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("width", [1200, 420])
def test_chromium_lays_the_inventory_out_legibly(
    width: int, fleet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "inventory.html"
    argv = ["inventory", str(fleet), "--as-of", "2026-12-04", "--format", "html"]
    assert main([*argv, "--output", str(page)]) == 1
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(
        INVENTORY_FRAME.replace("REPORT", page.name).replace("WIDTH", str(width)), "utf-8"
    )

    dom = chromium(
        f"--window-size={max(width, 500)},1600", "--dump-dom", frame.as_uri(),
        profile=tmp_path / "profile",
    ).stdout  # fmt: skip
    match = re.search(r'data-measured="([^"]*)"', dom)
    assert match is not None, dom[-2000:]
    found = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))

    assert found["viewport"] == width
    assert found["scrollWidth"] <= width, found  # the page never scrolls sideways
    assert found["tablesScrolling"] == 0, found
    assert found["rows"] == 5
    assert found["flagged"] == 2  # the agents behind a finding stand out
    assert found["title"] == "Agent inventory · 2026-12-04"
    assert found["sections"][:2] == ["board", "agents"]
    assert "finding-unreadable" in found["sections"]
    assert "finding-critical-not-proven" in found["sections"]
    rendered = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile").stdout
    assert "<script" not in rendered
    assert not {tag for tag, _, _ in parse_html(rendered).attributes} & LOADING_TAGS


def test_a_real_gate_run_records_what_the_inventory_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SHA", "89abcdef" * 5)
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/support-triage")
    _, scorecard = run_example("support-triage", tmp_path)

    assert scorecard["schema_version"] == 2
    assert scorecard["run"]["commit"] == "89abcdef" * 5
    assert scorecard["run"]["repository"] == "acme/support-triage"
    agent = scorecard["agents"]["triage-bot"]
    assert agent["stage_changed"] == "2026-10-15"
    assert agent["permissions_reviewed"] == "2026-10-01"
    assert agent["prompts"] == [{"path": "prompts/triage.md", "version": "3.2.0"}]
    validate(scorecard)


def test_markdown_inventory_names_every_section_and_escapes_project_text() -> None:
    hostile = real("unready-pilot")
    hostile["agents"]["refund-agent"]["owner"] = "@octocat | <b>x</b>"
    page = render_inventory_markdown(
        build_inventory(
            [card(hostile, "acme/hostile"), card(real("support-triage"))],
            as_of=AS_OF,
            base={"inventory_version": 1, "agents": []},
        )
    )

    assert page.startswith("## Agent inventory · 2026-12-04\n")
    for heading in (
        "### Board",
        "### Agents",
        "### No named owner (1)",
        "### Critical control declared but not proven (1)",
        "### Permission review overdue (90 days) (1)",
        "### Since the base inventory",
    ):
        assert f"\n{heading}\n" in page, heading
    assert "@octocat" not in page  # no mention pings anyone
    assert "<b>" not in page
    # Every row of the agents table has as many cells as its header.
    table = [line for line in page.splitlines() if line.startswith("| ")]
    assert len({line.count(" | ") for line in table}) == 1
    assert "@\u2060octocat \\| &lt;b&gt;" in page
