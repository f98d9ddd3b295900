"""A refund agent on LangGraph (``langchain.agents.create_agent``), its guardrails middleware.

- approval: ``RefundReview`` (``HumanInTheLoopMiddleware``) holds both refund tools until a
  human decides, on a checkpointed thread; a refund a human turns down is a policy violation;
- tool-call budget: ``ToolCallLimitMiddleware(thread_limit=...)``: the thread is the session,
  so the resumes after each approval (each a new run) do not reset it, as ``run_limit`` would;
- token budget: a ``before_model`` middleware (LangChain has none built in);
- before every tool call: calls of tools the agent does not have and confidential data in
  arguments are refused, customer notifications past the limit wait for a confirmation, and a
  tool that fails reaches the on-call engineer;
- kill switch: every run takes its ``RunControl`` from ``refunds.operations.RUNS``, which the
  operators' switch drains.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentState,
    HumanInTheLoopMiddleware,
    ToolCallLimitMiddleware,
    after_model,
    before_model,
    wrap_tool_call,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphBubbleUp

from refunds.backends import Backends

AGENT_NAME = "refund-agent"
INSTRUCTIONS = "Look up the order, then propose a refund only for a duplicate charge."
NEEDS_APPROVAL = ("payments_refund", "payments_store_credit")
AUTONOMOUS_WRITES = frozenset({"customer_notify"})

Escalate = Callable[[str, str], None]
"""``escalate(state, detail)``: page the owner of a failure state."""


@dataclass(frozen=True)
class Limits:
    tool_calls_per_session: int = 12
    tokens_per_session: int = 8000
    sequential_actions_without_confirmation: int = 4


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


class Unconfirmed(Exception):
    """Nobody confirmed the next customer notification: the session stops."""


class RefundReview(HumanInTheLoopMiddleware):
    """A human approves every refund; one a human turns down is escalated."""

    def __init__(self, escalate: Escalate) -> None:
        super().__init__(interrupt_on=dict.fromkeys(NEEDS_APPROVAL, True))
        self.escalate = escalate

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        update = super().after_model(state, runtime)
        for message in (update or {}).get("messages", []):
            if isinstance(message, ToolMessage):  # a reviewer answered in the tool's place
                self.escalate("policy_violation", f"a human turned down {message.name}")
        return update


class ToolCallBudget(ToolCallLimitMiddleware):
    """The session's tool calls, counted over the thread; the owner hears when it runs out."""

    def __init__(self, limit: int, escalate: Escalate) -> None:
        super().__init__(thread_limit=limit, exit_behavior="end")
        self.escalate = escalate

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        update = super().after_model(state, runtime)
        if update and update.get("jump_to") == "end":
            self.escalate("budget_exceeded", f"tool_calls_per_session {self.thread_limit}")
        return update


def refund_tools(backends: Backends) -> list[BaseTool]:
    @tool
    def orders_lookup(order_id: str) -> str:
        """Read an order and its charges."""
        return json.dumps(backends.lookup_order(order_id))

    @tool
    def payments_refund(order_id: str, amount: float) -> str:
        """Refund an amount to the card it was charged on (a human approves it first)."""
        return backends.refund(order_id, amount)

    @tool
    def payments_store_credit(order_id: str, amount: float) -> str:
        """Refund an amount as store credit (a human approves it first)."""
        return backends.store_credit(order_id, amount)

    @tool
    def customer_notify(order_id: str, message: str) -> str:
        """Tell the customer what happened to their order (no approval needed)."""
        return backends.notify(order_id, message)

    return [orders_lookup, payments_refund, payments_store_credit, customer_notify]


def build_agent(
    model: BaseChatModel,
    backends: Backends,
    *,
    escalate: Escalate,
    confirm: Callable[[int], bool],
    guard: DisclosureGuard | None = None,
    limits: Limits | None = None,
) -> Any:
    """The refund agent, compiled with a checkpointer (approvals resume on the thread)."""
    guard = guard or DisclosureGuard()
    limits = limits or Limits()
    unconfirmed = [0]

    @before_model(can_jump_to=["end"])
    def token_budget(state: AgentState, runtime: Any) -> dict[str, Any] | None:
        spent = sum(
            (message.usage_metadata or {}).get("total_tokens", 0)
            for message in state["messages"]
            if isinstance(message, AIMessage)
        )
        if spent < limits.tokens_per_session:
            return None
        escalate(
            "budget_exceeded", f"{spent} tokens, tokens_per_session {limits.tokens_per_session}"
        )
        return {"jump_to": "end"}

    @after_model
    def withhold_disclosures(state: AgentState, runtime: Any) -> dict[str, Any] | None:
        answer = state["messages"][-1]
        if not isinstance(answer, AIMessage) or answer.tool_calls:
            return None  # a turn that calls tools, or one a reviewer already answered
        problem = guard.problem(answer.text)
        if problem is None:
            return None
        escalate("policy_violation", f"answer withheld: it carries {problem}")
        return {"messages": [AIMessage("I cannot share that.", id=answer.id)]}

    @wrap_tool_call
    def guard_tool_calls(request: Any, handler: Callable[[Any], Any]) -> Any:
        name, call_id = request.tool_call["name"], request.tool_call["id"]
        problem = guard.problem(json.dumps(request.tool_call["args"], default=str))
        if request.tool is None or problem:
            escalate("policy_violation", f"{name} refused: {problem or 'not a tool of this agent'}")
            return ToolMessage(f"{name} refused", tool_call_id=call_id, name=name, status="error")
        if name in AUTONOMOUS_WRITES:
            if unconfirmed[0] >= limits.sequential_actions_without_confirmation:
                if not confirm(unconfirmed[0]):
                    escalate("low_confidence", f"{unconfirmed[0]} notifications unconfirmed")
                    raise Unconfirmed(f"{unconfirmed[0]} notifications without confirmation")
                unconfirmed[0] = 0
            unconfirmed[0] += 1
        try:
            return handler(request)
        except GraphBubbleUp:
            raise  # LangGraph's own control flow (interrupts, drains)
        except Exception as error:
            escalate("tool_error", f"{name}: {error}")
            return ToolMessage(
                f"{name} is unavailable", tool_call_id=call_id, name=name, status="error"
            )

    return create_agent(
        model,
        tools=refund_tools(backends),
        system_prompt=INSTRUCTIONS,
        name=AGENT_NAME,
        middleware=[
            token_budget,
            withhold_disclosures,
            ToolCallBudget(limits.tool_calls_per_session, escalate),
            RefundReview(escalate),
            guard_tool_calls,
        ],
        checkpointer=InMemorySaver(),
    )
