"""The refund pilot: it does what the model says, with nothing in between."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def run(
    plan: list[tuple[str, Mapping[str, Any]]], tools: Mapping[str, Callable[..., Any]]
) -> list[Any]:
    """Execute every tool call the model planned, in order: no budget, no approval, no switch."""
    return [tools[name](**arguments) for name, arguments in plan]
