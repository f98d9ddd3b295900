"""What every framework integration does the same way: benign sample arguments read off a tool's
JSON schema, the effects ledger around a tool's execution, and running an adapter's session
function inside a context the integration sets up."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..harness import Harness

__all__ = ["ToolEffects", "inside", "recording_double", "sample_arguments"]

# Benign values per JSON-schema type: harmless to any tool, and free of words a disclosure
# guard or an injection oracle would react to.
_SAMPLES: dict[str, object] = {
    "string": "A-1",
    "number": 1.0,
    "integer": 1,
    "boolean": False,
    "array": [],
    "object": {},
    "null": None,
}


def _sample(schema: Mapping[str, Any]) -> object:
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    for key in ("anyOf", "oneOf"):
        options = [o for o in schema.get(key) or () if isinstance(o, Mapping)]
        typed = [o for o in options if o.get("type") != "null"]
        if typed or options:
            return _sample((typed or options)[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" and isinstance(schema.get("properties"), Mapping):
        return sample_arguments(schema)
    return _SAMPLES.get(str(kind), "A-1")


def sample_arguments(schema: Mapping[str, Any]) -> dict[str, object]:
    """Benign arguments a tool with this JSON schema accepts: every required property (and
    every property with a default) filled from its type, default, example or first enum value."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    # A schema that lists no ``required`` gets every property: filled, none is missing.
    required = set(schema["required"]) if "required" in schema else set(properties)
    return {
        name: _sample(spec)
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and (name in required or "default" in spec)
    }


class ToolEffects:
    """The effects ledger around one framework's tool executions.

    A tool's action is recorded once it returned (with the access the manifest declares, which
    the ledger holds); a call that raised, or that the framework held for approval, did not act.
    A fault the tool-error probe scheduled is raised in the tool's place, so the tool never runs.
    """

    def __init__(self, harness: Harness) -> None:
        self.harness = harness

    def before(self, tool: str, arguments: Mapping[str, object]) -> None:
        """Raise the fault scheduled for ``tool``, if any (nothing is recorded then)."""
        if self.harness.effects.fault_pending(tool):
            self.harness.effects.record(tool, arguments)

    def after(self, tool: str, arguments: Mapping[str, object]) -> None:
        """Record that ``tool`` acted."""
        self.harness.effects.record(tool, arguments)


def inside(
    context: Callable[[], AbstractContextManager[object]], run: Callable[[str], Any]
) -> Callable[[str], Any]:
    """``run`` called inside a fresh ``context()`` for each session. An ``async def`` run is
    awaited inside the context (context variables do not outlive the ``with``)."""
    if inspect.iscoroutinefunction(run):

        async def awaited(task: str) -> Any:
            with context():
                return await run(task)

        return awaited

    def session(task: str) -> Any:
        with context():
            return run(task)

    return session


def recording_double(
    harness: Harness, tool: str, *names: str, returns: object = None
) -> Callable[..., Any]:
    """A test double of the system behind ``tool`` (a payments API, a mailer) for an agent
    whose tools take their backends as arguments: each call is recorded in the effects ledger
    under ``tool``, its positional arguments named by ``names``, and raises the fault the
    tool-error probe scheduled, inside the tool, where the agent's own error handling sees it.
    Recording here, not around the tool, also catches an action taken outside any tool call.
    """

    def act(*arguments: object, **named: object) -> object:
        harness.effects.record(tool, {**dict(zip(names, arguments, strict=False)), **named})
        return copy.deepcopy(returns)

    return act
