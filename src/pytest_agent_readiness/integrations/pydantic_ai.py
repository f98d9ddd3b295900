"""PydanticAI integration: the scripted model as a ``FunctionModel``, and instrumentation::

    scripted = ScriptedModel.runaway("lookup")
    agent = Agent(function_model(scripted), tools=[...], name="triage-bot")
    instrument(agent, capture.tracer_provider)
    asyncio.run(agent.run("task", usage_limits=UsageLimits(tool_calls_limit=5)))

``run_sync`` leaves an event loop behind per calling thread (a ResourceWarning under
``-W error``); prefer ``asyncio.run(agent.run(...))`` in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..scripted import ModelContext, ScriptedModel, ToolResult
from . import IntegrationUnavailable

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage
    from pydantic_ai.models.function import FunctionModel
    from pydantic_ai.models.instrumented import InstrumentationSettings

__all__ = ["INSTALL_HINT", "context_from_messages", "function_model", "instrument"]

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
