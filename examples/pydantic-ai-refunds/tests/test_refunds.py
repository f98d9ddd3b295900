from __future__ import annotations

import pytest

from pytest_agent_readiness.scripted import TextReply, ToolCallRequest


@pytest.mark.readiness("INF-004", agent="refund-agent")
def test_duplicate_charge_is_refunded_after_approval(readiness_harness, scripted_model) -> None:
    from conftest import refund_agent

    model = scripted_model.sequence(
        [
            ToolCallRequest("orders.lookup", {"order_id": "A-1"}),
            ToolCallRequest("payments.refund", {"order_id": "A-1", "amount": 30.0}),
            TextReply("Refunded the duplicate charge."),
        ]
    )
    harness = readiness_harness("refund-agent", model, approve=True)
    assert refund_agent(harness).run("I was charged twice") == "Refunded the duplicate charge."
    assert [e.tool for e in harness.effects.effects] == ["orders.lookup", "payments.refund"]
    assert [r.tool for r in harness.approvals.requests] == ["payments.refund"]
    assert {call.name for call in harness.trace().tool_calls()} == {
        "orders.lookup",
        "payments.refund",
    }
