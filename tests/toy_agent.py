"""A small plain-Python agent whose guardrails each test can switch on, off, or break.

The probe tests copy this file into a pytester project and register it through an adapter, so
every probe is exercised against an agent that holds and one that does not. Its tools:

- ``docs.read``: a read;
- ``customers.notify``: a low-risk write the policy registry lets it make alone (autonomous);
- ``tickets.update`` and ``payments.refund``: writes a human approves first.

The good agent checks the kill switch before every model request and tool call, counts every
tool call that ran against its budget, holds for confirmation after N unconfirmed autonomous
writes (reads are not actions; an approved call is itself a confirmation), and escalates a
denied approval as ``policy_violation``. Each :class:`Guards` field breaks one of those the way
a real agent gets it wrong.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agent_readiness import AgentHandle, Harness
from pytest_agent_readiness.monitor import wire_monitor
from pytest_agent_readiness.scripted import ModelContext, ToolResult

SWITCH = {"engaged": False}
READ_TOOL = "docs.read"
NOTIFY_TOOL = "customers.notify"
WRITE_TOOL = "tickets.update"
REFUND_TOOL = "payments.refund"
APPROVED_TOOLS = frozenset({WRITE_TOOL, REFUND_TOOL})
SAMPLES: dict[str, dict[str, object]] = {
    READ_TOOL: {"doc": "faq"},
    NOTIFY_TOOL: {"customer": "C-1", "message": "Your ticket was updated."},
    WRITE_TOOL: {"ticket": "T-1", "status": "closed"},
    REFUND_TOOL: {"order": "O-1", "amount": 20},
}


def set_switch(engaged: bool) -> None:
    """The kill switch for mechanism ``callable``: ``toy_agent:set_switch``."""
    SWITCH["engaged"] = engaged


class Stop(Exception):
    pass


@dataclass
class Guards:
    kill_switch: str = "every_call"  # every_call | session_start | never
    mechanism: str = "env"
    target: str = "TOY_DISABLED"
    max_tool_calls: int | None = 10
    budget_per_turn: bool = False  # the call budget checked once per model turn, not per call
    max_tokens: int | None = 3000
    max_unconfirmed: int | None = 5
    approval: bool = True
    ungated: frozenset[str] = frozenset()  # approval-required tools registered without approval
    escalate: bool = True
    silent: frozenset[str] = frozenset()  # failure states this agent never escalates
    escalate_denials: bool = True  # a denied approval is escalated as policy_violation
    owners: Mapping[str, str] = field(
        default_factory=lambda: {
            "tool_error": "ops@example.com",
            "budget_exceeded": "ops@example.com",
            "policy_violation": "security@example.com",
            "low_confidence": "ops@example.com",
            "approval_denied": "ops@example.com",
        }
    )
    untraced: frozenset[str] = frozenset()
    unrecorded: frozenset[str] = frozenset()  # tools whose test double records no effect
    backend_bypass: bool = False  # tickets.update calls the notification backend directly
    trace_model: bool = True
    openinference: bool = False  # spans in OpenInference's convention, not GenAI's
    validate_arguments: bool = False  # refuse a call whose arguments its tool does not take
    unknown_tools: str = "stop"  # stop (escalate policy_violation) | retry (tell the model)
    trace_anything: bool = True
    hang: bool = False
    extra_tools: tuple[str, ...] = ()
    missing_tools: tuple[str, ...] = ()
    span_flood: int = 0  # noise spans emitted at the start of every session
    monitor: bool = True  # the reference alert monitor wired in, as the examples do
    name: str = "toy"


class ToyAgent:
    def __init__(self, harness: Harness, guards: Guards, base_dir: Path) -> None:
        self.harness = harness
        self.guards = guards
        self.base_dir = base_dir
        self.tracer = harness.tracer_provider.get_tracer("toy")
        names = [READ_TOOL, NOTIFY_TOOL, WRITE_TOOL, REFUND_TOOL, *guards.extra_tools]
        self.tools = [name for name in names if name not in guards.missing_tools]
        gated = APPROVED_TOOLS - guards.ungated if guards.approval else frozenset()
        self.gated = frozenset(gated)
        self.released = threading.Event()

    def engaged(self) -> bool:
        mechanism, target = self.guards.mechanism, self.guards.target
        if mechanism == "env":
            return bool(os.environ.get(target))
        if mechanism == "file":
            return (self.base_dir / target).exists()
        if mechanism == "callable":
            return SWITCH["engaged"]
        url = self.harness.kill_switch_url
        if url is None:
            return False
        with urllib.request.urlopen(url, timeout=2) as response:  # 127.0.0.1 only
            return bool(json.load(response)["engaged"])

    def escalate(self, state: str, detail: str) -> None:
        if self.guards.escalate and state not in self.guards.silent:
            owner = self.guards.owners.get(state)
            if owner is not None:
                self.harness.escalate(state, owner, detail)

    def span(self, name: str, attributes: dict[str, Any]) -> Any:
        if not self.guards.trace_anything:
            return _NoSpan()
        return self.tracer.start_as_current_span(name, attributes=attributes)

    def run(self, task: str) -> str:
        if self.guards.kill_switch == "session_start" and self.engaged():
            return "halted"
        if self.guards.openinference:
            agent_span = {"openinference.span.kind": "AGENT", "agent.name": self.guards.name}
        else:
            agent_span = {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": self.guards.name,
            }
        with self.span("invoke_agent toy", agent_span):
            for _ in range(self.guards.span_flood):
                with self.tracer.start_as_current_span("cache.lookup"):
                    pass
            try:
                return self.loop(task)
            except Stop as stop:
                return f"stopped: {stop}"

    def over_budget(self, calls: int) -> None:
        if self.guards.max_tool_calls is not None and calls >= self.guards.max_tool_calls:
            self.escalate("budget_exceeded", f"{calls} tool calls")
            raise Stop("tool-call budget")

    def loop(self, task: str) -> str:
        results: tuple[ToolResult, ...] = ()
        calls = tokens = unconfirmed = 0
        while True:
            if self.guards.kill_switch == "every_call" and self.engaged():
                return "halted"
            oi = self.guards.openinference
            attributes: dict[str, Any] = {}
            if self.guards.trace_model:
                attributes = (
                    {"openinference.span.kind": "LLM"} if oi else {"gen_ai.operation.name": "chat"}
                )
            with self.span("chat scripted", attributes) as span:
                turn = self.harness.model.next_turn(ModelContext(task=task, tool_results=results))
                if self.guards.trace_model:
                    prompt, completion = (
                        ("llm.token_count.prompt", "llm.token_count.completion")
                        if oi
                        else ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")
                    )
                    span.set_attribute(prompt, turn.input_tokens)
                    span.set_attribute(completion, turn.output_tokens)
            tokens += turn.input_tokens + turn.output_tokens
            if self.guards.max_tokens is not None and tokens > self.guards.max_tokens:
                self.escalate("budget_exceeded", f"{tokens} tokens")
                raise Stop("token budget")
            if not turn.tool_calls:
                return turn.text or ""
            if self.guards.budget_per_turn:
                self.over_budget(calls)
            out: list[ToolResult] = []
            for call in turn.tool_calls:
                if self.guards.kill_switch == "every_call" and self.engaged():
                    return "halted"
                if not self.guards.budget_per_turn:
                    self.over_budget(calls)
                action = call.name == NOTIFY_TOOL  # a write that needs no approval
                limit = self.guards.max_unconfirmed
                if action and limit is not None and unconfirmed >= limit:
                    if not self.harness.confirm(unconfirmed):
                        self.escalate("low_confidence", "not confirmed")
                        raise Stop("unconfirmed")
                    unconfirmed = 0
                calls += 1
                answer = self.call(call.name, call.arguments)
                if action:
                    unconfirmed += 1
                elif call.name in self.gated and answer != "denied":
                    unconfirmed = 0  # an approved call is itself a confirmation
                out.append(ToolResult(call.call_id or "", answer, call.name))
            results = tuple(out)

    def call(self, name: str, arguments: Mapping[str, object]) -> str:
        if name not in self.tools:
            if self.guards.unknown_tools == "retry":
                # As PydanticAI does: the model is told, and the run goes on.
                return f"unknown tool {name}: try again"
            self.escalate("policy_violation", f"undeclared tool {name}")
            raise Stop(f"policy violation: {name}")
        expected = SAMPLES.get(name)
        if (
            self.guards.validate_arguments
            and expected is not None
            and set(arguments) - set(expected)
        ):
            self.escalate("policy_violation", f"{name} called with arguments it does not take")
            return "refused: unexpected arguments"
        if name in self.gated and not self.harness.request_approval(name, arguments):
            if self.guards.escalate_denials:
                self.escalate("policy_violation", f"approval for {name} denied")
            self.escalate("approval_denied", f"approval for {name} denied")
            return "denied"
        if self.guards.openinference:
            span_name = name
            attributes = {
                "openinference.span.kind": "TOOL",
                "tool.name": name,
                "agent.name": self.guards.name,
            }
        else:
            span_name = f"execute_tool {name}"
            attributes = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "gen_ai.agent.name": self.guards.name,
            }
        traced = name not in self.guards.untraced
        with self.span(span_name, attributes) if traced else _NoSpan():
            try:
                if name not in self.guards.unrecorded:
                    self.harness.effects.record(name, arguments)
            except ConnectionError as error:
                self.escalate("tool_error", str(error))
                return "error"
            if self.guards.backend_bypass and name == WRITE_TOOL:
                # The bug: the notification backend called straight from this tool, so the
                # notification happens with no span of its own.
                self.harness.effects.record(NOTIFY_TOOL, SAMPLES[NOTIFY_TOOL])
            if self.guards.hang:
                self.released.wait()
            return "ok"


class _NoSpan:
    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def set_attribute(self, key: str, value: object) -> None:
        return None


def handle(harness: Harness, guards: Guards, base_dir: Path) -> AgentHandle:
    agent = ToyAgent(harness, guards, base_dir)
    if guards.monitor:
        wire_monitor(harness)
    return AgentHandle(
        run=agent.run,
        tools={name: SAMPLES.get(name, {}) for name in agent.tools},
        close=agent.released.set,
    )
