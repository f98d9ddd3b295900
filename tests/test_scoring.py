"""Scoring as DESIGN.md states it, the gate's two rules at their boundaries, waivers, stages."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import TODAY, Project, agent_of, registry, with_waiver
from pytest_agent_readiness.checks import Check, CheckRegistry, CheckResult, Evidence, Finding
from pytest_agent_readiness.model import DIMENSIONS
from pytest_agent_readiness.scorecard import build_scorecard, dumps
from pytest_agent_readiness.scoring import assess, dimension_scores


def _fixed(declared: bool) -> Any:
    def evaluate(agent: Any, context: Any) -> Finding:
        return Finding(declared, "fixed", ("agents", agent.name))

    return evaluate


def registry_scoring(*scores: int, critical_fail: str | None = None) -> CheckRegistry:
    """Four standard declaration checks per dimension: a dimension scores 1 + declared ones."""
    checks = CheckRegistry()
    for dimension, score in zip(DIMENSIONS, scores, strict=True):
        prefix = {
            "governance": "G",
            "infrastructure": "I",
            "observability": "O",
            "data_quality": "D",
        }[dimension]
        for index in range(4):
            checks.add(
                Check(
                    f"{prefix}-00{index}",
                    dimension,
                    "t",
                    "standard",
                    "declaration",
                    "fix",
                    _fixed(index < score - 1),
                )
            )
        if critical_fail == dimension:
            checks.add(
                Check(
                    f"{prefix}-009",
                    dimension,
                    "crit",
                    "critical",
                    "declaration",
                    "fix",
                    _fixed(False),
                    weight=1,
                )
            )
    return checks


@pytest.mark.parametrize(
    ("scores", "ready", "failure"),
    [
        ((5, 3, 3, 3), True, None),
        ((4, 3, 3, 3), False, "total 13 is under min_total 14"),
        ((5, 5, 4, 3), True, None),
        ((5, 5, 5, 2), False, "data_quality 2 is under min_dimension 3"),
        ((2, 5, 5, 5), False, "governance 2 is under min_dimension 3"),
        ((5, 5, 5, 5), True, None),
        ((1, 1, 1, 1), False, "total 4 is under min_total 14"),
    ],
)
def test_gate_rules_at_their_boundaries(
    project: Project, scores: tuple[int, ...], ready: bool, failure: str | None
) -> None:
    assessment = assess(project.load(), registry_scoring(*scores), [], today=TODAY)
    assert tuple(assessment.verdict.dimensions.values()) == scores
    assert assessment.verdict.total == sum(scores)
    assert assessment.verdict.ready is ready
    if failure:
        assert any(f.startswith(failure) for f in assessment.verdict.failures), (
            assessment.verdict.failures
        )


def test_gate_thresholds_come_from_the_manifest(project: Project, data: dict[str, Any]) -> None:
    data["gate"] = {"min_total": 18, "min_dimension": 4}
    manifest = project.load(data)
    verdict = assess(manifest, registry_scoring(5, 5, 4, 3), [], today=TODAY).verdict
    assert not verdict.ready
    assert "total 17 is under min_total 18" in verdict.failures[0]
    assert any("data_quality 3 is under min_dimension 4" in f for f in verdict.failures)


def test_failing_critical_check_caps_its_dimension(project: Project) -> None:
    verdict = assess(
        project.load(), registry_scoring(5, 5, 5, 5, critical_fail="governance"), [], today=TODAY
    ).verdict
    assert verdict.dimensions["governance"] == 2
    assert not verdict.ready
    assert "G-009 (failed)" in verdict.failures[-1]


def _result(check: Check, level: str, passed: bool = True) -> CheckResult:
    return CheckResult(check, "a", level, passed, "r", None, "")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        (["missing"] * 4, 1),
        (["declared"] * 4, 3),  # runtime controls declared but unproven: half marks
        (["proven"] * 4, 5),
        (["proven", "proven", "proven", "declared"], 4),  # 7/8 -> 1 + 3.5 -> 4
        (["proven", "declared", "declared", "missing"], 3),  # 4/8 -> 3
        (["declared", "missing", "missing", "missing"], 1),  # 1/8 -> 1.5 -> 1
        (["declared", "declared", "missing", "missing"], 2),  # 2/8 -> 2
    ],
)
def test_score_formula(levels: list[str], expected: int) -> None:
    checks = [
        Check(f"X-00{i}", "governance", "t", "standard", "runtime", "f", _fixed(True))
        for i in range(4)
    ]
    results = [
        _result(c, level, level != "missing") for c, level in zip(checks, levels, strict=True)
    ]
    assert dimension_scores(results)["governance"] == expected


def test_declaration_checks_have_full_marks_at_declared() -> None:
    check = Check("X-001", "governance", "t", "critical", "declaration", "f", _fixed(True))
    assert (check.weight, check.max_points) == (2, 2)
    assert _result(check, "declared").points == _result(check, "proven").points == 2
    runtime = Check("X-002", "governance", "t", "critical", "runtime", "f", _fixed(True))
    assert (runtime.max_points, _result(runtime, "declared").points) == (4, 2)


def test_all_declared_none_proven_is_not_ready(project: Project) -> None:
    verdict = project.assess().verdict
    assert verdict.dimensions == {
        "governance": 3,
        "infrastructure": 3,
        "observability": 3,  # OBS-001 and OBS-003 are run-time checks: half marks declared
        "data_quality": 3,
    }
    assert not verdict.ready
    assert verdict.failures[0].startswith("total 12 is under min_total 14")


RUNTIME = (
    *("GOV-003", "GOV-004", "GOV-006", "GOV-009"),
    *("INF-001", "INF-002", "INF-004", "OBS-001", "OBS-003", "DQ-001"),
)


def proof(*check_ids: str, outcome: str = "passed") -> list[Evidence]:
    return [Evidence(f"tests/test_x.py::test_{c}", c, "triage-bot", outcome) for c in check_ids]


def test_passing_tests_prove_runtime_controls(project: Project) -> None:
    assessment = project.assess(evidence=proof(*RUNTIME))
    assert assessment.verdict.ready
    assert assessment.verdict.total == 20
    results = {r.check.id: r for r in assessment.agents["triage-bot"].results}
    assert results["INF-001"].level == "proven"
    assert results["INF-001"].evidence == ("tests/test_x.py::test_INF-001",)
    assert results["GOV-001"].level == "declared"


def test_a_failing_test_fails_its_check(project: Project) -> None:
    evidence = [*proof(*RUNTIME), *proof("INF-001", outcome="failed")]
    assessment = project.assess(evidence=evidence)
    result = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "INF-001")
    assert (result.level, result.passed) == ("declared", False)
    assert "tests/test_x.py::test_INF-001 failed" in result.reason
    assert assessment.verdict.dimensions["infrastructure"] == 2
    assert not assessment.verdict.ready


def test_skipped_tests_prove_nothing(project: Project) -> None:
    assessment = project.assess(evidence=proof(*RUNTIME, outcome="skipped"))
    assert not assessment.verdict.ready
    assert all(r.level != "proven" for r in assessment.agents["triage-bot"].results)


def test_a_passing_test_cannot_prove_an_undeclared_control(
    project: Project, data: dict[str, Any]
) -> None:
    del agent_of(data)["kill_switch"]
    assessment = project.assess(data, evidence=proof("INF-001"))
    result = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "INF-001")
    assert (result.level, result.passed) == ("missing", False)
    assert "cannot prove an undeclared control" in result.reason


def test_valid_waiver_counts_as_declared(project: Project, data: dict[str, Any]) -> None:
    del agent_of(data)["data_quality"]["drift"]
    assessment = project.assess(with_waiver(data), evidence=proof(*RUNTIME))
    result = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "DQ-002")
    assert (result.level, result.passed) == ("declared", True)
    assert result.waiver == {
        "approved_by": "Dana Reyes",
        "expires": "2026-12-31",
        "reason": "drift tooling lands in Q1",
    }
    assert [w.status for w in assessment.waivers] == ["applied"]
    assert assessment.verdict.ready


def test_waiver_never_proves(project: Project, data: dict[str, Any]) -> None:
    del agent_of(data)["kill_switch"]
    assessment = project.assess(with_waiver(data, check="INF-001"), evidence=proof(*RUNTIME))
    result = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "INF-001")
    assert (result.level, result.passed, result.points) == ("declared", True, 2)


def test_expired_waiver_fails_the_gate(project: Project, data: dict[str, Any]) -> None:
    del agent_of(data)["data_quality"]["drift"]
    assessment = project.assess(with_waiver(data, expires="2026-11-20"), evidence=proof(*RUNTIME))
    assert [w.status for w in assessment.waivers] == ["expired"]
    assert not assessment.verdict.ready
    assert any(
        "waiver for DQ-002 on triage-bot expired on 2026-11-20" in f
        for f in assessment.verdict.failures
    )


def test_waiver_expiring_within_14_days_warns(project: Project, data: dict[str, Any]) -> None:
    del agent_of(data)["data_quality"]["drift"]
    assessment = project.assess(with_waiver(data, expires="2026-12-09"), evidence=proof(*RUNTIME))
    assert [w.status for w in assessment.waivers] == ["expiring"]
    assert assessment.verdict.ready
    assert any("expires 2026-12-09 (14 days)" in w for w in assessment.warnings)


def test_waiver_without_a_named_approver_is_invalid(project: Project, data: dict[str, Any]) -> None:
    del agent_of(data)["data_quality"]["drift"]
    assessment = project.assess(with_waiver(data, approved_by="TBD"), evidence=proof(*RUNTIME))
    assert [w.status for w in assessment.waivers] == ["invalid"]
    results = {r.check.id: r for r in assessment.agents["triage-bot"].results}
    assert not results["DQ-002"].passed
    assert not results["GOV-007"].passed


def test_waiver_for_a_passing_check_is_stale(project: Project, data: dict[str, Any]) -> None:
    assessment = project.assess(with_waiver(data), evidence=proof(*RUNTIME))
    assert [w.status for w in assessment.waivers] == ["stale"]
    assert any("now passes" in w for w in assessment.warnings)


@pytest.mark.parametrize(
    ("stage", "lifted"), [("stabilization", True), ("scaling", False), ("optimization", False)]
)
def test_no_waiver_lifts_a_critical_check_past_stabilization(
    project: Project, data: dict[str, Any], stage: str, lifted: bool
) -> None:
    agent_of(data)["stage"] = stage
    del agent_of(data)["kill_switch"]
    assessment = project.assess(with_waiver(data, check="INF-001"))
    result = next(r for r in assessment.agents["triage-bot"].results if r.check.id == "INF-001")
    assert result.passed is lifted
    assert [w.status for w in assessment.waivers] == (["applied"] if lifted else ["not_applicable"])


def test_pilot_is_scored_but_never_blocks(project: Project, data: dict[str, Any]) -> None:
    agent = agent_of(data)
    agent["stage"] = "pilot"
    del agent["kill_switch"], agent["owner"]
    assessment = project.assess(data)
    assert assessment.verdict.ready
    assert assessment.agents["triage-bot"].dimensions["infrastructure"] == 2
    assert any("every agent is a pilot" in w for w in assessment.warnings)


def test_pilot_does_not_drag_the_project_down(project: Project, data: dict[str, Any]) -> None:
    pilot = dict(agent_of(data))
    pilot = {"stage": "pilot", "tools": {"x.read": {"access": "read"}}}
    data["agents"]["sandbox"] = pilot
    assessment = project.assess(data, evidence=proof(*RUNTIME))
    assert assessment.agents["sandbox"].dimensions["governance"] < 3
    assert assessment.verdict.ready


@pytest.mark.parametrize(
    ("stage", "added"),
    [
        ("pilot", set()),
        ("stabilization", {"OBS-004"}),
        ("scaling", {"OBS-004", "OBS-005", "OBS-006"}),
        ("optimization", {"OBS-004", "OBS-005", "OBS-006", "OBS-007", "GOV-008"}),
    ],
)
def test_each_stage_adds_its_requirements(
    project: Project, data: dict[str, Any], stage: str, added: set[str]
) -> None:
    agent_of(data)["stage"] = stage
    ids = {r.check.id for r in project.assess(data).agents["triage-bot"].results}
    stage_specific = {"OBS-004", "OBS-005", "OBS-006", "OBS-007", "GOV-008"}
    assert ids & stage_specific == added


def test_stabilization_requires_code_enforced_approval(
    project: Project, data: dict[str, Any]
) -> None:
    agent_of(data)["tools"]["crm.reply"]["approval"] = "none"
    agent_of(data)["decisions"]["human_approval"].append("reply_with_faq")
    agent_of(data)["decisions"]["autonomous"].remove("reply_with_faq")
    for stage, passed in (("pilot", True), ("stabilization", False)):
        agent_of(data)["stage"] = stage
        results = {r.check.id: r for r in project.assess(data).agents["triage-bot"].results}
        assert results["GOV-004"].passed is passed


def test_promotion_blockers_name_the_next_stage_requirements(project: Project) -> None:
    score = project.assess(evidence=proof(*RUNTIME)).agents["triage-bot"]
    assert [r.check.id for r in score.promotion_blockers] == ["OBS-005", "OBS-006"]


def test_same_inputs_same_scorecard_bytes(project: Project) -> None:
    first = dumps(build_scorecard(project.assess(evidence=proof(*RUNTIME))))
    second = dumps(build_scorecard(project.assess(evidence=list(reversed(proof(*RUNTIME))))))
    assert first == second


def test_incomplete_run_is_never_ready(project: Project) -> None:
    assessment = assess(
        project.load(),
        registry(),
        proof(*RUNTIME),
        today=TODAY,
        incomplete_reasons=["the run was interrupted"],
    )
    assert not assessment.verdict.ready
    assert assessment.verdict.failures == ("the run is incomplete: the run was interrupted",)


def _probe_failure(nodeid: str, message: str, check: str = "OBS-001") -> Evidence:
    return Evidence(
        f"agent-readiness.yaml::triage-bot::{nodeid}",
        check,
        "triage-bot",
        "failed",
        "probe",
        message,
    )


def _reason(assessment: Any, check_id: str) -> CheckResult:
    return next(r for r in assessment.agents["triage-bot"].results if r.check.id == check_id)


def test_every_distinct_piece_of_failing_evidence_is_named_once(project: Project) -> None:
    # Three probes saw the same effect with no span, one saw another: two pieces, each once,
    # with every node id that saw it.
    seen = "crm.reply acted with no execute_tool span around it (once)"
    evidence = [
        *proof(*RUNTIME),
        _probe_failure("probe-tracing", seen),
        _probe_failure("probe-approval", seen),
        _probe_failure("probe-approval", seen),
        _probe_failure("probe-budget-tool-calls", "kb.search acted with no execute_tool span"),
        _probe_failure("probe-escalation-tool-error", seen),
    ]
    reason = _reason(project.assess(evidence=evidence), "OBS-001").reason
    base = "agent-readiness.yaml::triage-bot::probe-"
    assert reason.endswith(
        f"; but {base}approval, {base}escalation-tool-error, {base}tracing failed: {seen}; "
        f"{base}budget-tool-calls failed: kb.search acted with no execute_tool span"
    ), reason
    assert reason.count(seen) == 1


def test_failing_evidence_reads_the_same_in_any_order(project: Project) -> None:
    evidence = [
        *proof(*RUNTIME),
        _probe_failure("probe-a", "first"),
        _probe_failure("probe-b", "second"),
        _probe_failure("probe-b", "first"),
    ]
    forward = dumps(build_scorecard(project.assess(evidence=evidence)))
    backward = dumps(build_scorecard(project.assess(evidence=list(reversed(evidence)))))
    assert forward == backward


def test_run_time_evidence_is_kept_when_the_manifest_already_fails(
    project: Project, data: dict[str, Any]
) -> None:
    agent_of(data)["tracing"] = {"required": False}
    evidence = [_probe_failure("probe-approval", "crm.reply acted with no execute_tool span")]
    result = _reason(project.assess(data, evidence=evidence), "OBS-001")
    assert (result.level, result.passed) == ("missing", False)
    assert "and at run time agent-readiness.yaml::triage-bot::probe-approval failed: crm.reply" in (
        result.reason
    )
