"""A refund agent built on PydanticAI, with its guardrails in code around the framework.

- budgets: PydanticAI's ``UsageLimits`` (tool calls, tokens), carried across approval rounds;
- approval: ``payments.refund`` is a deferred tool (``requires_approval=True``); a human decides
  each call through ``approve`` before the run resumes;
- kill switch: read between every step of ``agent.iter()``, so a thrown switch stops the run at
  the next model request or tool call;
- escalation: tool errors, budget overruns, calls to tools the agent does not have, and too many
  unconfirmed actions each reach their owner;
- tracing: PydanticAI's own OpenTelemetry GenAI instrumentation.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class Limits:
    tool_calls_per_session: int = 12
    tokens_per_session: int = 8000
    sequential_actions_without_confirmation: int = 6


@dataclass
class Backends:
    """The systems the tools reach: callables so tests can stand doubles in."""

    lookup_order: Callable[[str], dict[str, Any]]
    refund: Callable[[str, float], str]


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
        self._unconfirmed = 0

        def orders_lookup(order_id: str) -> dict[str, Any]:
            """Read an order."""
            self._screen("orders.lookup", {"order_id": order_id})
            self._count_action()
            try:
                return self.backends.lookup_order(order_id)
            except ConnectionError as error:
                self.escalate("tool_error", OWNERS["tool_error"], f"orders.lookup: {error}")
                return {"error": "orders service unavailable"}

        def payments_refund(order_id: str, amount: float) -> str:
            """Refund an order (a human approves every call first)."""
            self._screen("payments.refund", {"order_id": order_id, "amount": amount})
            self._count_action()
            return self.backends.refund(order_id, amount)

        self.agent: Agent[None, str | DeferredToolRequests] = Agent(
            self.model,
            name=AGENT_NAME,
            instructions=INSTRUCTIONS,
            output_type=[str, DeferredToolRequests],
            tools=[
                Tool(orders_lookup, name="orders.lookup"),
                Tool(payments_refund, name="payments.refund", requires_approval=True),
            ],
        )
        if self.tracer_provider is not None:
            self.agent.instrument = InstrumentationSettings(tracer_provider=self.tracer_provider)

    @property
    def tool_names(self) -> list[str]:
        return ["orders.lookup", "payments.refund"]

    def _screen(self, tool: str, arguments: Mapping[str, object]) -> None:
        problem = self.guard.problem(json.dumps(dict(arguments), default=str))
        if problem:
            raise PolicyViolation(f"{tool} call blocked: it carries {problem}")

    def _count_action(self) -> None:
        self._unconfirmed += 1
        if self._unconfirmed > self.limits.sequential_actions_without_confirmation:
            if not self.confirm(self._unconfirmed - 1):
                raise Unconfirmed(f"{self._unconfirmed - 1} actions without confirmation")
            self._unconfirmed = 1

    @staticmethod
    def disabled() -> bool:
        return os.environ.get(KILL_SWITCH_ENV, "") not in ("", "0")

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
                if output is None:
                    return "halted by kill switch"
                if not isinstance(output, DeferredToolRequests):
                    problem = self.guard.problem(output)
                    if problem:
                        raise PolicyViolation(f"answer withheld: it carries {problem}")
                    return output
                decisions: dict[str, bool] = {}
                for call in output.approvals:
                    decisions[call.tool_call_id] = self.approve(call.tool_name, call.args_as_dict())
                deferred = DeferredToolResults(approvals=decisions)
                prompt = None
        except UsageLimitExceeded as error:
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
    ) -> tuple[str | DeferredToolRequests | None, list[ModelMessage], RunUsage]:
        async with self.agent.iter(
            prompt,
            message_history=history,
            deferred_tool_results=deferred,
            usage_limits=limits,
            usage=usage,
        ) as run:
            async for node in run:
                if self.disabled():
                    return None, run.all_messages(), run.usage
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


class Unconfirmed(Exception):
    pass


class PolicyViolation(Exception):
    pass
