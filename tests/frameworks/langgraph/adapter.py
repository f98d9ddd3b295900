"""The glue that puts the LangGraph refund agent under the readiness probes, on the LangGraph
integration. (Stored as ``adapter.py`` in this repository and run as the project's
``tests/conftest.py``.)

The agent runs its own sessions (``RefundGraph.run`` answers its interrupts through
``approve``), and its test doubles record each action, so the handle only lists the graph's
tools (sample arguments read from their schemas, the refund amount set by hand) and traces it.
"""

from __future__ import annotations

from typing import Any

from refund_graph import INSTRUCTIONS, Backends, DisclosureGuard, RefundGraph

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.integrations.langgraph import langgraph_handle

SAMPLES: dict[str, dict[str, object]] = {
    "payments_refund": {"order_id": "A-1", "amount": 30.0},
    "payments_store_credit": {"order_id": "A-1", "amount": 30.0},
}


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


@adapter("refund_graph")
def refund_graph(harness: Harness) -> AgentHandle:
    graph = RefundGraph(
        model=harness.langchain_model(),
        backends=backends(harness),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    return langgraph_handle(
        harness, graph.agent, run=graph.run, samples=SAMPLES, record_effects=False
    )
