"""PydanticAI integration: the scripted model as a ``FunctionModel``, instrumentation, and the
handle an adapter returns::

    @adapter("refund_agent")
    def refund_agent(harness):
        return pydantic_ai_handle(harness, build_agent(model=harness.pydantic_ai_model()))

:func:`pydantic_ai_handle` instruments the agent onto ``harness.tracer_provider``, lists its
tools with sample arguments read off their schemas, wraps its toolsets (PydanticAI's public
``WrapperToolset``, entered with ``agent.override``) so every tool execution lands in the
effects ledger and the tool-error probe's fault is raised in the tool's place, and, unless the
agent brings its own ``run``, runs it with every deferred ``requires_approval`` call decided by
``harness.request_approval``.

``run_sync`` leaves an event loop behind per calling thread (a ResourceWarning under
``-W error``); prefer ``asyncio.run(agent.run(...))`` in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..handle import AgentHandle
from ..monitor import wire_chosen_monitor
from ..scripted import ModelContext, ScriptedModel, ToolResult
from . import IntegrationUnavailable
from ._shared import ToolEffects, inside, sample_arguments

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage
    from pydantic_ai.models.function import FunctionModel
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.toolsets import AbstractToolset

    from ..harness import Harness

__all__ = [
    "INSTALL_HINT",
    "context_from_messages",
    "function_model",
    "instrument",
    "pydantic_ai_handle",
    "tool_samples",
]

INSTALL_HINT = "pydantic-ai is not installed: pip install pytest-agent-readiness[pydantic-ai]"


def _require_pydantic_ai() -> None:
    try:
        import pydantic_ai  # noqa: F401
    except ImportError as error:
        raise IntegrationUnavailable(INSTALL_HINT) from error


def context_from_messages(messages: Sequence[ModelMessage]) -> ModelContext:
    """The :class:`ModelContext` for a PydanticAI request: the task (first user prompt) and the
    tool results sent back since the model's last response."""
    _require_pydantic_ai()
    task: str | None = None
    fresh: list[ToolResult] = []
    for message in messages:
        if message.kind == "response":
            # Results the model has already answered were recorded on an earlier turn.
            fresh = []
            continue
        for part in message.parts:
            if part.part_kind == "user-prompt" and task is None and isinstance(part.content, str):
                task = part.content
            elif part.part_kind == "tool-return":
                outcome = getattr(part, "outcome", "success")
                fresh.append(
                    ToolResult(part.tool_call_id, part.content, part.tool_name, str(outcome))
                )
            elif part.part_kind == "retry-prompt" and part.tool_name is not None:
                # PydanticAI before 2.x sent a failed tool call back as a retry prompt.
                fresh.append(ToolResult(part.tool_call_id, part.content, part.tool_name, "retried"))
    return ModelContext(task=task, tool_results=tuple(fresh), messages=tuple(messages))


def function_model(scripted: ScriptedModel, *, model_name: str = "scripted") -> FunctionModel:
    """A PydanticAI ``FunctionModel`` that plays ``scripted``.

    Each turn becomes a ``ModelResponse`` of ``ToolCallPart``s (several are parallel calls) and
    a ``TextPart``, with the turn's ``RequestUsage``; the ``ToolReturnPart``s in the messages
    PydanticAI sends are recorded as the scripted model's returned results.
    """
    _require_pydantic_ai()
    from pydantic_ai.messages import ModelResponse, ModelResponsePart, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel
    from pydantic_ai.usage import RequestUsage

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        turn = scripted.next_turn(context_from_messages(messages))
        parts: list[ModelResponsePart] = [
            ToolCallPart(call.name, dict(call.arguments), tool_call_id=call.call_id or "")
            for call in turn.tool_calls
        ]
        if turn.text is not None:
            parts.append(TextPart(turn.text))
        return ModelResponse(
            parts=parts,
            usage=RequestUsage(input_tokens=turn.input_tokens, output_tokens=turn.output_tokens),
            model_name=model_name,
        )

    return FunctionModel(respond, model_name=model_name)


def instrument(
    agent: Agent[Any, Any], tracer_provider: TracerProvider, *, include_content: bool = True
) -> InstrumentationSettings:
    """Make ``agent`` emit GenAI spans to ``tracer_provider`` (usually ``capture.tracer_provider``).

    ``include_content`` keeps tool arguments and results on the spans, which the harness reads.
    Returns the settings it set on the agent.
    """
    _require_pydantic_ai()
    from pydantic_ai.models.instrumented import InstrumentationSettings

    settings = InstrumentationSettings(
        tracer_provider=tracer_provider, include_content=include_content
    )
    agent.instrument = settings
    return settings


def tool_samples(agent: Agent[Any, Any]) -> dict[str, dict[str, object]]:
    """Each function tool the agent has, with benign arguments read off its JSON schema."""
    _require_pydantic_ai()
    from pydantic_ai.toolsets import FunctionToolset

    found: dict[str, dict[str, object]] = {}
    for toolset in agent.toolsets:
        if isinstance(toolset, FunctionToolset):
            for name, tool in toolset.tools.items():
                found[name] = sample_arguments(tool.tool_def.parameters_json_schema)
    return found


def _recording(toolset: AbstractToolset[Any], effects: ToolEffects) -> AbstractToolset[Any]:
    from pydantic_ai.toolsets import WrapperToolset

    class RecordedToolset(WrapperToolset[Any]):
        """Every call that really runs lands in the effects ledger."""

        async def call_tool(self, name: str, tool_args: dict[str, Any], ctx: Any, tool: Any) -> Any:
            # A call held for approval never reaches a toolset's call_tool until approved.
            effects.before(name, tool_args)
            result = await super().call_tool(name, tool_args, ctx, tool)
            effects.after(name, tool_args)
            return result

    return RecordedToolset(toolset)


async def run_with_approvals(harness: Harness, agent: Agent[Any, Any], task: str) -> Any:
    """Run ``agent`` on ``task`` to its answer, each round of deferred calls decided by
    ``harness.request_approval`` (the agent's ``output_type`` includes
    ``DeferredToolRequests``); usage carries across the rounds."""
    from pydantic_ai import DeferredToolRequests, DeferredToolResults

    result = await agent.run(task)
    while isinstance(result.output, DeferredToolRequests):
        decisions: dict[str, Any] = {
            call.tool_call_id: harness.request_approval(call.tool_name, call.args_as_dict())
            for call in result.output.approvals
        }
        result = await agent.run(
            message_history=result.all_messages(),
            deferred_tool_results=DeferredToolResults(approvals=decisions),
            usage=result.usage(),
        )
    return result.output


def pydantic_ai_handle(
    harness: Harness,
    agent: Agent[Any, Any],
    *,
    run: Callable[[str], Any] | None = None,
    samples: Mapping[str, Mapping[str, object]] | None = None,
    record_effects: bool = True,
    monitor: bool | Callable[[Harness], object] = True,
) -> AgentHandle:
    """The :class:`AgentHandle` for a PydanticAI ``agent`` built on ``harness.pydantic_ai_model()``.

    - ``run``: the agent's own session function (sync or ``async def``) when it has one (its
      approval loop, limits, escalations); by default :func:`run_with_approvals`;
    - ``samples``: sample arguments for tools whose schema-derived ones do not suit;
    - ``record_effects``: False when the agent's test doubles record to ``harness.effects``
      themselves (each action must be recorded once);
    - ``monitor``: the alert monitor, for an agent that declares alerts: the reference monitor
      by default, ``False`` for none, or a function that wires your own (see
      :func:`~pytest_agent_readiness.monitor.wire_chosen_monitor`).
    """
    _require_pydantic_ai()
    instrument(agent, harness.tracer_provider)
    wire_chosen_monitor(harness, monitor)
    effects = ToolEffects(harness)
    originals = list(agent.toolsets)

    @contextmanager
    def recorded() -> Iterator[None]:
        if not record_effects:
            yield
            return
        # ``tools=[]`` empties the agent's own function toolset; the wrapped one replaces it.
        with agent.override(tools=[], toolsets=[_recording(t, effects) for t in originals]):
            yield

    async def default(task: str) -> Any:
        return await run_with_approvals(harness, agent, task)

    tools = {**tool_samples(agent), **{k: dict(v) for k, v in (samples or {}).items()}}
    return AgentHandle(run=inside(recorded, run or default), tools=tools)
