"""The adapter of the Agents SDK refund desk, on the plugin's Agents SDK integration.

(Stored as ``adapter.py`` in this repository and run as the project's ``tests/conftest.py``.)
The desk's own backends are doubles that record to ``harness.effects`` (its tools catch a
backend's failure themselves), so the integration's tool recording is off.
"""

from __future__ import annotations

from typing import Any

from refund_desk import INSTRUCTIONS, Backends, DisclosureGuard, RefundDesk

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.integrations.openai_agents import openai_agents_handle


def backends(harness: Harness) -> Backends:
    """Doubles of the order, payment and messaging systems that record every real action."""

    def lookup_order(order_id: str) -> dict[str, Any]:
        harness.effects.record("orders_lookup", {"order_id": order_id})
        return {"order_id": order_id, "charged": [30.0, 30.0]}

    def refund(order_id: str, amount: float) -> str:
        harness.effects.record("payments_refund", {"order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    def store_credit(order_id: str, amount: float) -> str:
        harness.effects.record("payments_store_credit", {"order_id": order_id, "amount": amount})
        return f"credited {amount}"

    def notify(order_id: str, message: str) -> str:
        harness.effects.record("customer_notify", {"order_id": order_id, "message": message})
        return "sent"

    return Backends(lookup_order, refund, store_credit, notify)


@adapter("refund_desk")
def refund_desk(harness: Harness) -> AgentHandle:
    desk = RefundDesk(
        model=harness.openai_agents_model(),
        backends=backends(harness),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    return openai_agents_handle(harness, desk.agent, run=desk.run, record_effects=False)
