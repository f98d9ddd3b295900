"""The adapter the readiness probes drive the LangGraph refund agent through."""

from __future__ import annotations

from refunds import INSTRUCTIONS, DisclosureGuard, build_agent
from refunds.backends import InMemoryBackends
from refunds.operations import RUNS

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.integrations.langgraph import langgraph_handle

# An order the lookup's data_scope admits (the schema's own sample, 'sample', is outside it).
SAMPLES = {"orders_lookup": {"order_id": "A-1"}}


@adapter("refund_agent")
def refund_agent(harness: Harness) -> AgentHandle:
    agent = build_agent(
        harness.langchain_model(),
        InMemoryBackends(),
        escalate=lambda state, detail: harness.escalate(
            state, harness.escalation_owners[state], detail
        ),
        confirm=harness.confirm,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    return langgraph_handle(harness, agent, control=RUNS.control, samples=SAMPLES)
