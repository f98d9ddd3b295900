"""Every bundled example, run the way a user runs it: `pytest --readiness` in its folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _examples import run_example


def levels(card: dict[str, Any], agent: str) -> dict[str, str]:
    return {c["id"]: c["level"] for c in card["agents"][agent]["checks"]}


# Every alert signal the harness can produce, each proven by its own probe in both examples.
ALERT_PROBES = tuple(
    f"probe-alert-{signal}"
    for signal in (
        "failed_tool_calls",
        "unusual_call_frequency",
        "unexpected_data_access",
        "escalation_loops",
        "policy_violations",
    )
)


def assert_alerts_proven(card: dict[str, Any], agent: str) -> None:
    entry = next(c for c in card["agents"][agent]["checks"] if c["id"] == "OBS-003")
    assert entry["level"] == "proven", entry["reason"]
    assert sorted(entry["evidence"]) == sorted(
        f"agent-readiness.yaml::{agent}::{probe}" for probe in ALERT_PROBES
    )


def test_support_triage_is_ready_and_proven_at_run_time(tmp_path: Path) -> None:
    result, card = run_example("support-triage", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert card["verdict"] == "ready"
    proven = levels(card, "triage-bot")
    for check_id in ("GOV-003", "GOV-004", "GOV-006", "GOV-009", "INF-001", "INF-002", "OBS-001"):
        assert proven[check_id] == "proven", check_id
        entry = next(c for c in card["agents"]["triage-bot"]["checks"] if c["id"] == check_id)
        assert "probe" in entry["evidence_sources"].values(), check_id
    assert_alerts_proven(card, "triage-bot")


def test_pydantic_ai_refunds_is_ready_with_proven_levels(tmp_path: Path) -> None:
    """The well-built agent: an autonomous notification write beside two approval-gated refund
    tools, a confirmation hold on writes only, denied approvals escalated as policy_violation."""
    pytest.importorskip("pydantic_ai", reason="the PydanticAI example needs pydantic-ai-slim")
    result, card = run_example("pydantic-ai-refunds", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert card["verdict"] == "ready"
    checks = {c["id"]: c for c in card["agents"]["refund-agent"]["checks"]}
    assert [check_id for check_id, c in checks.items() if not c["passed"]] == []
    for check_id in ("INF-001", "INF-002", "GOV-003", "GOV-004", "OBS-001", "GOV-006", "GOV-009"):
        assert checks[check_id]["level"] == "proven", (check_id, checks[check_id]["reason"])
        assert "probe" in checks[check_id]["evidence_sources"].values(), check_id
    probes = " ".join(checks["INF-002"]["evidence"])
    for probe in ("budget-sequential-actions", "budget-approved-tool-calls", "budget-tokens"):
        assert probe in probes, probe
    assert "probe-escalation-policy-violation" in " ".join(checks["GOV-003"]["evidence"])
    assert_alerts_proven(card, "refund-agent")


def test_broken_kill_switch_is_caught_with_what_the_agent_did(tmp_path: Path) -> None:
    result, card = run_example("broken-kill-switch", tmp_path)
    assert result.returncode == 1
    assert card["verdict"] == "not_ready"
    entry = next(c for c in card["agents"]["ops-agent"]["checks"] if c["id"] == "INF-001")
    assert entry["passed"] is False
    assert (
        "after the env switch OPS_AGENT_DISABLED was engaged the agent started" in entry["reason"]
    )
    assert "status.read x" in entry["reason"]
    assert "infrastructure 2 is under min_dimension 3" in " ".join(card["gate"]["failures"])
    # Everything else about the agent holds: the one broken control is what blocks it.
    others = [
        c for c in card["agents"]["ops-agent"]["checks"] if not c["passed"] and c["id"] != "INF-001"
    ]
    assert others == []


def test_unready_pilot_is_blocked_for_the_right_reasons(tmp_path: Path) -> None:
    result, card = run_example("unready-pilot", tmp_path)
    assert result.returncode == 1
    failing = {c["id"] for c in card["agents"]["refund-agent"]["checks"] if not c["passed"]}
    assert {"GOV-001", "INF-001", "INF-002"} <= failing
    assert "VERDICT: NOT READY" in result.stdout
