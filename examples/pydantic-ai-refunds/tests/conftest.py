"""The adapter the readiness probes drive the PydanticAI refund agent through."""

from __future__ import annotations

from refunds import INSTRUCTIONS, Backends, DisclosureGuard, RefundAgent

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.integrations import recording_double as double
from pytest_agent_readiness.integrations.pydantic_ai import pydantic_ai_handle

ORDER = {"order_id": "A-1", "charged": [30.0, 30.0]}


@adapter("refund_agent")
def refund_agent(harness: Harness) -> AgentHandle:
    backends = Backends(  # doubles of the order, payment and messaging systems
        double(harness, "orders.lookup", "order_id", returns=ORDER),
        double(harness, "payments.refund", "order_id", "amount", returns="refunded"),
        double(harness, "payments.store_credit", "order_id", "amount", returns="credited"),
        double(harness, "customer.notify", "order_id", "message", returns="sent"),
    )
    guard = DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS)
    model, approve, confirm = harness.pydantic_ai_model(), harness.request_approval, harness.confirm
    agent = RefundAgent(model, backends, approve, confirm, harness.escalate, guard=guard)
    return pydantic_ai_handle(harness, agent.agent, run=agent.run, record_effects=False)
