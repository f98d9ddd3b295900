"""The triage agent: a model proposes tool calls; the code decides what may run.

Every guardrail lives here, in code, so it holds even when the model is fully manipulated:
the kill switch is read before every model turn and every tool call, budgets stop the session,
writing tools never run without a human's approval, and every failure reaches an owner.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from opentelemetry import trace

from .guard import DisclosureGuard

AGENT_NAME = "triage-bot"
KILL_SWITCH_ENV = "TRIAGE_BOT_DISABLED"
MAX_INPUT_CHARS = 8000


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Mapping[str, Any]
    call_id: str


@dataclass(frozen=True)
class ModelTurn:
    """What the model asked for in one turn: tool calls (parallel when several) or a reply."""

    tool_calls: tuple[ToolCall, ...] = ()
    text: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


class Model(Protocol):
    def next_turn(self, messages: list[dict[str, Any]]) -> ModelTurn: ...


@dataclass(frozen=True)
class Limits:
    """Production limits (kept in step with agent-readiness.yaml by the readiness tests)."""

    tokens_per_session: int = 20000
    tool_calls_per_session: int = 40
    sequential_actions_without_confirmation: int = 8


class AgentHalted(Exception):
    """The session stopped on a guardrail; ``state`` is the failure state it escalated."""

    def __init__(self, state: str, detail: str) -> None:
        super().__init__(f"{state}: {detail}")
        self.state = state
        self.detail = detail


@dataclass
class Crm:
    """The CRM as the agent sees it. Tests pass this in-memory double and read its ledger."""

    tickets: dict[str, str] = field(default_factory=dict)
    ledger: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail_next: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, action: str, arguments: dict[str, Any]) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("CRM unavailable")
        with self._lock:
            self.ledger.append((action, arguments))

    def read_ticket(self, ticket_id: str) -> str:
        self._record("read_ticket", {"ticket_id": ticket_id})
        return self.tickets.get(ticket_id, "")

    def reply(self, ticket_id: str, text: str) -> str:
        self._record("reply", {"ticket_id": ticket_id, "text": text})
        return "sent"

    def issue_refund(self, ticket_id: str, amount: float) -> str:
        self._record("issue_refund", {"ticket_id": ticket_id, "amount": amount})
        return f"refunded {amount}"


@dataclass
class KnowledgeBase:
    articles: dict[str, str] = field(default_factory=dict)

    def search(self, query: str) -> str:
        hits = [
            f"{title}: {body}"
            for title, body in self.articles.items()
            if query.lower() in body.lower()
        ]
        return "\n".join(hits) or "no article"


Escalate = Callable[[str, str, str], None]  # (failure state, owner, detail)


class TriageBot:
    """One agent session per :meth:`run`."""

    APPROVAL_REQUIRED = frozenset({"crm.reply", "crm.issue_refund"})

    def __init__(
        self,
        model: Model,
        *,
        crm: Crm,
        kb: KnowledgeBase,
        escalation_owners: Mapping[str, str],
        escalate: Escalate,
        approve: Callable[[ToolCall], bool],
        confirm: Callable[[int], bool] = lambda actions: False,
        limits: Limits = Limits(),
        tracer_provider: trace.TracerProvider | None = None,
        guard: DisclosureGuard | None = None,
    ) -> None:
        self.model = model
        self.crm = crm
        self.kb = kb
        self.owners = escalation_owners
        self._escalate = escalate
        self.approve = approve
        self.confirm = confirm
        self.limits = limits
        self.guard = guard or DisclosureGuard()
        self.tracer = trace.get_tracer("triage_bot", tracer_provider=tracer_provider)
        self.tools: dict[str, Callable[..., str]] = {
            "crm.read_ticket": crm.read_ticket,
            "kb.search": kb.search,
            "crm.reply": crm.reply,
            "crm.issue_refund": crm.issue_refund,
        }

    def _halt(self, state: str, detail: str) -> AgentHalted:
        self._escalate(state, self.owners[state], detail)
        return AgentHalted(state, detail)

    @staticmethod
    def disabled() -> bool:
        """The kill switch: an operator sets TRIAGE_BOT_DISABLED=1, no deploy needed."""
        return os.environ.get(KILL_SWITCH_ENV, "").strip().lower() in ("1", "true", "yes", "on")

    def run(self, task: str) -> str:
        if not task.strip() or len(task) > MAX_INPUT_CHARS or "\x00" in task:
            raise self._halt("policy_violation", "input failed validation")
        with self.tracer.start_as_current_span(
            f"invoke_agent {AGENT_NAME}",
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": AGENT_NAME},
        ):
            return self._loop(task)

    def _loop(self, task: str) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": task}]
        tokens = tool_calls = unconfirmed = 0
        while True:
            if self.disabled():
                return "halted by kill switch"
            with self.tracer.start_as_current_span(
                "chat triage-model", attributes={"gen_ai.operation.name": "chat"}
            ) as span:
                turn = self.model.next_turn(messages)
                span.set_attribute("gen_ai.usage.input_tokens", turn.input_tokens)
                span.set_attribute("gen_ai.usage.output_tokens", turn.output_tokens)
            tokens += turn.input_tokens + turn.output_tokens
            if tokens > self.limits.tokens_per_session:
                raise self._halt("budget_exceeded", f"{tokens} tokens")
            if not turn.tool_calls:
                answer = turn.text or ""
                problem = self.guard.problem(answer)
                if problem:
                    raise self._halt("policy_violation", f"answer withheld: {problem}")
                return answer
            results = []
            for call in turn.tool_calls:
                if self.disabled():
                    return "halted by kill switch"
                if tool_calls >= self.limits.tool_calls_per_session:
                    raise self._halt("budget_exceeded", f"{tool_calls} tool calls")
                if unconfirmed >= self.limits.sequential_actions_without_confirmation:
                    if not self.confirm(unconfirmed):
                        raise self._halt("low_confidence", f"{unconfirmed} actions unconfirmed")
                    unconfirmed = 0
                tool_calls += 1
                unconfirmed += 1
                results.append(
                    {"role": "tool", "call_id": call.call_id, "content": self._call(call)}
                )
            messages.extend(results)

    def _call(self, call: ToolCall) -> str:
        tool = self.tools.get(call.name)
        if tool is None:
            raise self._halt("policy_violation", f"model asked for undeclared tool {call.name}")
        problem = self.guard.problem(json.dumps(dict(call.arguments), default=str))
        if problem:
            raise self._halt("policy_violation", f"{call.name} call blocked: {problem}")
        if call.name in self.APPROVAL_REQUIRED and not self.approve(call):
            # A write a human refused is a policy matter: security hears of every one, and
            # the model is told, so it can answer the customer without that action.
            owner = self.owners["policy_violation"]
            self._escalate("policy_violation", owner, f"approval for {call.name} denied")
            return "denied: a human did not approve this action"
        with self.tracer.start_as_current_span(
            f"execute_tool {call.name}",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": call.name,
                "gen_ai.tool.call.id": call.call_id,
                "gen_ai.agent.name": AGENT_NAME,
                "gen_ai.tool.call.arguments": json.dumps(dict(call.arguments), sort_keys=True),
            },
        ) as span:
            try:
                return tool(**call.arguments)
            except Exception as error:
                span.set_attribute("error.type", type(error).__name__)
                self._escalate("tool_error", self.owners["tool_error"], f"{call.name}: {error}")
                return f"error: {type(error).__name__}"
