"""The well-built refund agent on LangGraph, declared honestly, is READY.

The agent (`tests/frameworks/langgraph/refund_graph.py`) is written the way a LangChain user
writes it: `create_agent` with `HumanInTheLoopMiddleware` and a checkpointer for approvals,
`ToolCallLimitMiddleware(thread_limit=...)` for the session's tool calls, middleware for the
kill switch, the token budget and the confirmation hold. Its adapter (`adapter.py`, run as the
project's `conftest.py`) is on the LangGraph integration: `harness.langchain_model()` and
`langgraph_handle(..., run=graph.run, record_effects=False)`, the agent answering its own
interrupts and its test doubles recording their actions. Everything runs offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _examples import run_project

pytest.importorskip("langchain.agents", reason="needs langchain and langgraph")
pytest.importorskip("openinference.instrumentation.langchain", reason="needs OpenInference")

PROJECT = Path(__file__).parent / "frameworks" / "langgraph"
MOVES = {"adapter.py": "tests/conftest.py", "regression_tests.py": "tests/test_refund_graph.py"}
RUN_TIME_CHECKS = ("INF-001", "INF-002", "GOV-003", "GOV-004", "OBS-001", "GOV-006", "GOV-009")


def checks_of(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in card["agents"]["refund-agent"]["checks"]}


def test_langgraph_refund_agent_is_ready_with_every_control_proven(tmp_path: Path) -> None:
    result, card = run_project(PROJECT, tmp_path, moves=MOVES)
    assert result.returncode == 0, result.stdout[-3000:]
    assert card["verdict"] == "ready"
    checks = checks_of(card)
    assert [check_id for check_id, check in checks.items() if not check["passed"]] == []
    for check_id in RUN_TIME_CHECKS:
        assert checks[check_id]["level"] == "proven", (check_id, checks[check_id]["reason"])
    assert "test_refund_graph.py" in " ".join(checks["INF-004"]["evidence"])
