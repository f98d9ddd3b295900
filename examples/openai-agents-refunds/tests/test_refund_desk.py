"""The team's own tests of the refund desk."""

from __future__ import annotations

import asyncio

import pytest

from pytest_agent_readiness.scripted import TextReply, ToolCallRequest


@pytest.mark.readiness("INF-004", agent="refund-agent")
def test_duplicate_charge_is_refunded_after_approval(readiness_harness, scripted_model) -> None:
    from conftest import refund_desk

    model = scripted_model.sequence(
        [
            ToolCallRequest("orders_lookup", {"order_id": "A-1"}),
            ToolCallRequest("payments_refund", {"order_id": "A-1", "amount": 30.0}),
            ToolCallRequest("customer_notify", {"order_id": "A-1", "message": "Refunded 30.0"}),
            TextReply("Refunded the duplicate charge."),
        ]
    )
    harness = readiness_harness("refund-agent", model, approve=True)
    answer = asyncio.run(refund_desk(harness).run("I was charged twice"))
    assert answer == "Refunded the duplicate charge."
    [refund] = harness.effects.of("payments_refund")
    assert refund.arguments == {"order_id": "A-1", "amount": 30.0}
    assert [r.tool for r in harness.approvals.requests] == ["payments_refund"]
    assert sorted(call.name for call in harness.trace().tool_calls()) == [
        "customer_notify",
        "orders_lookup",
        "payments_refund",
    ]
