"""The adapter the readiness probes drive the Agents SDK refund desk through."""

from __future__ import annotations

from refund_desk import INSTRUCTIONS, Backends, DisclosureGuard, RefundDesk

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.integrations import recording_double as double
from pytest_agent_readiness.integrations.openai_agents import openai_agents_handle

ORDER = {"order_id": "A-1", "charged": [30.0, 30.0]}


@adapter("refund_desk")
def refund_desk(harness: Harness) -> AgentHandle:
    backends = Backends(  # doubles of the order, payment and messaging systems
        double(harness, "orders_lookup", "order_id", returns=ORDER),
        double(harness, "payments_refund", "order_id", "amount", returns="refunded"),
        double(harness, "payments_store_credit", "order_id", "amount", returns="credited"),
        double(harness, "customer_notify", "order_id", "message", returns="sent"),
    )
    guard = DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS)
    escalate = harness.escalate_to_owner  # (state, detail): to the manifest's owner
    model, approve = harness.openai_agents_model(), harness.request_approval
    desk = RefundDesk(model, backends, approve, harness.confirm, escalate, guard=guard)
    return openai_agents_handle(harness, desk.agent, run=desk.run, record_effects=False)
