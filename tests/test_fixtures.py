"""The fixtures a team's own evidence tests use, run in real pytest sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from test_probes import TOY, manifest

pytest_plugins = ["pytester"]


@pytest.fixture
def toy_project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(toy_agent=TOY.read_text(encoding="utf-8"))
    pytester.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(manifest())})
    return pytester


def test_evidence_tests_drive_the_agent_with_the_probes_machinery(
    toy_project: pytest.Pytester,
) -> None:
    toy_project.makepyfile(
        test_evidence="""
        from pathlib import Path

        import pytest
        import toy_agent
        from pytest_agent_readiness.scripted import TurnLimitReached

        @pytest.mark.readiness("INF-002", agent="toy")
        def test_budget(readiness_harness, scripted_model, budget_meter):
            harness = readiness_harness("toy", scripted_model.runaway("docs.read", {"doc": "x"}),
                                        confirm=True)
            toy_agent.handle(harness, toy_agent.Guards(), Path.cwd()).run("go")
            trace = harness.trace()
            assert len(trace.tool_calls()) == 10
            assert budget_meter("toy").problems(trace) == []

        def test_meter_catches_overruns(readiness_harness, scripted_model, budget_meter):
            harness = readiness_harness("toy", scripted_model.runaway("docs.read", {"doc": "x"}),
                                        confirm=True)
            guards = toy_agent.Guards(max_tool_calls=None, max_unconfirmed=None, max_tokens=None)
            with pytest.raises(TurnLimitReached):  # nothing in this agent stops a runaway
                toy_agent.handle(harness, guards, Path.cwd()).run("go")
            problems = budget_meter("toy").problems(harness.trace())
            assert any("over tool_calls_per_session 10" in p for p in problems), problems

        def test_effects_ledger_and_spans(effects_ledger, readiness_spans):
            tracer = readiness_spans.tracer_provider.get_tracer("t")
            with tracer.start_as_current_span(
                "execute_tool docs.read",
                attributes={"gen_ai.operation.name": "execute_tool",
                            "gen_ai.tool.name": "docs.read"},
            ):
                effects_ledger.record("docs.read", {"doc": "faq"}, write=False)
            assert [c.name for c in readiness_spans.snapshot().tool_calls()] == ["docs.read"]
            assert effects_ledger.of("docs.read")[0].arguments == {"doc": "faq"}
    """
    )
    plain = toy_project.runpytest("-p", "no:randomly")
    plain.assert_outcomes(passed=3)
    toy_project.runpytest(
        "--readiness",
        "--readiness-as-of=2026-11-25",
        "-p",
        "no:randomly",
        "--readiness-json=card.json",
    )
    card = json.loads((toy_project.path / "card.json").read_text(encoding="utf-8"))
    budgets = next(c for c in card["agents"]["toy"]["checks"] if c["id"] == "INF-002")
    assert budgets["evidence_sources"]["test_evidence.py::test_budget"] == "test"


def test_kill_switch_fixture_always_releases_the_switch(toy_project: pytest.Pytester) -> None:
    toy_project.makepyfile(
        test_switch="""
        import os

        def test_engaged_then_fails(kill_switch):
            driver = kill_switch("toy")
            driver.engage()
            assert os.environ["TOY_DISABLED"] == "1"
            raise AssertionError("the test fails while the switch is engaged")

        def test_released_afterwards():
            assert "TOY_DISABLED" not in os.environ
    """
    )
    result = toy_project.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    assert "TOY_DISABLED" not in os.environ


def test_fixtures_name_a_missing_kill_switch(toy_project: pytest.Pytester) -> None:
    data = manifest()
    del data["agents"]["toy"]["kill_switch"]
    toy_project.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(data)})
    toy_project.makepyfile(
        test_switch="""
        def test_it(kill_switch):
            kill_switch("toy")
    """
    )
    result = toy_project.runpytest("-p", "no:randomly")
    result.stdout.fnmatch_lines(["*agent 'toy' declares no kill_switch*"])


def test_fixtures_are_inert_without_their_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert Path(pytester.path, "agent-readiness.yaml").exists() is False
    assert "OTEL" not in "".join(os.environ)
