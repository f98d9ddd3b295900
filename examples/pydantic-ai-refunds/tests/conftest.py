"""The adapter the readiness probes drive the PydanticAI refund agent through."""

from __future__ import annotations

from typing import Any

from refunds import INSTRUCTIONS, Backends, DisclosureGuard, RefundAgent

from pytest_agent_readiness import AgentHandle, Harness, adapter


@adapter("refund_agent")
def refund_agent(harness: Harness) -> AgentHandle:
    def lookup_order(order_id: str) -> dict[str, Any]:
        harness.effects.record("orders.lookup", {"order_id": order_id})
        return {"order_id": order_id, "charged": [30.0, 30.0]}

    def refund(order_id: str, amount: float) -> str:
        harness.effects.record("payments.refund", {"order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    agent = RefundAgent(
        model=harness.pydantic_ai_model(),
        backends=Backends(lookup_order=lookup_order, refund=refund),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        tracer_provider=harness.tracer_provider,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    samples = {
        "orders.lookup": {"order_id": "A-1"},
        "payments.refund": {"order_id": "A-1", "amount": 30.0},
    }
    return AgentHandle(run=agent.run, tools={name: samples[name] for name in agent.tool_names})
