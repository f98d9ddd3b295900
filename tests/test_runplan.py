"""What a run expects, why it is incomplete, what a mark may say: plain data, no pytest run."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Project, registry
from pytest_agent_readiness.adversarial import BUILTIN_SUITES, SuiteCatalogue
from pytest_agent_readiness.evidence import load_suites
from pytest_agent_readiness.marks import adversarial_mark_problem, readiness_mark_problem
from pytest_agent_readiness.runplan import (
    RunCounts,
    RunPlan,
    in_shard,
    incomplete_reasons,
    planned_checks,
)

NODEIDS = [f"m.yaml::bot::probe-{n}" for n in "abcdefg"]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 9])
def test_shards_split_the_items_into_disjoint_shares_that_cover_them(count: int) -> None:
    shares = [in_shard(NODEIDS, (index, count)) for index in range(1, count + 1)]
    assert sorted(n for share in shares for n in share) == sorted(NODEIDS)


def test_an_unsharded_run_expects_every_check_and_the_gate(project: Project) -> None:
    manifest = project.load()
    suites = load_suites(manifest, "agent-readiness.yaml")
    plan = RunPlan(manifest, registry(), suites, "agent-readiness.yaml")
    expected = plan.expected_nodeids(None)
    checks = planned_checks(manifest, registry())
    assert {f"agent-readiness.yaml::{a}::{c.id}" for a, c in checks} < expected
    assert "agent-readiness.yaml::gate" in expected
    # A shard judges no checks and no gate: only the items that drive the agent.
    driven = plan.driven_nodeids()
    assert driven and driven < expected
    assert plan.expected_nodeids((1, 1)) == driven


def test_the_built_in_suites_a_manifest_does_not_declare_are_not_parsed(
    project: Project,
) -> None:
    text = project.manifest_path.read_text(encoding="utf-8")
    every = f"suites: [{', '.join(sorted(BUILTIN_SUITES, key=text.index))}]"
    assert every in text
    project.manifest_path.write_text(
        text.replace(every, "suites: [tool_misuse, jailbreak]"), encoding="utf-8"
    )
    manifest = project.load()
    suites = load_suites(manifest, "agent-readiness.yaml")
    assert isinstance(suites, SuiteCatalogue)
    assert suites.parsed == {"tool_misuse", "jailbreak"}
    # Every built-in suite is still known by name (marks and messages list them all).
    assert list(suites) == list(BUILTIN_SUITES)


def test_incomplete_reasons_name_each_gap_in_order(project: Project) -> None:
    manifest = project.load()
    counts = RunCounts(
        timed_out=("b timed out", "a timed out"),
        interrupted=True,
        collection_errors=2,
        evidence_deselected=1,
        missing=frozenset({"x::gate"}),
    )
    assert incomplete_reasons(manifest, project.manifest_path, counts) == [
        "a timed out",
        "b timed out",
        "the run was interrupted",
        "2 collection error(s)",
        "1 evidence test(s) deselected (-k/-m): a filtered run cannot certify readiness",
        "1 readiness check(s) did not run (e.g. x::gate)",
    ]


def test_a_changed_manifest_makes_the_run_incomplete(project: Project, tmp_path: Path) -> None:
    manifest = project.load()
    project.manifest_path.write_text(project.manifest_path.read_text() + "\n# edited\n")
    reasons = incomplete_reasons(manifest, project.manifest_path, RunCounts())
    assert reasons == [f"the manifest {manifest.path} changed during the run"]


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [
        (("GOV-001",), {}, None),
        ((), {}, "expected @pytest.mark.readiness('CHECK-ID', agent='name')"),
        (("GOV-001",), {"agnet": "x"}, "unexpected argument 'agnet'; expected only agent="),
        (("NOPE-1",), {}, "unknown check 'NOPE-1'"),
        (("GOV-001",), {"agent": "nobody"}, "unknown agent 'nobody'"),
    ],
)
def test_readiness_mark_problems(
    project: Project, args: tuple[object, ...], kwargs: dict[str, object], problem: str | None
) -> None:
    found = readiness_mark_problem(args, kwargs, registry().checks, project.load())
    assert (found is None) if problem is None else (found or "").startswith(problem)


def test_adversarial_mark_names_the_known_suites(project: Project) -> None:
    found = adversarial_mark_problem((), {"suite": "nope"}, {"a": 1, "b": 2}, project.load())
    assert found == "unknown suite 'nope' (valid: a, b)"
