"""The well-built refund agent on the OpenAI Agents SDK, declared honestly, is READY.

The agent (`tests/frameworks/agents_sdk/refund_desk.py`) is written the way an Agents SDK user
writes it: `function_tool(needs_approval=True)` on both refund tools, run hooks for the kill
switch and the budgets the SDK lacks, every approval round inside one `agents.trace`. The glue
(`adapter.py`, run as the project's `conftest.py`) replays the harness's scripted model as an
`agents.Model` and instruments OpenInference once per process. Everything runs offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _examples import run_project

pytest.importorskip("agents", reason="needs openai-agents")
pytest.importorskip("openinference.instrumentation.openai_agents", reason="needs OpenInference")

PROJECT = Path(__file__).parent / "frameworks" / "agents_sdk"
MOVES = {"adapter.py": "tests/conftest.py", "regression_tests.py": "tests/test_refund_desk.py"}
RUN_TIME_CHECKS = ("INF-001", "INF-002", "GOV-003", "GOV-004", "OBS-001", "GOV-006", "GOV-009")


def checks_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in card["agents"]["refund-agent"]["checks"]}


def test_agents_sdk_refund_desk_is_ready_with_every_control_proven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a key set, the SDK's default processor would export traces to OpenAI.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result, card = run_project(PROJECT, tmp_path, moves=MOVES)
    assert result.returncode == 0, result.stdout[-3000:]
    assert card["verdict"] == "ready"
    checks = checks_of(card)
    assert [check_id for check_id, check in checks.items() if not check["passed"]] == []
    for check_id in RUN_TIME_CHECKS:
        assert checks[check_id]["level"] == "proven", (check_id, checks[check_id]["reason"])
    # 12 approved refunds leave 24 tool spans (one at each pause, one at each run): the
    # approved-call budget holds only if each call counts once, when it ran.
    assert "probe-budget-approved-tool-calls" in " ".join(checks["INF-002"]["evidence"])
    assert "test_refund_desk.py" in " ".join(checks["INF-004"]["evidence"])
