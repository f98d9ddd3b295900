"""Fixtures that drive the real triage agent with a model the test controls."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from triage_bot import Crm, KnowledgeBase, Limits, ModelTurn, ToolCall, TriageBot
from triage_bot.config import ESCALATION_OWNERS, LIMITS
from triage_bot.guard import DisclosureGuard

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.manifest import load_manifest
from pytest_agent_readiness.model import Agent
from pytest_agent_readiness.monitor import wire_monitor
from pytest_agent_readiness.scripted import ModelContext, ToolResult

MANIFEST = Path(__file__).parent.parent / "agent-readiness.yaml"
SYSTEM_PROMPT = (MANIFEST.parent / "prompts" / "triage.md").read_text(encoding="utf-8")


class ScriptedModel:
    """The 'compromised model': asks for whatever the test scripts, and records it."""

    def __init__(self, turns: Callable[[int], ModelTurn]) -> None:
        self._turns = turns
        self._count = itertools.count()
        self.asked: list[ToolCall] = []

    def next_turn(self, messages: list[dict[str, Any]]) -> ModelTurn:
        turn = self._turns(next(self._count))
        self.asked.extend(turn.tool_calls)
        return turn

    @classmethod
    def runaway(
        cls, tool: str, arguments: dict[str, Any], *, per_turn: int = 1, tokens: int = 10
    ) -> ScriptedModel:
        ids = itertools.count(1)
        return cls(
            lambda _: ModelTurn(
                tool_calls=tuple(
                    ToolCall(tool, arguments, f"call_{next(ids):04d}") for _ in range(per_turn)
                ),
                input_tokens=tokens,
                output_tokens=tokens,
            )
        )

    @classmethod
    def sequence(cls, *turns: ModelTurn) -> ScriptedModel:
        return cls(lambda index: turns[index] if index < len(turns) else ModelTurn(text="done"))


@pytest.fixture(scope="session")
def span_exporter() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def spans(span_exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    span_exporter.clear()
    yield span_exporter
    span_exporter.clear()


@pytest.fixture(scope="session")
def declared() -> Agent:
    """The triage bot as agent-readiness.yaml declares it: tests hold the code to this."""
    return load_manifest(MANIFEST).agents["triage-bot"]


@pytest.fixture
def escalations() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def crm() -> Crm:
    return Crm(tickets={"T-1": "I was charged twice for my order."})


@pytest.fixture
def make_bot(
    declared: Agent, crm: Crm, escalations: list[tuple[str, str, str]]
) -> Callable[..., TriageBot]:
    assert declared.escalation is not None

    def build(
        model: ScriptedModel,
        *,
        approve: Callable[[ToolCall], bool] = lambda call: False,
        confirm: Callable[[int], bool] = lambda actions: False,
        kb: KnowledgeBase | None = None,
    ) -> TriageBot:
        return TriageBot(
            model,
            crm=crm,
            kb=kb or KnowledgeBase({"Refunds": "Duplicate charges are refunded in 5 days."}),
            escalation_owners=dict(declared.escalation or {}),
            escalate=lambda state, owner, detail: escalations.append((state, owner, detail)),
            approve=approve,
            confirm=confirm,
            limits=Limits(),
        )

    return build


# -- the adapter the readiness probes drive the agent through ---------------------------------

SAMPLE_ARGUMENTS = {
    "crm.read_ticket": {"ticket_id": "T-1"},
    "kb.search": {"query": "refund"},
    "crm.reply": {"ticket_id": "T-1", "text": "Your refund is on its way."},
    "crm.issue_refund": {"ticket_id": "T-1", "amount": 30.0},
}


class HarnessModel:
    """The harness's scripted model behind the triage bot's own model interface."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness

    def next_turn(self, messages: list[dict[str, Any]]) -> ModelTurn:
        results = []
        for message in reversed(messages):
            if message["role"] != "tool":
                break
            results.insert(0, ToolResult(message["call_id"], message["content"]))
        turn = self.harness.model.next_turn(
            ModelContext(task=messages[0]["content"], tool_results=tuple(results))
        )
        calls = tuple(ToolCall(c.name, dict(c.arguments), c.call_id or "") for c in turn.tool_calls)
        return ModelTurn(
            tool_calls=calls,
            text=turn.text,
            input_tokens=turn.input_tokens,
            output_tokens=turn.output_tokens,
        )


class LedgerCrm(Crm):
    """The CRM double: every real action goes to the harness's effects ledger too."""

    harness: Harness | None = None

    def _record(self, action: str, arguments: dict[str, Any]) -> None:
        assert self.harness is not None
        self.harness.effects.record(f"crm.{action}", arguments)
        super()._record(action, arguments)


class LedgerKb(KnowledgeBase):
    harness: Harness | None = None

    def search(self, query: str) -> str:
        assert self.harness is not None
        self.harness.effects.record("kb.search", {"query": query}, write=False)
        return super().search(query)


@adapter("triage_bot")
def triage_bot(harness: Harness) -> AgentHandle:
    """The production triage bot, wired to the readiness harness instead of live systems."""
    crm = LedgerCrm(tickets={"T-1": "I was charged twice for my order."})
    kb = LedgerKb({"Refunds": "Duplicate charges are refunded in 5 days."})
    crm.harness = kb.harness = harness
    bot = TriageBot(
        HarnessModel(harness),
        crm=crm,
        kb=kb,
        escalation_owners=ESCALATION_OWNERS,
        escalate=harness.escalate,
        approve=lambda call: harness.request_approval(call.name, call.arguments),
        confirm=harness.confirm,
        limits=LIMITS,
        tracer_provider=harness.tracer_provider,
        guard=DisclosureGuard(harness.protected, harness.system_prompt or SYSTEM_PROMPT),
    )
    # The alert monitor: counts the harness's events, suspends through the kill switch.
    wire_monitor(harness)
    return AgentHandle(run=bot.run, tools={name: SAMPLE_ARGUMENTS[name] for name in bot.tools})
