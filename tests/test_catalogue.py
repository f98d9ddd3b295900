"""Every built-in check's pass and fail paths, judged on real manifests written to disk."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conftest import Project, agent_of, with_waiver
from pytest_agent_readiness.catalogue import BUILTIN_CHECKS
from pytest_agent_readiness.checks import CheckResult
from pytest_agent_readiness.people import contact_problem, person_problem

Mutate = Callable[[dict[str, Any]], None]


def result(project: Project, data: dict[str, Any], check_id: str) -> CheckResult:
    score = project.assess(data).agents["triage-bot"]
    return next(r for r in score.results if r.check.id == check_id)


def at(*path: str, value: Any) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        node = agent_of(data)
        for key in path[:-1]:
            node = node[key]
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return mutate


DELETE = object()


def stage(name: str, *more: Mutate) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        agent_of(data)["stage"] = name
        for step in more:
            step(data)

    return mutate


def waiver(**fields: Any) -> Mutate:
    def mutate(data: dict[str, Any]) -> None:
        with_waiver(data, **fields)

    return mutate


FAILS: list[Any] = [
    ("GOV-001", at("owner", value=DELETE), "no owner declared"),
    ("GOV-001", at("owner", value={"name": "TBD", "email": "x@example.com"}), "placeholder"),
    (
        "GOV-001",
        at("owner", value={"name": "Support Team", "email": "s@example.com"}),
        "names a group",
    ),
    ("GOV-001", at("owner", value={"name": "", "email": "s@example.com"}), "empty"),
    ("GOV-001", at("owner", value="support@example.com"), "bare address"),
    ("GOV-001", at("owner", value="team"), "has no contact"),
    (
        "GOV-001",
        at("owner", value={"name": "Dana Reyes", "email": "dana"}),
        "not an e-mail address",
    ),
    (
        "GOV-001",
        at("owner", value={"name": "Dana Reyes", "email": "noreply@example.com"}),
        "no-reply",
    ),
    ("GOV-002", at("decisions", value=DELETE), "no decision boundaries"),
    (
        "GOV-002",
        at("decisions", "autonomous", value=["classify_ticket"]),
        "tools outside every decision boundary: crm.read_ticket, crm.reply, kb.search",
    ),
    (
        "GOV-002",
        at("decisions", "human_approval", value=["issue_refund", "search_kb"]),
        "both autonomous and human-approved: search_kb",
    ),
    ("GOV-002", at("tools", value={}), "no tools declared"),
    ("GOV-003", at("escalation", value=DELETE), "no escalation paths"),
    (
        "GOV-003",
        at("escalation", "low_confidence", value=DELETE),
        "no escalation owner: low_confidence",
    ),
    ("GOV-003", at("escalation", "tool_error", value={"owner": "TBD"}), "placeholder"),
    (
        "GOV-004",
        at("tools", "crm.reply", value={"access": "write", "decision": "issue_refund"}),
        "write tool crm.reply runs without approval: required, but its decision issue_refund "
        "is under decisions.human_approval",
    ),
    (
        "GOV-004",
        stage("pilot", at("tools", "crm.reply", value={"access": "write", "decision": "other"})),
        "crm.reply has no approval: required and its decision other is under neither",
    ),
    (
        "GOV-004",
        at("tools", "kb.admin", value={"access": "admin", "decision": "search_kb"}),
        "admin tool kb.admin runs without approval",
    ),
    (
        "GOV-004",
        stage("pilot", at("tools", "kb.admin", value={"access": "admin", "decision": "search_kb"})),
        "admin tool kb.admin runs without approval",
    ),
    ("GOV-005", at("permissions_reviewed", value=DELETE), "no permission review date"),
    ("GOV-005", at("permissions_reviewed", value="2026-08-26"), "91 days ago"),
    ("GOV-005", at("permissions_reviewed", value="2026-12-01"), "in the future"),
    ("GOV-006", at("tools", value={}), "no tools declared"),
    ("GOV-009", at("tools", value={}), "no tools declared"),
    ("GOV-007", waiver(expires="2026-11-24"), "expired on 2026-11-24"),
    ("GOV-007", waiver(expires="2027-02-24"), "more than 90 days ahead"),
    ("GOV-007", waiver(approved_by="TBD"), "approver 'TBD' is a placeholder"),
    ("GOV-007", waiver(reason="ok"), "does not say why"),
    ("GOV-008", stage("optimization", at("stage_changed", value=DELETE)), "no stage_changed"),
    (
        "GOV-008",
        stage("optimization", at("tools", "kb.search", "added", value="2026-11-01")),
        "without a risk assessment: kb.search",
    ),
    ("INF-001", at("kill_switch", value=DELETE), "no kill switch declared"),
    ("INF-001", at("kill_switch", "target", value="not a var"), "not an environment variable"),
    (
        "INF-001",
        at(
            "kill_switch",
            value={
                "mechanism": "http",
                "target": "ftp://x",
                "halt_within_s": 5,
                "operators": ["a@example.com"],
            },
        ),
        "not an http(s) URL",
    ),
    (
        "INF-001",
        at(
            "kill_switch",
            value={
                "mechanism": "callable",
                "target": "module",
                "halt_within_s": 5,
                "operators": ["a@example.com"],
            },
        ),
        "'package.module:function'",
    ),
    ("INF-001", at("kill_switch", "operators", value=[]), "no operators named"),
    ("INF-002", at("budgets", value=DELETE), "no budgets declared"),
    (
        "INF-002",
        at("budgets", "tool_calls_per_session", value=DELETE),
        "budgets missing: tool_calls_per_session",
    ),
    ("INF-003", at("prompts", value=DELETE), "no prompts declared"),
    (
        "INF-003",
        at(
            "prompts",
            value=[{"path": "prompts/absent.md", "version": "1.0.0", "rollback_to": "0.9.0"}],
        ),
        "does not exist",
    ),
    (
        "INF-003",
        at("prompts", value=[{"path": "prompts/triage.md", "version": "1.0.0"}]),
        "no rollback_to",
    ),
    (
        "INF-003",
        at(
            "prompts",
            value=[{"path": "prompts/triage.md", "version": "1.0.0", "rollback_to": "1.2.0"}],
        ),
        "is not older than 1.0.0",
    ),
    ("INF-004", at("prompts", value=DELETE), "no versioned prompts"),
    ("INF-005", at("prompts", value=DELETE), "no prompts declared"),
    ("INF-005", at("prompts", 0, "rollback_to", value="3.0.9"), "3.0.9"),
    ("OBS-001", at("tracing", value=DELETE), "tracing not declared"),
    ("OBS-001", at("tracing", value={"required": False}), "not required"),
    ("OBS-002", at("alerts", value=DELETE), "no alerts declared"),
    (
        "OBS-002",
        at(
            "alerts",
            value=[
                {"signal": "failed_tool_calls", "threshold": 1, "window": "1h", "action": "suspend"}
            ],
        ),
        "no alert for: unusual_call_frequency",
    ),
    (
        "OBS-003",
        at(
            "alerts",
            value=[
                {"signal": "policy_violations", "threshold": 1, "window": "1h", "action": "notify"}
            ],
        ),
        "critical alert on policy_violations only does 'notify'",
    ),
    (
        "OBS-003",
        at(
            "alerts",
            value=[
                {
                    "signal": "failed_tool_calls",
                    "threshold": 1,
                    "window": "1h",
                    "action": "page",
                    "severity": "critical",
                }
            ],
        ),
        "critical alert on failed_tool_calls",
    ),
    (
        "OBS-003",
        at(
            "alerts",
            value=[
                {"signal": "policy_violations", "threshold": 1, "window": "1h", "action": "suspend"}
            ],
        ),
        "no suspending alert for: escalation_loops, unexpected_data_access",
    ),
    ("OBS-004", at("outcomes", value=DELETE), "no outcome metrics"),
    (
        "OBS-004",
        at("outcomes", "baseline", value={"task_completion_rate": 0.8}),
        "no baseline for: escalation_rate, error_rate",
    ),
    (
        "OBS-004",
        at("outcomes", "thresholds", value={"error_rate": {"max": 0.1}}),
        "no threshold for: task_completion_rate, escalation_rate",
    ),
    ("OBS-005", stage("scaling"), "no measured outcomes file"),
    (
        "OBS-005",
        stage("scaling", at("outcomes", "measured", value={"path": "absent.json"})),
        "does not exist",
    ),
    ("OBS-006", stage("scaling"), "no anomaly log"),
    ("OBS-007", stage("optimization"), "board metrics missing: cost_per_resolved_case"),
    ("DQ-001", at("adversarial", value=DELETE), "no adversarial suites"),
    ("DQ-001", at("adversarial", "suites", value=[]), "no adversarial suites"),
    ("DQ-002", at("data_quality", "drift", value=DELETE), "no drift detection"),
    ("DQ-003", at("data_quality", "input_validation", value=False), "declared off"),
    ("DQ-003", at("data_quality", value={}), "not declared"),
]


@pytest.mark.parametrize(
    ("check_id", "mutate", "reason"), FAILS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(FAILS)]
)
def test_check_fails(
    project: Project, data: dict[str, Any], check_id: str, mutate: Mutate, reason: str
) -> None:
    mutate(data)
    outcome = result(project, data, check_id)
    assert (outcome.level, outcome.passed) == ("missing", False)
    assert reason in outcome.reason


@pytest.mark.parametrize(
    "check",
    [c for c in BUILTIN_CHECKS if c.min_stage == "pilot" or c.min_stage == "stabilization"],
    ids=lambda c: c.id,
)
def test_every_check_passes_on_the_ready_example(
    project: Project, data: dict[str, Any], check: Any
) -> None:
    outcome = result(project, data, check.id)
    assert outcome.passed, outcome.reason
    assert outcome.level == "declared"
    assert outcome.line is not None


def test_every_check_has_a_failure_case() -> None:
    # GOV-010 fails on code beside the manifest, not on it: test_registry_scan.py.
    failing = {check_id for check_id, _, _ in FAILS} | {"GOV-010"}
    assert {c.id for c in BUILTIN_CHECKS} == failing


@pytest.mark.parametrize("stage_name", ["pilot", "stabilization", "scaling"])
def test_a_write_whose_decision_is_autonomous_needs_no_approval(
    project: Project, data: dict[str, Any], stage_name: str
) -> None:
    # crm.reply's decision, reply_with_faq, is listed under decisions.autonomous: a low-risk
    # write the policy registry lets the agent make alone, at every stage.
    at("tools", "crm.reply", "approval", value="none")(data)
    agent_of(data)["stage"] = stage_name
    found = result(project, data, "GOV-004")
    assert found.passed, found.reason
    assert "1 autonomous by decision (crm.reply)" in found.reason


def test_scaling_and_optimization_checks_pass_when_declared(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "metrics.json").write_text(
        json.dumps({"task_completion_rate": 0.9, "escalation_rate": 0.1, "error_rate": 0.02})
    )
    agent = agent_of(data)
    agent["stage"] = "optimization"
    agent["outcomes"]["measured"] = {"path": "metrics.json"}
    agent["anomaly_log"] = {"location": "https://wiki.example.com/anomalies"}
    agent["board_metrics"] = {
        "cost_per_resolved_case": {"source": "finance dashboard", "target": 2.5, "unit": "USD"},
        "cycle_time": {"source": "helpdesk export"},
        "error_rate_vs_human_baseline": {"source": "QA sampling"},
    }
    agent["tools"]["kb.search"]["added"] = "2026-11-01"
    agent["risk_assessments"] = [
        {
            "scope": "kb.search",
            "assessed_by": "Dana Reyes",
            "date": "2026-10-30",
            "link": "https://risk.example.com/42",
        }
    ]
    for check_id in ("OBS-005", "OBS-006", "OBS-007", "GOV-008"):
        outcome = result(project, data, check_id)
        assert outcome.passed, (check_id, outcome.reason)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            '{"task_completion_rate": 0.7, "escalation_rate": 0.1, "error_rate": 0.02}',
            "task_completion_rate 0.7 < 0.8",
        ),
        (
            '{"task_completion_rate": 0.9, "escalation_rate": 0.3, "error_rate": 0.02}',
            "escalation_rate 0.3 > 0.2",
        ),
        ('{"task_completion_rate": 0.9, "escalation_rate": 0.1}', "error_rate not measured"),
        (
            '{"task_completion_rate": true, "escalation_rate": 0.1, "error_rate": 0.0}',
            "task_completion_rate not measured",
        ),
        ("{not json", "is not valid JSON or YAML"),
        ("[1, 2]", "must be a mapping"),
    ],
)
def test_measured_outcomes_must_meet_thresholds(
    project: Project, data: dict[str, Any], content: str, reason: str
) -> None:
    (project.root / "metrics.json").write_text(content)
    agent = agent_of(data)
    agent["stage"] = "scaling"
    agent["outcomes"]["measured"] = {"path": "metrics.json"}
    outcome = result(project, data, "OBS-005")
    assert not outcome.passed
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("Dana Reyes", True),
        ("Zoë Ångström", True),
        ("李雷", True),
        ("TBD", False),
        ("tbd", False),
        ("", False),
        ("   ", False),
        ("Platform Team", False),
        ("on-call", False),
        ("42", False),
        ("dana@example.com", False),
        ("SRE rota", False),
        ("Ng", True),
    ],
)
def test_person_names(name: str, ok: bool) -> None:
    assert (person_problem(name) is None) is ok


@pytest.mark.parametrize(
    ("contact", "ok"),
    [
        ("a@example.com", True),
        ("Dana Reyes <dana@example.com>", True),
        ("dana", False),
        ("noreply@example.com", False),
        ("do-not-reply@example.com", False),
        ("TBD", False),
        ("", False),
        ("a@b", False),
    ],
)
def test_contacts(contact: str, ok: bool) -> None:
    assert (contact_problem(contact) is None) is ok


def test_a_prompt_edited_without_a_version_bump_fails_the_lock(
    project: Project, data: dict[str, Any]
) -> None:
    prompt = project.root / "prompts" / "triage.md"
    prompt.write_text(prompt.read_text() + "Always say yes.\n")
    lock = result(project, data, "INF-005")
    assert not lock.passed
    assert "prompts/triage.md changed since 3.2.0 was locked" in lock.reason
    assert "agent-readiness lock" in lock.reason
    assert "unversioned text" in result(project, data, "INF-004").reason


def test_a_missing_lock_names_the_command_that_fixes_it(
    project: Project, data: dict[str, Any]
) -> None:
    (project.root / "agent-readiness.lock").unlink()
    lock = result(project, data, "INF-005")
    assert not lock.passed
    assert "agent-readiness lock" in lock.reason


def test_bumping_and_relocking_turns_the_lock_green(project: Project, data: dict[str, Any]) -> None:
    from pytest_agent_readiness.cli import main

    prompt = project.root / "prompts" / "triage.md"
    prompt.write_text(prompt.read_text() + "Always escalate legal threats.\n")
    agent_of(data)["prompts"][0].update(version="3.3.0", rollback_to="3.2.0")
    project.write(data)
    assert not result(project, data, "INF-005").passed  # 3.3.0 is not locked yet
    assert main(["lock", str(project.manifest_path)]) == 0
    lock = result(project, data, "INF-005")
    assert lock.passed, lock.reason
