"""The glue a team writes today to put its Agents SDK refund desk under the readiness probes.

(Stored as ``adapter.py`` in this repository and run as the project's ``tests/conftest.py``.)

- ``ScriptedModel`` is an ``agents.Model`` that replays the harness's scripted model and opens
  the generation span a custom model must open itself for its token usage to be traced;
- OpenInference's instrumentor patches the SDK for the whole process, so it is instrumented
  once, onto the provider the harness records, and undone when the test session ends (it
  replaces the SDK's trace processors while instrumented, so nothing is exported to OpenAI).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from agents import Model, ModelResponse, ModelTracing, Usage
from agents.tracing import generation_span
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)
from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from refund_desk import INSTRUCTIONS, Backends, DisclosureGuard, RefundDesk

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


def context_of(items: str | list[Any]) -> ModelContext:
    """The harness's view of an Agents SDK request: the task and the tool outputs sent back
    since the model last answered."""
    if isinstance(items, str):
        return ModelContext(task=items)
    task: str | None = None
    names: dict[str, str] = {}
    fresh: list[ToolResult] = []
    for item in items:
        entry = item if isinstance(item, dict) else item.model_dump()
        kind, role = entry.get("type"), entry.get("role")
        if role == "user" and task is None and isinstance(entry.get("content"), str):
            task = entry["content"]
        elif kind == "function_call":
            names[entry["call_id"]] = entry["name"]
            fresh = []
        elif role == "assistant":
            fresh = []
        elif kind == "function_call_output":
            call_id = entry["call_id"]
            fresh.append(ToolResult(call_id, entry.get("output"), names.get(call_id)))
    return ModelContext(task=task, tool_results=tuple(fresh), messages=tuple(items))


class ScriptedModel(Model):
    """The harness's scripted model behind the Agents SDK's model interface."""

    def __init__(self, scripted: HarnessModel, name: str = "scripted") -> None:
        self.scripted = scripted
        self.name = name

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: ModelTracing,
        **_: Any,
    ) -> ModelResponse:
        turn = self.scripted.next_turn(context_of(input))
        usage = {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens}
        if not tracing.is_disabled():
            with generation_span(model=self.name, usage=usage):
                pass
        output: list[Any] = [
            ResponseFunctionToolCall(
                type="function_call",
                id=f"fc_{call.call_id}",
                call_id=call.call_id or "",
                name=call.name,
                arguments=json.dumps(dict(call.arguments)),
                status="completed",
            )
            for call in turn.tool_calls
        ]
        if turn.text is not None:
            text = ResponseOutputText(type="output_text", text=turn.text, annotations=[])
            output.append(
                ResponseOutputMessage(
                    type="message",
                    id=f"msg_{turn.number}",
                    role="assistant",
                    status="completed",
                    content=[text],
                )
            )
        return ModelResponse(
            output=output,
            usage=Usage(
                requests=1,
                input_tokens=turn.input_tokens,
                output_tokens=turn.output_tokens,
                total_tokens=turn.input_tokens + turn.output_tokens,
            ),
            response_id=None,
        )

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the refund desk does not stream")


class ProcessTracing:
    """OpenInference's instrumentor, instrumented once per process onto one provider."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instrumentor = OpenAIAgentsInstrumentor()
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
def _agents_sdk_tracing() -> Iterator[None]:
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


@adapter("refund_desk")
def refund_desk(harness: Harness) -> AgentHandle:
    TRACING.onto(harness.tracer_provider)
    desk = RefundDesk(
        model=ScriptedModel(harness.model),
        backends=backends(harness),
        approve=harness.request_approval,
        confirm=harness.confirm,
        escalate=harness.escalate,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or INSTRUCTIONS),
    )
    wire_monitor(harness)  # the alert monitor: suspends through the kill switch
    return AgentHandle(run=desk.run, tools={name: SAMPLES[name] for name in desk.tool_names})
