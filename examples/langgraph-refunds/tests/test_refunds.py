from __future__ import annotations

import pytest

from pytest_agent_readiness.scripted import TextReply, ToolCallRequest


@pytest.mark.readiness("INF-004", agent="refund-agent")
def test_duplicate_charge_is_refunded_after_approval(readiness_harness, scripted_model) -> None:
    from conftest import refund_agent

    model = scripted_model.sequence(
        [
            ToolCallRequest("orders_lookup", {"order_id": "A-1"}),
            ToolCallRequest("payments_refund", {"order_id": "A-1", "amount": 30.0}),
            ToolCallRequest("customer_notify", {"order_id": "A-1", "message": "Refunded 30.0"}),
            TextReply("Refunded the duplicate charge."),
        ]
    )
    harness = readiness_harness("refund-agent", model, approve=True)
    assert refund_agent(harness).run("I was charged twice") == "Refunded the duplicate charge."
    [refund] = harness.effects.of("payments_refund")
    assert refund.arguments == {"order_id": "A-1", "amount": 30.0}
    assert [r.tool for r in harness.approvals.requests] == ["payments_refund"]
    assert {call.name for call in harness.trace().tool_calls()} == {
        "orders_lookup",
        "payments_refund",
        "customer_notify",
    }


# Approval evidence: what the team checks about a denied refund belongs to GOV-004.
@pytest.mark.readiness("GOV-004", agent="refund-agent")
def test_a_denied_refund_is_not_paid_and_reaches_security(
    readiness_harness, scripted_model
) -> None:
    from conftest import refund_agent

    model = scripted_model.sequence(
        [
            ToolCallRequest("payments_store_credit", {"order_id": "A-1", "amount": 300.0}),
            TextReply("A person will review this."),
        ]
    )
    harness = readiness_harness("refund-agent", model, approve=False)
    assert refund_agent(harness).run("Refund me 300") == "A person will review this."
    assert harness.effects.of("payments_store_credit") == []
    assert [(e.state, e.owner) for e in harness.escalations.events] == [
        ("policy_violation", "security@example.com")
    ]
