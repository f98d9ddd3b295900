"""pytest --readiness end to end, the way pytest plugins are tested: pytester runs."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROOF_TESTS, READY_EXAMPLE, UNREADY_EXAMPLE, copy_example, ready_data

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"


def scorecard(pytester: pytest.Pytester, name: str = "scorecard.json") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return loaded


def check(card: dict[str, Any], agent: str, check_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(c for c in card["agents"][agent]["checks"] if c["id"] == check_id)
    return entry


def write_manifest(pytester: pytest.Pytester, data: dict[str, Any]) -> None:
    pytester.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(data, sort_keys=False)})


@pytest.fixture
def minimal(pytester: pytest.Pytester) -> dict[str, Any]:
    """The ready manifest (without its tests) in a pytester project."""
    shutil.copytree(READY_EXAMPLE / "prompts", pytester.path / "prompts")
    shutil.copy(READY_EXAMPLE / "agent-readiness.lock", pytester.path / "agent-readiness.lock")
    data = ready_data()
    # No adapter: these runs judge declarations and marked tests only (no built-in probes).
    del data["agents"]["triage-bot"]["adapter"]
    write_manifest(pytester, data)
    return data


def test_ready_example_passes_with_proven_controls(pytester: pytest.Pytester) -> None:
    copy_example(pytester, READY_EXAMPLE)
    result = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=scorecard.json", AS_OF, "-p", "no:randomly"
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["*= agent readiness =*", "triage-bot stabilization *5*5*5*5*20", "VERDICT: READY (20/20)"]
    )
    card = scorecard(pytester)
    assert (card["verdict"], card["total"], card["incomplete"]) == ("ready", 20, False)
    kill = check(card, "triage-bot", "INF-001")
    assert kill["level"] == "proven"
    assert kill["evidence"] == [
        "agent-readiness.yaml::triage-bot::probe-kill-switch",
        "tests/test_controls.py::test_kill_switch_halts_a_runaway_session",
    ]
    assert kill["evidence_sources"] == {
        "agent-readiness.yaml::triage-bot::probe-kill-switch": "probe",
        "tests/test_controls.py::test_kill_switch_halts_a_runaway_session": "test",
    }
    assert check(card, "triage-bot", "GOV-001")["level"] == "declared"


def test_unready_example_is_blocked_with_reasons(pytester: pytest.Pytester) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)
    result = pytester.runpytest_subprocess("--readiness", "--readiness-json=scorecard.json", AS_OF)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "VERDICT: NOT READY*",
            "*governance 2 is under min_dimension 3*",
            "*infrastructure 1 is under min_dimension 3*",
            "*refund-agent GOV-001 ?critical? agent-readiness.yaml:7 (agents.refund-agent.owner): "
            "owner is not a named person*",
            "*refund-agent INF-001 ?critical? agent-readiness.yaml:5 (agents.refund-agent): "
            "no kill switch declared*",
            "*refund-agent INF-002 ?critical? agent-readiness.yaml:5 (agents.refund-agent): "
            "no budgets declared*",
            "FAILED agent-readiness.yaml::gate*",
        ]
    )
    card = scorecard(pytester)
    assert card["verdict"] == "not_ready"
    owner = check(card, "refund-agent", "GOV-001")
    assert (owner["file"], owner["line"]) == ("agent-readiness.yaml", 7)
    assert owner["document_path"] == "agents.refund-agent.owner"
    assert check(card, "refund-agent", "INF-001")["passed"] is False


def test_without_readiness_nothing_changes(pytester: pytest.Pytester) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)
    plain = pytester.runpytest("-p", "no:randomly")
    disabled = pytester.runpytest("-p", "no:randomly", "-p", "no:agent_readiness")
    plain.assert_outcomes(passed=1)
    disabled.assert_outcomes(passed=1)
    assert plain.ret == disabled.ret == 0
    assert "agent readiness" not in plain.stdout.str()
    assert "agent-readiness:" not in plain.stdout.str()


def test_readiness_items_are_real_items(pytester: pytest.Pytester, minimal: dict[str, Any]) -> None:
    result = pytester.runpytest(
        "--readiness", "--collect-only", "-q", AS_OF, "--readiness-json=collected.json"
    )
    assert result.ret == pytest.ExitCode.OK
    assert not (pytester.path / "collected.json").exists()
    result.stdout.fnmatch_lines(
        [
            "agent-readiness.yaml::triage-bot::GOV-001",
            "agent-readiness.yaml::triage-bot::DQ-003",
            "agent-readiness.yaml::gate",
        ]
    )
    junit = pytester.path / "junit.xml"
    pytester.runpytest("--readiness", f"--junitxml={junit}", AS_OF)
    text = junit.read_text(encoding="utf-8")
    assert 'name="GOV-001"' in text and 'classname="agent-readiness.yaml.triage-bot"' in text


@pytest.mark.parametrize(
    ("outcome", "level", "passed"),
    [("pass", "proven", True), ("fail", "declared", False), ("skip", "declared", True)],
)
def test_marked_tests_are_evidence(
    pytester: pytest.Pytester, minimal: dict[str, Any], outcome: str, level: str, passed: bool
) -> None:
    body = {
        "pass": "pass",
        "fail": "assert False, 'switch ignored'",
        "skip": "pytest.skip('later')",
    }[outcome]
    pytester.makepyfile(
        test_switch=f"""
        import pytest

        @pytest.mark.readiness("INF-001", agent="triage-bot")
        def test_halts():
            {body}
    """
    )
    pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF)
    entry = check(scorecard(pytester), "triage-bot", "INF-001")
    assert (entry["level"], entry["passed"]) == (level, passed)
    if outcome == "pass":
        assert entry["evidence"] == ["test_switch.py::test_halts"]
    if outcome == "fail":
        assert entry["failed_evidence"] == ["test_switch.py::test_halts"]
        assert "switch ignored" in entry["reason"]


def test_mark_without_agent_applies_to_every_agent(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    minimal["agents"]["second-bot"] = minimal["agents"]["triage-bot"]
    write_manifest(pytester, minimal)
    pytester.makepyfile("""
        import pytest

        @pytest.mark.readiness("OBS-001")
        def test_traced():
            pass
    """)
    pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF)
    card = scorecard(pytester)
    assert check(card, "triage-bot", "OBS-001")["level"] == "proven"
    assert check(card, "second-bot", "OBS-001")["level"] == "proven"


@pytest.mark.parametrize(
    ("mark", "message"),
    [
        ('"INF-999", agent="triage-bot"', "unknown check 'INF-999' (valid: DQ-001, DQ-002*"),
        ('"INF-001", agent="ghost"', "unknown agent 'ghost' (valid: triage-bot)"),
        ('agent="triage-bot"', "expected @pytest.mark.readiness('CHECK-ID', agent='name')"),
        ('"INF-001", agnt="triage-bot"', "unexpected argument 'agnt'*"),
    ],
)
def test_bad_marks_are_usage_errors(
    pytester: pytest.Pytester, minimal: dict[str, Any], mark: str, message: str
) -> None:
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.readiness({mark})
        def test_it():
            pass
    """
    )
    result = pytester.runpytest("--readiness", AS_OF)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*test_bad.py:3: test_bad.py::test_it: {message}"])


def test_invalid_manifest_is_a_usage_error_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        **{
            "agent-readiness": "version: 1\nagents:\n  bot:\n    stage: pilot\n    kill_swich: {}\n"
        },
    )
    (pytester.path / "scorecard.json").write_text('{"verdict": "ready"}')
    result = pytester.runpytest("--readiness", "--readiness-json=scorecard.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*agent-readiness.yaml:5:5: agents.bot: unknown key "
            "'kill_swich'; did you mean 'kill_switch'?*"
        ]
    )
    assert not (pytester.path / "scorecard.json").exists(), "a stale scorecard was left in place"


def test_missing_manifest_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--readiness")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no readiness manifest at agent-readiness.yaml*"])


def test_manifest_option_and_ini(pytester: pytest.Pytester, minimal: dict[str, Any]) -> None:
    (pytester.path / "agent-readiness.yaml").rename(pytester.path / "policy.yaml")
    by_option = pytester.runpytest(
        "--readiness", "--readiness-manifest=policy.yaml", AS_OF, "--co", "-q"
    )
    by_option.stdout.fnmatch_lines(["policy.yaml::triage-bot::GOV-001"])
    pytester.makeini("[pytest]\nreadiness_manifest = policy.yaml\nreadiness_json = out.json\n")
    pytester.runpytest("--readiness", AS_OF)
    assert scorecard(pytester, "out.json")["manifest"]["file"] == "policy.yaml"


def test_bad_as_of_is_a_usage_error(pytester: pytest.Pytester, minimal: dict[str, Any]) -> None:
    result = pytester.runpytest("--readiness", "--readiness-as-of=yesterday")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*expected a date YYYY-MM-DD, got 'yesterday'*"])


def test_waiver_for_unknown_check_is_a_usage_error(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    minimal["waivers"] = [
        {
            "check": "DQ-999",
            "agent": "triage-bot",
            "reason": "long enough now",
            "approved_by": "Dana Reyes",
            "expires": "2026-12-01",
        }
    ]
    write_manifest(pytester, minimal)
    result = pytester.runpytest("--readiness", AS_OF)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*waivers[[]0[]].check: unknown check 'DQ-999'*"])


def test_gate_fails_the_session_even_if_every_test_passes(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    pytester.makepyfile("def test_ok(): pass")
    result = pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # 21 checks apply at stabilization. All pass as declared but DQ-001: a listed suite that ran
    # zero cases fails. The gate fails on the total, 11/20 (OBS-003, a run-time check, earns half
    # marks declared), and on data quality.
    result.assert_outcomes(passed=21, failed=2)
    result.stdout.fnmatch_lines(
        ["*total 11 is under min_total 14*", "*suite data_exfiltration ran zero cases*"]
    )


def test_deselecting_readiness_checks_is_never_ready(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    pytester.makepyfile(test_proof=PROOF_TESTS)
    full = pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF)
    assert full.ret == 0
    filtered = pytester.runpytest(
        "--readiness", "--readiness-json=scorecard.json", AS_OF, "-k", "not GOV-005"
    )
    assert filtered.ret == pytest.ExitCode.TESTS_FAILED
    card = scorecard(pytester)
    assert card["verdict"] == "not_ready"
    assert card["incomplete"] is True
    assert "deselected" in card["incomplete_reasons"][0]


def test_third_party_check_through_the_hook(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    pytester.makeconftest("""
        from pytest_agent_readiness.checks import Check, Finding

        def pagers(agent, context):
            channel = "pager" if agent.name == "triage-bot" else None
            if channel:
                return Finding.ok("tool errors page on-call", "agents", agent.name, "escalation")
            return Finding.missing("tool errors do not page", "agents", agent.name)

        def pytest_readiness_checks(config):
            return [Check("ACME-001", "governance", "Tool errors page on-call", "standard",
                          "declaration", "Route tool_error to the pager.", pagers)]
    """)
    result = pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF, "-v")
    result.stdout.fnmatch_lines(["*agent-readiness.yaml::triage-bot::ACME-001 PASSED*"])
    entry = check(scorecard(pytester), "triage-bot", "ACME-001")
    assert (entry["level"], entry["title"]) == ("declared", "Tool errors page on-call")


def test_duplicate_check_ids_are_refused(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    pytester.makeconftest("""
        from pytest_agent_readiness.checks import Check, Finding

        def pytest_readiness_checks(config):
            return [Check("GOV-001", "governance", "Mine", "standard", "declaration", "x",
                          lambda agent, context: Finding.ok("ok"))]
    """)
    result = pytester.runpytest("--readiness", AS_OF)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*two plugins register check GOV-001*"])


def test_scorecard_json_is_deterministic(pytester: pytest.Pytester) -> None:
    copy_example(pytester, READY_EXAMPLE)
    pytester.runpytest_subprocess("--readiness", "--readiness-json=a.json", AS_OF)
    pytester.runpytest_subprocess(
        "--readiness",
        "--readiness-json=b.json",
        AS_OF,
        "-p",
        "randomly",
        "-p",
        "random_order" if False else "randomly",
    )
    first = (pytester.path / "a.json").read_bytes()
    assert first == (pytester.path / "b.json").read_bytes()
    assert json.loads(first)["verdict"] == "ready"
    assert first.decode().endswith("}\n")
    assert list(json.loads(first)) == sorted(json.loads(first))


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(["-p", "no:randomly"], id="serial"),
        pytest.param(["-p", "randomly", "-p", "no:cacheprovider"], id="randomly"),
        pytest.param(["-n", "2"], id="xdist"),
        pytest.param(["--cov=triage_bot", "--cov-report="], id="cov"),
    ],
)
@pytest.mark.parametrize("example", [READY_EXAMPLE, UNREADY_EXAMPLE], ids=lambda p: p.name)
def test_scorecard_is_the_same_with_popular_plugins(
    pytester: pytest.Pytester, example: Path, extra: list[str]
) -> None:
    copy_example(pytester, example)
    baseline = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=base.json", AS_OF, "-p", "no:randomly"
    )
    other = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=other.json", AS_OF, *extra
    )
    assert other.ret == baseline.ret
    assert (pytester.path / "other.json").read_bytes() == (pytester.path / "base.json").read_bytes()


def test_terminal_summary_lists_blockers_with_remediation(pytester: pytest.Pytester) -> None:
    copy_example(pytester, UNREADY_EXAMPLE)
    result = pytester.runpytest_subprocess("--readiness", AS_OF)
    result.stdout.fnmatch_lines(["*fix: Declare kill_switch (mechanism, target, halt_within_s*"])
    assert textwrap.dedent("") == ""


def test_a_manifest_outside_the_rootdir_is_judged_completely(pytester: pytest.Pytester) -> None:
    policy = pytester.path / "policy"
    project = pytester.path / "project"
    shutil.copytree(UNREADY_EXAMPLE / "prompts", policy / "prompts")
    data = yaml.safe_load((UNREADY_EXAMPLE / "agent-readiness.yaml").read_text())
    del data["agents"]["refund-agent"]["adapter"]
    (policy / "agent-readiness.yaml").write_text(yaml.safe_dump(data))
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_x.py").write_text("def test_x():\n    pass\n")
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest",
        str(project),
        "--rootdir",
        str(project),
        "--readiness",
        f"--readiness-manifest={policy / 'agent-readiness.yaml'}",
        AS_OF,
        "-p",
        "no:randomly",
        f"--readiness-json={project / 'card.json'}",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    card = json.loads((project / "card.json").read_text())
    assert card["incomplete"] is False
    # No repository around either directory: the rootdir is the root of last resort.
    assert card["manifest"]["file"] == "../policy/agent-readiness.yaml"


def test_a_check_that_raises_fails_its_items_and_the_run(
    pytester: pytest.Pytester, minimal: dict[str, Any]
) -> None:
    pytester.makeconftest("""
        from pytest_agent_readiness.checks import Check

        def broken(agent, context):
            raise RuntimeError("pager directory unreachable")

        def pytest_readiness_checks(config):
            return [Check("ACME-002", "governance", "Pager on file", "standard",
                          "declaration", "Register the pager.", broken)]
    """)
    result = pytester.runpytest("--readiness", "--readiness-json=scorecard.json", AS_OF)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "ACME-002 Pager on file [[]standard, governance[]] for triage-bot",
            "*: the check raised RuntimeError: pager directory unreachable; fix the check*",
            "VERDICT: NOT READY*",
            "the run is INCOMPLETE, so it cannot be ready:",
            "  - check ACME-002 raised RuntimeError: pager directory unreachable for triage-bot",
        ]
    )
    card = scorecard(pytester)
    assert (card["verdict"], card["incomplete"]) == ("not_ready", True)
    assert check(card, "triage-bot", "ACME-002")["passed"] is False
    # Every other check is still judged on its own.
    assert check(card, "triage-bot", "GOV-001")["passed"] is True
