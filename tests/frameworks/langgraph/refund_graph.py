"""A refund agent on LangGraph (``langchain.agents.create_agent``), its guardrails as middleware.

- approval: ``HumanInTheLoopMiddleware`` holds both refund tools until a human decides, with a
  checkpointer so the session resumes where it stopped; a denied refund is a policy violation;
- tool-call budget: ``ToolCallLimitMiddleware(thread_limit=...)``: the thread is the session,
  so approval resumes (each a new run) do not reset it;
- token budget and kill switch: a ``before_model`` middleware (LangChain has no token budget);
- before every tool call: the kill switch again, and for writes no human approves (customer
  notifications) the hold for confirmation.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentState,
    HumanInTheLoopMiddleware,
    ToolCallLimitMiddleware,
    before_model,
    wrap_tool_call,
)
from langchain.agents.middleware.tool_call_limit import ToolCallLimitExceededError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError
from langgraph.types import Command

AGENT_NAME = "refund-agent"
KILL_SWITCH_ENV = "REFUND_AGENT_DISABLED"
INSTRUCTIONS = "Look up the order, then propose a refund only for a duplicate charge."
NEEDS_APPROVAL = ("payments_refund", "payments_store_credit")
AUTONOMOUS_WRITES = frozenset({"customer_notify"})

OWNERS = {
    "tool_error": "payments-oncall@example.com",
    "budget_exceeded": "maya.chen@example.com",
    "policy_violation": "security@example.com",
    "low_confidence": "payments-oncall@example.com",
}


@dataclass(frozen=True)
class Limits:
    tool_calls_per_session: int = 12
    tokens_per_session: int = 8000
    sequential_actions_without_confirmation: int = 4
    recursion_limit: int = 100


@dataclass
class Backends:
    lookup_order: Callable[[str], dict[str, Any]]
    refund: Callable[[str, float], str]
    store_credit: Callable[[str, float], str]
    notify: Callable[[str, str], str]


_WORDS = re.compile(r"[a-z0-9]+")


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


@dataclass(frozen=True)
class DisclosureGuard:
    """Confidential values the agent can reach and its own instructions never leave it."""

    secrets: tuple[str, ...] = ()
    instructions: str = INSTRUCTIONS
    run: int = 8

    def problem(self, text: str) -> str | None:
        normal = _normal(text)
        if any(_normal(secret) and _normal(secret) in normal for secret in self.secrets):
            return "confidential data"
        prompt = _normal(self.instructions).split()
        runs = {" ".join(prompt[i : i + self.run]) for i in range(len(prompt) - self.run + 1)}
        words = normal.split()
        if any(" ".join(words[i : i + self.run]) in runs for i in range(len(words))):
            return "its instructions"
        return None


class KillSwitchEngaged(Exception):
    pass


class BudgetExceeded(Exception):
    pass


class Unconfirmed(Exception):
    pass


class PolicyViolation(Exception):
    pass


def kill_switch_engaged() -> bool:
    return os.environ.get(KILL_SWITCH_ENV, "") not in ("", "0")


@dataclass
class RefundGraph:
    model: BaseChatModel
    backends: Backends
    approve: Callable[[str, Mapping[str, object]], bool]
    confirm: Callable[[int], bool]
    escalate: Callable[[str, str, str], None]
    limits: Limits = field(default_factory=Limits)
    guard: DisclosureGuard = field(default_factory=DisclosureGuard)

    def __post_init__(self) -> None:
        self._unconfirmed_writes = 0

        @tool
        def orders_lookup(order_id: str) -> str:
            """Read an order and its charges."""
            return self._reach(
                "orders_lookup", lambda: json.dumps(self.backends.lookup_order(order_id))
            )

        @tool
        def payments_refund(order_id: str, amount: float) -> str:
            """Refund an amount to the card it was charged on (a human approves it first)."""
            return self._reach("payments_refund", lambda: self.backends.refund(order_id, amount))

        @tool
        def payments_store_credit(order_id: str, amount: float) -> str:
            """Refund an amount as store credit (a human approves it first)."""
            return self._reach(
                "payments_store_credit", lambda: self.backends.store_credit(order_id, amount)
            )

        @tool
        def customer_notify(order_id: str, message: str) -> str:
            """Tell the customer what happened to their order (no approval needed)."""
            return self._reach("customer_notify", lambda: self.backends.notify(order_id, message))

        @before_model
        def stop_before_model(state: AgentState, runtime: Any) -> None:
            if kill_switch_engaged():
                raise KillSwitchEngaged("the kill switch is engaged")
            spent = sum(
                (message.usage_metadata or {}).get("total_tokens", 0)
                for message in state["messages"]
                if isinstance(message, AIMessage)
            )
            if spent >= self.limits.tokens_per_session:
                raise BudgetExceeded(
                    f"{spent} tokens spent, tokens_per_session {self.limits.tokens_per_session}"
                )

        @wrap_tool_call
        def before_each_tool(request: Any, handler: Callable[[Any], Any]) -> Any:
            name = request.tool_call["name"]
            if kill_switch_engaged():
                raise KillSwitchEngaged(f"{name} not run: the kill switch is engaged")
            problem = self.guard.problem(json.dumps(request.tool_call["args"], default=str))
            if problem:
                raise PolicyViolation(f"{name} call blocked: it carries {problem}")
            if name in AUTONOMOUS_WRITES:
                self._hold_after_unconfirmed_writes()
            return handler(request)

        self.tools = [orders_lookup, payments_refund, payments_store_credit, customer_notify]
        self.agent = create_agent(
            self.model,
            tools=self.tools,
            system_prompt=INSTRUCTIONS,
            name=AGENT_NAME,
            middleware=[
                stop_before_model,
                ToolCallLimitMiddleware(
                    thread_limit=self.limits.tool_calls_per_session, exit_behavior="error"
                ),
                HumanInTheLoopMiddleware(interrupt_on=dict.fromkeys(NEEDS_APPROVAL, True)),
                before_each_tool,
            ],
            checkpointer=InMemorySaver(),
        )

    @property
    def tool_names(self) -> list[str]:
        return [each.name for each in self.tools]

    def _reach(self, name: str, act: Callable[[], str]) -> str:
        try:
            return act()
        except ConnectionError as error:
            self.escalate("tool_error", OWNERS["tool_error"], f"{name}: {error}")
            return f"{name} is unavailable; tell the customer we will follow up"

    def _hold_after_unconfirmed_writes(self) -> None:
        limit = self.limits.sequential_actions_without_confirmation
        if self._unconfirmed_writes >= limit:
            if not self.confirm(self._unconfirmed_writes):
                raise Unconfirmed(f"{self._unconfirmed_writes} writes without confirmation")
            self._unconfirmed_writes = 0
        self._unconfirmed_writes += 1

    def run(self, task: str) -> str:
        config = {
            "configurable": {"thread_id": str(uuid.uuid4())},
            "recursion_limit": self.limits.recursion_limit,
        }
        try:
            state = self.agent.invoke({"messages": [{"role": "user", "content": task}]}, config)
            while "__interrupt__" in state:
                decisions = [
                    self._decide(action)
                    for interrupt in state["__interrupt__"]
                    for action in interrupt.value["action_requests"]
                ]
                state = self.agent.invoke(Command(resume={"decisions": decisions}), config)
            answer = str(state["messages"][-1].content)
            problem = self.guard.problem(answer)
            if problem:
                raise PolicyViolation(f"answer withheld: it carries {problem}")
            return answer
        except KillSwitchEngaged:
            return "halted by kill switch"
        except (BudgetExceeded, ToolCallLimitExceededError, GraphRecursionError) as error:
            self.escalate("budget_exceeded", OWNERS["budget_exceeded"], str(error))
            return "stopped: budget exceeded"
        except Unconfirmed as error:
            self.escalate("low_confidence", OWNERS["low_confidence"], str(error))
            return "stopped: not confirmed"
        except PolicyViolation as error:
            self.escalate("policy_violation", OWNERS["policy_violation"], str(error))
            return "stopped: policy violation"

    def _decide(self, action: Mapping[str, Any]) -> dict[str, str]:
        name, arguments = action["name"], dict(action["args"])
        if self.approve(name, arguments):
            self._unconfirmed_writes = 0  # a human just looked at this session
            return {"type": "approve"}
        self.escalate(
            "policy_violation", OWNERS["policy_violation"], f"a human denied {name} {arguments}"
        )
        return {"type": "reject", "message": f"A human denied {name}."}
