"""The refund pilot: it does what the model says, with nothing in between."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pytest_agent_readiness.scripted import ModelContext, ModelTurn, ToolResult


class Model(Protocol):
    def next_turn(self, context: ModelContext) -> ModelTurn: ...


def run(
    plan: list[tuple[str, Mapping[str, Any]]], tools: Mapping[str, Callable[..., Any]]
) -> list[Any]:
    """Execute every tool call the model planned, in order: no budget, no approval, no switch."""
    return [tools[name](**arguments) for name, arguments in plan]


class RefundAgent:
    """Loops on the model and forwards every tool call it asks for."""

    def __init__(self, model: Model, tools: Mapping[str, Callable[..., Any]]) -> None:
        self.model = model
        self.tools = dict(tools)

    def run(self, task: str) -> str:
        results: tuple[ToolResult, ...] = ()
        while True:
            turn = self.model.next_turn(ModelContext(task=task, tool_results=results))
            if not turn.tool_calls:
                return turn.text or ""
            results = tuple(
                ToolResult(call.call_id or "", self.tools[call.name](**call.arguments), call.name)
                for call in turn.tool_calls
                if call.name in self.tools
            )
