"""A refund agent built on PydanticAI, with its guardrails in code around the framework.

- kill switch: read before every model request (between the steps of ``agent.iter()``) and
  before every tool call (in the tool, so parallel calls in one response each check it);
- budgets: PydanticAI's ``UsageLimits`` (tool calls, tokens), carried across approval rounds,
  plus the agent's own count of the calls held for approval, which ``UsageLimits`` sees only
  once they run;
- approval: both refund tools are deferred (``requires_approval=True``); a human decides each
  call through ``approve`` before the run resumes. A denied refund is a policy violation;
- confirmation: after ``sequential_actions_without_confirmation`` writes that ran without a
  human (customer notifications), the agent holds until someone confirms; reads do not count
  and an approved refund is itself a confirmation;
- escalation: tool errors, budget overruns, denied approvals and calls to tools the agent does
  not have each reach their owner;
- tracing: PydanticAI's own OpenTelemetry GenAI instrumentation.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from opentelemetry.trace import TracerProvider
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, Tool
from pydantic_ai.exceptions import UsageLimitExceeded
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models import Model
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.usage import RunUsage, UsageLimits

AGENT_NAME = "refund-agent"
KILL_SWITCH_ENV = "REFUND_AGENT_DISABLED"
INSTRUCTIONS = "Look up the order, then propose a refund only for a duplicate charge."

OWNERS = {
    "tool_error": "payments-oncall@example.com",
    "budget_exceeded": "maya.chen@example.com",
    "policy_violation": "security@example.com",
    "low_confidence": "payments-oncall@example.com",
}

Result = TypeVar("Result")


@dataclass(frozen=True)
class Limits:
    tool_calls_per_session: int = 12
    tokens_per_session: int = 8000
    sequential_actions_without_confirmation: int = 4


@dataclass
class Backends:
    """The systems the tools reach: callables so tests can stand doubles in."""

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


class Unconfirmed(Exception):
    pass


class PolicyViolation(Exception):
    pass


class ApprovedCallBudgetExceeded(Exception):
    pass


@dataclass
class RefundAgent:
    model: Model
    backends: Backends
    approve: Callable[[str, Mapping[str, object]], bool]
    confirm: Callable[[int], bool]
    escalate: Callable[[str, str, str], None]
    tracer_provider: TracerProvider | None = None
    limits: Limits = field(default_factory=Limits)
    guard: DisclosureGuard = field(default_factory=DisclosureGuard)

    def __post_init__(self) -> None:
        self._unconfirmed_writes = 0

        def orders_lookup(order_id: str) -> dict[str, Any] | str:
            """Read an order and its charges."""
            self._before_tool("orders.lookup", {"order_id": order_id})
            return self._reach("orders.lookup", self.backends.lookup_order, order_id)

        def payments_refund(order_id: str, amount: float) -> str:
            """Refund an amount to the card it was charged on (a human approves it first)."""
            self._before_tool("payments.refund", {"order_id": order_id, "amount": amount})
            return self._reach("payments.refund", self.backends.refund, order_id, amount)

        def payments_store_credit(order_id: str, amount: float) -> str:
            """Refund an amount as store credit (a human approves it first)."""
            self._before_tool("payments.store_credit", {"order_id": order_id, "amount": amount})
            credit = self.backends.store_credit
            return self._reach("payments.store_credit", credit, order_id, amount)

        def customer_notify(order_id: str, message: str) -> str:
            """Tell the customer what happened to their order (no approval needed)."""
            self._before_tool("customer.notify", {"order_id": order_id, "message": message})
            self._hold_after_unconfirmed_writes()
            return self._reach("customer.notify", self.backends.notify, order_id, message)

        self.agent: Agent[None, str | DeferredToolRequests] = Agent(
            self.model,
            name=AGENT_NAME,
            instructions=INSTRUCTIONS,
            output_type=[str, DeferredToolRequests],
            tools=[
                Tool(orders_lookup, name="orders.lookup"),
                Tool(payments_refund, name="payments.refund", requires_approval=True),
                Tool(payments_store_credit, name="payments.store_credit", requires_approval=True),
                Tool(customer_notify, name="customer.notify"),
            ],
        )
        if self.tracer_provider is not None:
            self.agent.instrument = InstrumentationSettings(tracer_provider=self.tracer_provider)

    @property
    def tool_names(self) -> list[str]:
        return ["orders.lookup", "payments.refund", "payments.store_credit", "customer.notify"]

    # -- guardrails ---------------------------------------------------------------------------

    @staticmethod
    def disabled() -> bool:
        return os.environ.get(KILL_SWITCH_ENV, "") not in ("", "0")

    def _before_tool(self, tool: str, arguments: Mapping[str, object]) -> None:
        if self.disabled():
            raise KillSwitchEngaged(f"{tool} not run: the kill switch is engaged")
        problem = self.guard.problem(json.dumps(dict(arguments), default=str))
        if problem:
            raise PolicyViolation(f"{tool} call blocked: it carries {problem}")

    def _reach(self, tool: str, backend: Callable[..., Result], *arguments: Any) -> Result | str:
        try:
            return backend(*arguments)
        except ConnectionError as error:
            self.escalate("tool_error", OWNERS["tool_error"], f"{tool}: {error}")
            return f"{tool} is unavailable; tell the customer we will follow up"

    def _hold_after_unconfirmed_writes(self) -> None:
        limit = self.limits.sequential_actions_without_confirmation
        if self._unconfirmed_writes >= limit:
            if not self.confirm(self._unconfirmed_writes):
                raise Unconfirmed(f"{self._unconfirmed_writes} writes without confirmation")
            self._unconfirmed_writes = 0
        self._unconfirmed_writes += 1

    def _decide(self, requests: DeferredToolRequests, usage: RunUsage) -> DeferredToolResults:
        """Ask a human about each held call. ``UsageLimits`` counts a held call only once it
        runs, so calls approved in this round count here: nobody is asked to approve a call
        the budget would refuse."""
        decisions: dict[str, bool] = {}
        for call in requests.approvals:
            spent = usage.tool_calls + sum(decisions.values())
            if spent >= self.limits.tool_calls_per_session:
                raise ApprovedCallBudgetExceeded(
                    f"{spent} tool calls; {call.tool_name} would pass tool_calls_per_session "
                    f"{self.limits.tool_calls_per_session}"
                )
            granted = self.approve(call.tool_name, call.args_as_dict())
            decisions[call.tool_call_id] = granted
            if granted:
                self._unconfirmed_writes = 0  # a human just looked at this session
            else:
                self.escalate(
                    "policy_violation",
                    OWNERS["policy_violation"],
                    f"a human denied {call.tool_name} {call.args_as_dict()}",
                )
        return DeferredToolResults(approvals=decisions)

    # -- running ------------------------------------------------------------------------------

    def run(self, task: str) -> str:
        return asyncio.run(self._run(task))

    async def _run(self, task: str) -> str:
        limits = UsageLimits(
            tool_calls_limit=self.limits.tool_calls_per_session,
            total_tokens_limit=self.limits.tokens_per_session,
            request_limit=None,
        )
        usage = RunUsage()
        history: list[ModelMessage] | None = None
        deferred: DeferredToolResults | None = None
        prompt: str | None = task
        try:
            while True:
                output, history, usage = await self._step(prompt, history, deferred, limits, usage)
                if not isinstance(output, DeferredToolRequests):
                    problem = self.guard.problem(output)
                    if problem:
                        raise PolicyViolation(f"answer withheld: it carries {problem}")
                    return output
                deferred = self._decide(output, usage)
                prompt = None
        except KillSwitchEngaged:
            return "halted by kill switch"
        except (UsageLimitExceeded, ApprovedCallBudgetExceeded) as error:
            self.escalate("budget_exceeded", OWNERS["budget_exceeded"], str(error))
            return "stopped: budget exceeded"
        except Unconfirmed as error:
            self.escalate("low_confidence", OWNERS["low_confidence"], str(error))
            return "stopped: not confirmed"
        except PolicyViolation as error:
            self.escalate("policy_violation", OWNERS["policy_violation"], str(error))
            return "stopped: policy violation"

    async def _step(
        self,
        prompt: str | None,
        history: list[ModelMessage] | None,
        deferred: DeferredToolResults | None,
        limits: UsageLimits,
        usage: RunUsage,
    ) -> tuple[str | DeferredToolRequests, list[ModelMessage], RunUsage]:
        async with self.agent.iter(
            prompt,
            message_history=history,
            deferred_tool_results=deferred,
            usage_limits=limits,
            usage=usage,
        ) as run:
            async for node in run:
                if self.disabled():
                    raise KillSwitchEngaged("the kill switch is engaged")
                response = getattr(node, "model_response", None)
                if isinstance(response, ModelResponse):
                    unknown = [
                        part.tool_name
                        for part in response.parts
                        if isinstance(part, ToolCallPart) and part.tool_name not in self.tool_names
                    ]
                    if unknown:
                        raise PolicyViolation(f"the model asked for undeclared tools {unknown}")
            assert run.result is not None
            return run.result.output, run.all_messages(), run.usage
