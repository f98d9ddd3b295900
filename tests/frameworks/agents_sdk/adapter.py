"""The adapter of the Agents SDK refund desk, on the plugin's Agents SDK integration.

(Stored as ``adapter.py`` in this repository and run as the project's ``tests/conftest.py``.)
The desk takes its backends as arguments and catches their failures inside its tools, so the
doubles record to ``harness.effects`` (where the tool-error probe's fault is raised) and the
integration's own recording around each tool is off.
"""

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
    model, approve, confirm = (
        harness.openai_agents_model(),
        harness.request_approval,
        harness.confirm,
    )
    desk = RefundDesk(model, backends, approve, confirm, harness.escalate, guard=guard)
    return openai_agents_handle(harness, desk.agent, run=desk.run, record_effects=False)
