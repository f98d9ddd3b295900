"""The exit status is the verdict: ready exits 0 even when a check that does not block fails;
not ready exits 1; ``--readiness-strict`` makes every failing check fail the run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import READY_EXAMPLE, copy_example

pytest_plugins = ["pytester"]

AS_OF = "--readiness-as-of=2026-11-25"
TOY = Path(__file__).with_name("toy_agent.py")
DECLARED_TOOLS = "agent-readiness.yaml::toy::probe-declared-tools"


def gate(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest_subprocess(
        "--readiness", "--readiness-json=card.json", AS_OF, "-p", "no:randomly", "-ra", *args
    )
    card: dict[str, Any] = json.loads((pytester.path / "card.json").read_text(encoding="utf-8"))
    return result, card


def check(card: dict[str, Any], agent: str, check_id: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(c for c in card["agents"][agent]["checks"] if c["id"] == check_id)
    return entry


@pytest.fixture
def one_standard_check_off(pytester: pytest.Pytester) -> pytest.Pytester:
    """The ready example with input validation declared off: DQ-003 (standard) fails, 19/20."""
    copy_example(pytester, READY_EXAMPLE)
    manifest = pytester.path / "agent-readiness.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "input_validation: true" in text
    manifest.write_text(text.replace("input_validation: true", "input_validation: false"))
    return pytester


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_failing_check_that_does_not_block_is_shown_not_fatal(
    one_standard_check_off: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    result, card = gate(one_standard_check_off, "--readiness-report=markdown=card.md", *workers)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "VERDICT: READY (19/20)",
            "failing checks (not blocking: the verdict is READY):",
            "*triage-bot DQ-003 ?standard? agent-readiness.yaml:*: input validation is declared*",
            "XFAIL agent-readiness.yaml::triage-bot::DQ-003 - not blocking*: DQ-003: input "
            "validation is declared off",
        ]
    )
    assert "FAILED" not in result.stdout.str()
    assert card["verdict"] == "ready"
    assert check(card, "triage-bot", "DQ-003")["passed"] is False
    markdown = (one_standard_check_off.path / "card.md").read_text(encoding="utf-8")
    assert re.search(r"standard, not blocking · \*\*DQ-003\*\*", markdown), markdown


@pytest.mark.parametrize("how", [("--readiness-strict",), ("-o", "readiness_strict=true")])
def test_strict_fails_the_run_on_every_failing_check(
    one_standard_check_off: pytest.Pytester, how: tuple[str, ...]
) -> None:
    result, card = gate(one_standard_check_off, *how)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert card["verdict"] == "ready"
    result.stdout.fnmatch_lines(
        ["VERDICT: READY (19/20)", "FAILED agent-readiness.yaml::triage-bot::DQ-003*"]
    )


def test_not_ready_still_exits_1_and_fails_its_checks(pytester: pytest.Pytester) -> None:
    copy_example(pytester, READY_EXAMPLE)
    manifest = pytester.path / "agent-readiness.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    data["gate"] = {"min_total": 20, "min_dimension": 5}
    data["agents"]["triage-bot"]["data_quality"]["input_validation"] = False
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result, card = gate(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert card["verdict"] == "not_ready"
    result.stdout.fnmatch_lines(
        [
            "failing checks:",
            "FAILED agent-readiness.yaml::triage-bot::DQ-003*",
            "FAILED agent-readiness.yaml::gate*",
        ]
    )
    assert "not blocking" not in result.stdout.str()


def toy_project(pytester: pytest.Pytester, *, stage: str = "stabilization") -> None:
    """The toy agent and a manifest declaring one tool the agent lacks, under a gate that bears
    any failing check: the declared-tools probe fails (GOV-006) and the verdict is still ready."""
    pytester.makepyfile(toy_agent=TOY.read_text(encoding="utf-8"))
    manifest = {
        "version": 1,
        "project": "toy",
        "gate": {"min_total": 4, "min_dimension": 1},
        "agents": {
            "toy": {
                "owner": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "stage": stage,
                "adapter": "toy",
                "decisions": {
                    "autonomous": ["docs.read", "docs.search"],
                    "human_approval": ["tickets.update"],
                },
                "tools": {
                    "docs.read": {"access": "read"},
                    "docs.search": {"access": "read"},
                    "tickets.update": {"access": "write", "approval": "required"},
                },
            }
        },
    }
    pytester.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(manifest)})
    pytester.makeconftest("""
        from pathlib import Path

        import toy_agent
        from pytest_agent_readiness import adapter

        @adapter("toy")
        def toy(harness):
            # The toy's notification and refund tools are not in this manifest's scope.
            guards = toy_agent.Guards(missing_tools=("customers.notify", "payments.refund"))
            return toy_agent.handle(harness, guards, Path(__file__).parent)
    """)


@pytest.mark.parametrize(
    "args",
    [(), ("-n", "2"), ("--readiness-shard", "1/1")],
    ids=["serial", "xdist", "shard"],
)
def test_a_failing_probe_behind_a_check_that_does_not_block_exits_0(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    toy_project(pytester)
    result, card = gate(pytester, *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    # The probe's failure is still shown in full, and the summary says why the run passes.
    result.stdout.fnmatch_lines(
        [
            "*GOV-006 run-time probe for toy failed:*",
            "exit status 0: *; 1 failed probe/case item did not block the gate "
            "(--readiness-strict fails the run on them):",
            f"  not blocking: {DECLARED_TOOLS}",
            f"FAILED {DECLARED_TOOLS}*",
        ]
    )
    if "--readiness-shard" not in args:
        assert card["verdict"] == "ready"
        assert check(card, "toy", "GOV-006")["passed"] is False
        result.stdout.fnmatch_lines(["XFAIL agent-readiness.yaml::toy::GOV-006 - not blocking*"])


def test_strict_fails_the_run_on_a_failing_probe(pytester: pytest.Pytester) -> None:
    toy_project(pytester)
    result, card = gate(pytester, "--readiness-strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert card["verdict"] == "ready"
    assert "exit status 0" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        [f"FAILED {DECLARED_TOOLS}*", "FAILED agent-readiness.yaml::toy::GOV-006*"]
    )


def test_strict_leaves_a_pilot_unblocked(pytester: pytest.Pytester) -> None:
    toy_project(pytester, stage="pilot")
    result, _ = gate(pytester, "--readiness-strict")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "exit status 0: *; 1 failed probe/case item did not block the gate (a pilot never "
            "blocks):",
            "XFAIL agent-readiness.yaml::toy::GOV-006 - pilot, not gated*",
        ]
    )


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_projects_own_failing_test_still_fails_a_ready_run(
    pytester: pytest.Pytester, workers: tuple[str, ...]
) -> None:
    toy_project(pytester)
    pytester.makepyfile(test_own="def test_own():\n    assert 1 == 2\n")
    result, card = gate(pytester, *workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert card["verdict"] == "ready"
    assert "exit status 0" not in result.stdout.str()
    result.stdout.fnmatch_lines(["FAILED test_own.py::test_own*"])


def test_a_failing_evidence_test_still_fails_a_ready_run(
    one_standard_check_off: pytest.Pytester,
) -> None:
    one_standard_check_off.makepyfile(
        **{
            "tests/test_evidence": """
        import pytest

        @pytest.mark.readiness("GOV-005", agent="triage-bot")
        def test_reviewed():
            assert False, "the review is overdue"
        """
        }
    )
    result, card = gate(one_standard_check_off)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert card["verdict"] == "ready"
    assert check(card, "triage-bot", "GOV-005")["passed"] is False
    result.stdout.fnmatch_lines(["FAILED tests/test_evidence.py::test_reviewed*"])


@pytest.mark.parametrize(
    ("args", "header"),
    [
        ((), "collected 170 items"),
        (("-k", "not DQ"), "collected 170 items / 3 deselected / 167 selected"),
        (("--readiness-shard", "1/2"), "collected 83 items"),
        (
            ("-n", "2"),
            "agent-readiness: + 22 check and gate items judged after the workers: 170 items",
        ),
    ],
    ids=["serial", "deselected", "shard", "xdist"],
)
def test_the_collected_count_is_what_runs(
    pytester: pytest.Pytester, args: tuple[str, ...], header: str
) -> None:
    copy_example(pytester, READY_EXAMPLE)
    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-p", "no:randomly", *args)
    result.stdout.fnmatch_lines([header])
    outcomes = result.parseoutcomes()
    ran = sum(outcomes.get(key, 0) for key in ("passed", "failed", "xfailed", "skipped"))
    total = int(re.findall(r"(\d+) items", header)[-1])
    selected = re.findall(r"(\d+) selected", header)
    assert ran == int(selected[0]) if selected else ran == total, result.stdout.str()


def test_an_incomplete_run_with_only_non_blocking_failures_still_exits_1(
    pytester: pytest.Pytester,
) -> None:
    toy_project(pytester)
    result, card = gate(pytester, "-k", "not DQ-003")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (card["verdict"], card["incomplete"]) == ("not_ready", True)
    assert "exit status 0" not in result.stdout.str()
    result.stdout.fnmatch_lines([f"FAILED {DECLARED_TOOLS}*"])
