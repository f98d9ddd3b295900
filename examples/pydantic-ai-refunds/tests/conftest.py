"""The adapter the readiness probes drive the PydanticAI refund agent through."""

from __future__ import annotations

from typing import Any

from refunds import INSTRUCTIONS, Backends, DisclosureGuard, RefundAgent

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.monitor import wire_monitor

SAMPLES: dict[str, dict[str, object]] = {
    "orders.lookup": {"order_id": "A-1"},
    "payments.refund": {"order_id": "A-1", "amount": 30.0},
    "payments.store_credit": {"order_id": "A-1", "amount": 30.0},
    "customer.notify": {"order_id": "A-1", "message": "Your duplicate charge was refunded."},
}


def backends(harness: Harness) -> Backends:
    """Doubles of the order, payment and messaging systems that record every real action."""

    def lookup_order(order_id: str) -> dict[str, Any]:
        harness.effects.record("orders.lookup", {"order_id": order_id})
        return {"order_id": order_id, "charged": [30.0, 30.0]}

    def refund(order_id: str, amount: float) -> str:
        harness.effects.record("payments.refund", {"order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    def store_credit(order_id: str, amount: float) -> str:
        harness.effects.record("payments.store_credit", {"order_id": order_id, "amount": amount})
        return f"credited {amount}"

    def notify(order_id: str, message: str) -> str:
        harness.effects.record("customer.notify", {"order_id": order_id, "message": message})
        return "sent"

    return Backends(lookup_order, refund, store_credit, notify)


@adapter("refund_agent")
def refund_agent(harness: Harness) -> AgentHandle:
    agent = RefundAgent(
        model=harness.pydantic_ai_model(),
        backends=backends(harness),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        tracer_provider=harness.tracer_provider,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    wire_monitor(harness)  # the alert monitor: suspends through the kill switch
    return AgentHandle(run=agent.run, tools={name: SAMPLES[name] for name in agent.tool_names})
