"""The adapter the readiness probes drive the refund pilot through."""

from __future__ import annotations

from typing import Any

from refund_agent import RefundAgent

from pytest_agent_readiness import AgentHandle, Harness, adapter


@adapter("refund_pilot")
def refund_pilot(harness: Harness) -> AgentHandle:
    def lookup(**arguments: Any) -> str:
        harness.effects.record("orders.lookup", arguments)
        return "order 1180: charged twice"

    def refund(**arguments: Any) -> str:
        harness.effects.record("payments.refund", arguments)
        return "refunded"

    agent = RefundAgent(harness.model, {"orders.lookup": lookup, "payments.refund": refund})
    return AgentHandle(
        run=agent.run,
        tools={"orders.lookup": {"order": "1180"}, "payments.refund": {"order": "1180"}},
    )
