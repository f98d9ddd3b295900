"""The Agents SDK integration's process-wide tracing: instrumented once onto one provider, moved
when another provider asks, undone on request; the scripted model's usage on its spans."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("agents", reason="openai-agents is an optional extra")

from agents import Agent, Runner, function_tool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pytest_agent_readiness.integrations.openai_agents import (
    ScriptedAgentsModel,
    instrument,
    uninstrument,
)
from pytest_agent_readiness.scripted import ScriptedModel, TextReply, ToolCallRequest


def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    made = TracerProvider(shutdown_on_exit=False)
    made.add_span_processor(SimpleSpanProcessor(exporter))
    return made, exporter


def one_session() -> None:
    @function_tool
    def lookup(order_id: str) -> str:
        """Read an order."""
        return "charged twice"

    scripted = ScriptedModel.sequence(
        [ToolCallRequest("lookup", {"order_id": "A-1"}), TextReply("done")]
    )
    agent = Agent(name="desk", model=ScriptedAgentsModel(scripted), tools=[lookup])
    assert asyncio.run(Runner.run(agent, "look")).final_output == "done"


def test_spans_follow_the_provider_and_stop_when_undone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    first, first_spans = provider()
    second, second_spans = provider()
    try:
        instrument(first)
        instrument(first)  # once per process: a second call onto the same provider is a no-op
        one_session()
        names = [span.name for span in first_spans.get_finished_spans()]
        assert "lookup" in names
        assert sum(1 for span in first_spans.get_finished_spans() if span.name == "lookup") == 1
        usage = [
            span.attributes.get("llm.token_count.prompt")
            for span in first_spans.get_finished_spans()
            if span.attributes and "llm.token_count.prompt" in span.attributes
        ]
        assert usage, "the scripted model's generation spans carry its token usage"
        instrument(second)
        one_session()
        assert len([s for s in second_spans.get_finished_spans() if s.name == "lookup"]) == 1
        assert sum(1 for span in first_spans.get_finished_spans() if span.name == "lookup") == 1
    finally:
        uninstrument()
    before = len(second_spans.get_finished_spans())
    one_session()
    assert len(second_spans.get_finished_spans()) == before
