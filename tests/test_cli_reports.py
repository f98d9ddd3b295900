"""Reports outside and inside a test run: ``agent-readiness report``, ``agent-readiness diff``,
the diff itself, and ``pytest --readiness-report FORMAT=PATH``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from _scorecards import HOSTILE_STRINGS, hostile_scorecard, ready_scorecard, sample_scorecard
from conftest import UNREADY_EXAMPLE, copy_example
from pytest_agent_readiness.cli import main
from pytest_agent_readiness.diff import diff_as_json, diff_scorecards, render_diff_text
from pytest_agent_readiness.report_formats import REPORT_FORMATS, render_report
from pytest_agent_readiness.reports import render_markdown
from pytest_agent_readiness.scorecard import dumps, load_scorecard

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"


def write(tmp_path: Path, name: str, card: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(dumps(card), encoding="utf-8")
    return str(path)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- agent-readiness report
@pytest.mark.parametrize("format", REPORT_FORMATS)
@pytest.mark.parametrize(
    ("card", "status"), [(ready_scorecard, 0), (sample_scorecard, 1)], ids=["ready", "not-ready"]
)
def test_report_renders_every_format_with_the_verdict_as_exit_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    format: str,
    card: Any,
    status: int,
) -> None:
    document = card()
    path = write(tmp_path, "scorecard.json", document)

    assert main(["report", path, "--format", format]) == status

    # What the CLI renders is the file as read back (sorted keys), so compare with that.
    assert capsys.readouterr().out == render_report(format, load_scorecard(Path(path)))


@pytest.mark.parametrize("format", ["markdown", "sarif", "html"])
def test_report_output_file_holds_exactly_the_rendering(tmp_path: Path, format: str) -> None:
    document = sample_scorecard()
    path = write(tmp_path, "scorecard.json", document)
    target = tmp_path / "out" / f"report.{format}"

    result = cli("report", path, "--format", format, "--output", str(target))

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8") == render_report(format, load_scorecard(Path(path)))


def test_report_with_base_shows_the_change_against_it(tmp_path: Path) -> None:
    head = write(tmp_path, "head.json", sample_scorecard())
    base = write(tmp_path, "base.json", ready_scorecard())

    result = cli("report", head, "--format", "markdown", "--base", base)

    assert result.returncode == 1, result.stderr
    assert result.stdout == render_markdown(
        load_scorecard(Path(head)), base=load_scorecard(Path(base))
    )
    assert "### Change against base" in result.stdout
    assert "Verdict: ready → not ready." in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "{missing}"], "no such scorecard file"),
        (["report", "{garbage}"], "not a JSON scorecard"),
        (["report", "{not_a_card}"], "not a valid scorecard"),
        (["report", "{ready}", "--format", "pdf"], "invalid choice: 'pdf'"),
        (["report", "{ready}", "--format", "sarif", "--base", "{ready}"], "markdown only"),
        (["report", "{ready}", "--format", "markdown", "--base", "{garbage}"], "--base:"),
        (["diff", "{ready}", "{garbage}"], "head:"),
        (["diff", "{missing}", "{ready}"], "base:"),
        (["diff", "{ready}", "{ready}", "--format", "html"], "invalid choice: 'html'"),
    ],
    ids=[
        "missing",
        "not-json",
        "not-a-scorecard",
        "unknown-format",
        "base-outside-markdown",
        "bad-base",
        "diff-bad-head",
        "diff-missing-base",
        "diff-unknown-format",
    ],
)
def test_invalid_input_exits_2_and_says_why(tmp_path: Path, args: list[str], message: str) -> None:
    files = {
        "missing": str(tmp_path / "nope.json"),
        "garbage": str(tmp_path / "garbage.json"),
        "not_a_card": str(tmp_path / "list.json"),
        "ready": write(tmp_path, "ready.json", ready_scorecard()),
    }
    (tmp_path / "garbage.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.json").write_text('{"verdict": "ready"}', encoding="utf-8")

    result = cli(*(arg.format(**files) for arg in args))

    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- the diff
def test_diff_names_score_deltas_verdict_and_changed_checks() -> None:
    changes = diff_scorecards(ready_scorecard(), sample_scorecard())

    assert (changes.base_ready, changes.head_ready, changes.verdict_changed) == (True, False, True)
    assert changes.project.total.delta == 11 - 20
    assert changes.project.dimensions["infrastructure"].delta == 2 - 5
    by_name = {scope.agent: scope.status for scope in changes.agents}
    assert by_name["refund-agent"] == "added"
    assert by_name["triage-bot"] == "changed"
    kill_switch = next(c for c in changes.checks if (c.agent, c.id) == ("triage-bot", "INF-001"))
    assert (kill_switch.level_before, kill_switch.level_after) == ("proven", "missing")
    assert (kill_switch.passed_before, kill_switch.passed_after) == (True, False)
    assert kill_switch.regressed
    assert not kill_switch.improved
    assert kill_switch in changes.regressions
    # Blockers first: a regressed critical check leads.
    assert changes.checks[0].critical


def test_diff_the_other_way_round_is_an_improvement() -> None:
    changes = diff_scorecards(sample_scorecard(), ready_scorecard())

    kill_switch = next(c for c in changes.checks if (c.agent, c.id) == ("triage-bot", "INF-001"))
    assert kill_switch.improved
    assert not kill_switch.regressed
    assert {s.agent: s.status for s in changes.agents}["refund-agent"] == "removed"


def test_diff_of_identical_scorecards_is_empty() -> None:
    changes = diff_scorecards(sample_scorecard(), sample_scorecard())

    assert changes.checks == ()
    assert not changes.verdict_changed
    assert changes.project.status == "unchanged"
    assert {scope.status for scope in changes.agents} == {"unchanged"}
    assert "no check changed its level or outcome" in render_diff_text(changes)


def test_diff_reports_a_check_that_went_away_and_a_level_change() -> None:
    base = ready_scorecard()
    head = copy.deepcopy(base)
    checks = head["agents"]["triage-bot"]["checks"]
    removed = checks.pop()
    lowered = checks[0]
    lowered_before = lowered["level"]
    lowered["level"] = "declared" if lowered_before == "proven" else "missing"

    changes = diff_scorecards(base, head)

    statuses = {(c.id, c.status) for c in changes.checks}
    assert (removed["id"], "removed") in statuses
    assert (lowered["id"], "changed") in statuses
    lowered_change = next(c for c in changes.checks if c.id == lowered["id"])
    # Still passing, but at a lower level: that is worse.
    assert lowered_change.regressed
    document = diff_as_json(changes)
    json.dumps(document)  # JSON-ready
    assert any(c["id"] == removed["id"] and c["status"] == "removed" for c in document["checks"])


@pytest.mark.parametrize("name", ["newlines", "workflow-command", "controls", "bidi"])
def test_text_diff_keeps_hostile_names_on_one_line(name: str) -> None:
    hostile = hostile_scorecard(HOSTILE_STRINGS[name])
    text = render_diff_text(diff_scorecards(ready_scorecard(), hostile))

    for line in text.splitlines():
        assert not line.startswith("::"), line
    assert "\x1b" not in text
    assert "\u202e" not in text


@pytest.mark.parametrize(
    ("base", "head", "status"),
    [
        (ready_scorecard, ready_scorecard, 0),
        (sample_scorecard, ready_scorecard, 0),
        (ready_scorecard, sample_scorecard, 1),
        (sample_scorecard, sample_scorecard, 1),
    ],
    ids=["ready-to-ready", "better-and-ready", "worse", "not-ready-unchanged"],
)
@pytest.mark.parametrize("format", ["text", "markdown", "json"])
def test_diff_exits_1_exactly_when_head_is_not_ready(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    base: Any,
    head: Any,
    status: int,
    format: str,
) -> None:
    base_path = write(tmp_path, "base.json", base())
    head_path = write(tmp_path, "head.json", head())

    assert main(["diff", base_path, head_path, "--format", format]) == status

    out = capsys.readouterr().out
    if format == "json":
        assert json.loads(out) == diff_as_json(diff_scorecards(base(), head()))
    elif format == "markdown":
        assert "### Change against base" in out
    else:
        assert out.startswith("verdict: ")


# --- pytest --readiness-report


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_readiness_report_writes_every_requested_report(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)
    stale = pytester.path / "reports" / "scorecard.md"
    stale.parent.mkdir()
    stale.write_text("an earlier run's report\n", encoding="utf-8")

    result = pytester.runpytest_subprocess(
        "--readiness",
        "--readiness-json=scorecard.json",
        "--readiness-report=markdown=reports/scorecard.md",
        "--readiness-report",
        "sarif=reports/scorecard.sarif",
        "--readiness-report=junit=junit-readiness.xml",
        AS_OF,
        "-p",
        "no:randomly",
        *workers,
    )

    assert result.ret == 1
    card = json.loads((pytester.path / "scorecard.json").read_text(encoding="utf-8"))
    for format, name in [
        ("markdown", "reports/scorecard.md"),
        ("sarif", "reports/scorecard.sarif"),
        ("junit", "junit-readiness.xml"),
    ]:
        assert (pytester.path / name).read_text(encoding="utf-8") == render_report(format, card)
    assert not list(pytester.path.rglob(".scorecard.md.*")), "a temporary file was left behind"


def test_readiness_report_ini_list_is_relative_to_the_ini_file(pytester: pytest.Pytester) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)
    ini = (pytester.path / "pytest.ini").read_text(encoding="utf-8")
    ini += "readiness_json = out/scorecard.json\nreadiness_report =\n    html=out/r.html\n"
    ini += "    text=out/r.txt\n"
    (pytester.path / "pytest.ini").write_text(ini, encoding="utf-8")

    # Run from a subdirectory: ini paths stay relative to the ini file, not to the cwd.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--readiness", AS_OF, "-p", "no:randomly"],
        cwd=pytester.path / "tests",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    card = json.loads((pytester.path / "out/scorecard.json").read_text(encoding="utf-8"))
    assert (pytester.path / "out/r.html").read_text(encoding="utf-8") == render_report("html", card)
    assert (pytester.path / "out/r.txt").read_text(encoding="utf-8") == render_report("text", card)
    assert not (pytester.path / "tests" / "out").exists()


@pytest.mark.parametrize("value", ["pdf=out.pdf", "markdown", "markdown=", "=out.md", "MARKDOWN=x"])
def test_readiness_report_rejects_a_bad_value_listing_the_formats(
    pytester: pytest.Pytester, value: str
) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)

    result = pytester.runpytest_subprocess("--readiness", f"--readiness-report={value}")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --readiness-report / readiness_report: expected FORMAT=PATH with FORMAT one "
            f"of text, json, markdown, junit, sarif, github, html, badge, got '{value}'"
        ]
    )
