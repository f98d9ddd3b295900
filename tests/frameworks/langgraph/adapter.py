"""The glue a team writes today to put its LangGraph refund agent under the readiness probes.

(Stored as ``adapter.py`` in this repository and run as the project's ``tests/conftest.py``.)

- ``ScriptedChatModel`` is a LangChain chat model that replays the harness's scripted model,
  with token usage on each ``AIMessage``;
- OpenInference's LangChain instrumentor hooks LangChain for the whole process, so it is
  instrumented once, onto the provider the harness records, and undone when the session ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from refund_graph import INSTRUCTIONS, Backends, DisclosureGuard, RefundGraph

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.monitor import wire_monitor
from pytest_agent_readiness.scripted import ModelContext, ToolResult
from pytest_agent_readiness.scripted import ScriptedModel as HarnessModel

SAMPLES: dict[str, dict[str, object]] = {
    "orders_lookup": {"order_id": "A-1"},
    "payments_refund": {"order_id": "A-1", "amount": 30.0},
    "payments_store_credit": {"order_id": "A-1", "amount": 30.0},
    "customer_notify": {"order_id": "A-1", "message": "Your duplicate charge was refunded."},
}


def context_of(messages: Sequence[BaseMessage]) -> ModelContext:
    """The harness's view of a LangChain request: the task and the tool results sent back
    since the model last answered."""
    task: str | None = None
    fresh: list[ToolResult] = []
    for message in messages:
        if isinstance(message, HumanMessage) and task is None:
            task = str(message.content)
        elif isinstance(message, AIMessage):
            fresh = []
        elif isinstance(message, ToolMessage):
            outcome = "success" if message.status == "success" else "failed"
            fresh.append(ToolResult(message.tool_call_id, message.content, message.name, outcome))
    return ModelContext(task=task, tool_results=tuple(fresh), messages=tuple(messages))


class ScriptedChatModel(BaseChatModel):
    """The harness's scripted model behind LangChain's chat-model interface."""

    scripted: Any

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        return self  # the script, not a tool schema, decides what is asked for

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        scripted: HarnessModel = self.scripted
        turn = scripted.next_turn(context_of(messages))
        message = AIMessage(
            content=turn.text or "",
            tool_calls=[
                {"name": call.name, "args": dict(call.arguments), "id": call.call_id}
                for call in turn.tool_calls
            ],
            usage_metadata={
                "input_tokens": turn.input_tokens,
                "output_tokens": turn.output_tokens,
                "total_tokens": turn.input_tokens + turn.output_tokens,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ProcessTracing:
    """OpenInference's instrumentor, instrumented once per process onto one provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instrumentor = LangChainInstrumentor()
        self._provider: TracerProvider | None = None

    def onto(self, provider: TracerProvider) -> None:
        with self._lock:
            if provider is self._provider:
                return
            if self._provider is not None:
                self._instrumentor.uninstrument()
            self._instrumentor.instrument(tracer_provider=provider)
            self._provider = provider

    def undo(self) -> None:
        with self._lock:
            if self._provider is not None:
                self._instrumentor.uninstrument()
                self._provider = None


TRACING = ProcessTracing()


@pytest.fixture(scope="session", autouse=True)
def _langchain_tracing() -> Iterator[None]:
    yield
    TRACING.undo()


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
    TRACING.onto(harness.tracer_provider)
    graph = RefundGraph(
        model=ScriptedChatModel(scripted=harness.model),
        backends=backends(harness),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    wire_monitor(harness)  # the alert monitor: suspends through the kill switch
    return AgentHandle(run=graph.run, tools={name: SAMPLES[name] for name in graph.tool_names})
