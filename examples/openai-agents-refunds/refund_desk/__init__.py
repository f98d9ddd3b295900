"""A refund agent on the OpenAI Agents SDK, with its guardrails in code around the framework.

The SDK has no tool-call or token limit and no kill switch, so run hooks hold them: before
every model request the kill switch and the token budget; when the model answers, before any
call it asked for starts, the kill switch and the tool-call budget; before every tool call the
kill switch and, for writes no human approves, the hold for confirmation.
Both refund tools need approval (``needs_approval=True``); a denied refund is a policy
violation. Every approval round runs inside one ``agents.trace`` so a resumed run's spans join
the session's trace. Escalations name a failure state; whoever wires the desk routes each state
to its owner (``escalate(state, detail)``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents import (
    Agent,
    MaxTurnsExceeded,
    Model,
    RunContextWrapper,
    RunHooks,
    Runner,
    Tool,
    function_tool,
    trace,
)
from agents.exceptions import UserError
from agents.items import ModelResponse

AGENT_NAME = "refund-agent"
KILL_SWITCH_ENV = "REFUND_AGENT_DISABLED"
INSTRUCTIONS = "Look up the order, then propose a refund only for a duplicate charge."
AUTONOMOUS_WRITES = frozenset({"customer_notify"})


@dataclass(frozen=True)
class Limits:
    tool_calls_per_session: int = 12
    tokens_per_session: int = 8000
    sequential_actions_without_confirmation: int = 4
    max_turns: int = 40


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


class SessionGuard(RunHooks[Any]):
    """One session's counters, checked by the SDK's run hooks across every approval round."""

    def __init__(self, limits: Limits, confirm: Callable[[int], bool]) -> None:
        self.limits = limits
        self.confirm = confirm
        self.tool_calls = 0
        self.tokens = 0
        self.unconfirmed_writes = 0

    async def on_llm_start(
        self, context: RunContextWrapper[Any], agent: Agent[Any], *_: Any
    ) -> None:
        if kill_switch_engaged():
            raise KillSwitchEngaged("the kill switch is engaged")
        if self.tokens >= self.limits.tokens_per_session:
            raise BudgetExceeded(
                f"{self.tokens} tokens spent, tokens_per_session {self.limits.tokens_per_session}"
            )

    async def on_llm_end(
        self, context: RunContextWrapper[Any], agent: Agent[Any], response: ModelResponse
    ) -> None:
        # Checked here, after the model answered and before any call it asked for starts, so
        # parallel calls count one each and a refused call never starts.
        if kill_switch_engaged():
            raise KillSwitchEngaged("the kill switch is engaged")
        self.tokens += response.usage.total_tokens
        asked = sum(1 for item in response.output if item.type == "function_call")
        if self.tool_calls + asked > self.limits.tool_calls_per_session:
            raise BudgetExceeded(
                f"{asked} more tool calls would pass tool_calls_per_session "
                f"{self.limits.tool_calls_per_session} ({self.tool_calls} so far)"
            )
        self.tool_calls += asked

    async def on_tool_start(
        self, context: RunContextWrapper[Any], agent: Agent[Any], tool: Tool
    ) -> None:
        if kill_switch_engaged():
            raise KillSwitchEngaged(f"{tool.name} not run: the kill switch is engaged")
        if tool.name in AUTONOMOUS_WRITES:
            if self.unconfirmed_writes >= self.limits.sequential_actions_without_confirmation:
                if not self.confirm(self.unconfirmed_writes):
                    raise Unconfirmed(f"{self.unconfirmed_writes} writes without confirmation")
                self.unconfirmed_writes = 0
            self.unconfirmed_writes += 1


@dataclass
class RefundDesk:
    model: Model | str
    backends: Backends
    approve: Callable[[str, Mapping[str, object]], bool]
    confirm: Callable[[int], bool]
    escalate: Callable[[str, str], None]  # (state, detail): routed to the state's owner
    limits: Limits = field(default_factory=Limits)
    guard: DisclosureGuard = field(default_factory=DisclosureGuard)

    def __post_init__(self) -> None:
        @function_tool(failure_error_function=None)
        def orders_lookup(order_id: str) -> str:
            """Read an order and its charges."""
            self._screen("orders_lookup", order_id)
            return self._reach(
                "orders_lookup", lambda: json.dumps(self.backends.lookup_order(order_id))
            )

        @function_tool(needs_approval=True, failure_error_function=None)
        def payments_refund(order_id: str, amount: float) -> str:
            """Refund an amount to the card it was charged on (a human approves it first)."""
            self._screen("payments_refund", order_id)
            return self._reach("payments_refund", lambda: self.backends.refund(order_id, amount))

        @function_tool(needs_approval=True, failure_error_function=None)
        def payments_store_credit(order_id: str, amount: float) -> str:
            """Refund an amount as store credit (a human approves it first)."""
            self._screen("payments_store_credit", order_id)
            return self._reach(
                "payments_store_credit", lambda: self.backends.store_credit(order_id, amount)
            )

        @function_tool(failure_error_function=None)
        def customer_notify(order_id: str, message: str) -> str:
            """Tell the customer what happened to their order (no approval needed)."""
            self._screen("customer_notify", order_id, message)
            return self._reach("customer_notify", lambda: self.backends.notify(order_id, message))

        self.tools = [orders_lookup, payments_refund, payments_store_credit, customer_notify]
        self.agent: Agent[Any] = Agent(
            name=AGENT_NAME, instructions=INSTRUCTIONS, model=self.model, tools=self.tools
        )

    @property
    def tool_names(self) -> list[str]:
        return [tool.name for tool in self.tools]

    def _screen(self, tool: str, *arguments: object) -> None:
        problem = self.guard.problem(" ".join(str(argument) for argument in arguments))
        if problem:
            raise PolicyViolation(f"{tool} call blocked: it carries {problem}")

    def _reach(self, tool: str, act: Callable[[], str]) -> str:
        try:
            return act()
        except ConnectionError as error:
            self.escalate("tool_error", f"{tool}: {error}")
            return f"{tool} is unavailable; tell the customer we will follow up"

    async def run(self, task: str) -> str:
        guard = SessionGuard(self.limits, self.confirm)
        try:
            with trace(f"{AGENT_NAME} session"):
                result = await Runner.run(
                    self.agent, task, hooks=guard, max_turns=self.limits.max_turns
                )
                while result.interruptions:
                    state = result.to_state()
                    for item in result.interruptions:
                        self._decide(state, item, guard)
                    result = await Runner.run(
                        self.agent, state, hooks=guard, max_turns=self.limits.max_turns
                    )
            answer = str(result.final_output)
            problem = self.guard.problem(answer)
            if problem:
                raise PolicyViolation(f"answer withheld: it carries {problem}")
            return answer
        except UserError as error:
            # A hook or tool that raises reaches us wrapped; what it raised says why.
            return self._stopped(error.__cause__ or error)
        except (KillSwitchEngaged, BudgetExceeded, Unconfirmed, PolicyViolation) as error:
            return self._stopped(error)
        except MaxTurnsExceeded as error:
            return self._stopped(BudgetExceeded(str(error)))

    def _decide(self, state: Any, item: Any, guard: SessionGuard) -> None:
        """Ask a human about one held call (the hooks counted it when the model asked)."""
        arguments = json.loads(item.raw_item.arguments or "{}")
        if self.approve(item.tool_name, arguments):
            state.approve(item)
            guard.unconfirmed_writes = 0  # a human just looked at this session
            return
        state.reject(item)
        self.escalate(
            "policy_violation",
            f"a human denied {item.tool_name} {arguments}",
        )

    def _stopped(self, cause: BaseException) -> str:
        if isinstance(cause, KillSwitchEngaged):
            return "halted by kill switch"
        if isinstance(cause, BudgetExceeded):
            self.escalate("budget_exceeded", str(cause))
            return "stopped: budget exceeded"
        if isinstance(cause, Unconfirmed):
            self.escalate("low_confidence", str(cause))
            return "stopped: not confirmed"
        if isinstance(cause, PolicyViolation):
            self.escalate("policy_violation", str(cause))
            return "stopped: policy violation"
        raise cause
