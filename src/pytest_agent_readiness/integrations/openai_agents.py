"""OpenAI Agents SDK integration: the scripted model as an ``agents.Model``, tracing, and the
handle an adapter returns::

    @adapter("refund_desk")
    def refund_desk(harness):
        return openai_agents_handle(harness, build_agent(model=harness.openai_agents_model()))

- :class:`ScriptedAgentsModel` replays the harness script (parallel calls, scripted errors, call
  ids unique per session) and opens the ``generation_span(usage=...)`` a custom model must open
  itself for its token usage to be traced;
- :func:`instrument` puts OpenInference's instrumentor onto the harness's provider once per
  process; it replaces the SDK's trace processors (so nothing is exported to OpenAI) and is
  undone when the process exits;
- :func:`openai_agents_handle` wraps each function tool (a copy with its public
  ``on_invoke_tool`` wrapped) so every execution lands in the effects ledger and the tool-error
  probe's fault is raised in the tool's place, lists the tools with sample arguments read off
  their schemas, and, unless the agent brings its own ``run``, runs it with every
  ``needs_approval`` interruption decided by ``harness.request_approval``, all approval rounds
  inside one ``agents.trace`` (a resumed run's spans are dropped otherwise).
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext, suppress
from typing import TYPE_CHECKING, Any

from ..handle import AgentHandle
from ..monitor import wire_chosen_monitor
from ..scripted import ModelContext, ScriptedModel, ToolResult
from . import IntegrationUnavailable
from ._shared import ToolEffects, inside, sample_arguments

if TYPE_CHECKING:
    from agents import Agent, ModelResponse, RunHooks
    from opentelemetry.sdk.trace import TracerProvider

    from ..harness import Harness

__all__ = [
    "INSTALL_HINT",
    "CancelSwitch",
    "ScriptedAgentsModel",
    "context_of",
    "instrument",
    "openai_agents_handle",
    "run_with_approvals",
    "tool_samples",
    "uninstrument",
]

INSTALL_HINT = "openai-agents is not installed: pip install pytest-agent-readiness[openai-agents]"
WRAPPED = "__agent_readiness_recorded__"


def _require_agents() -> None:
    try:
        import agents  # noqa: F401
        import openinference.instrumentation.openai_agents  # noqa: F401
    except ImportError as error:
        raise IntegrationUnavailable(INSTALL_HINT) from error


def context_of(items: str | Sequence[Any]) -> ModelContext:
    """The harness's view of an Agents SDK request: the task and the tool outputs sent back
    since the model last answered."""
    if isinstance(items, str):
        return ModelContext(task=items)
    task: str | None = None
    names: dict[str, str] = {}
    fresh: list[ToolResult] = []
    entries: Sequence[Any] = items
    for item in entries:
        entry: dict[str, Any] = item if isinstance(item, dict) else item.model_dump()
        kind, role = entry.get("type"), entry.get("role")
        if role == "user" and task is None and isinstance(entry.get("content"), str):
            task = entry["content"]
        elif kind == "function_call":
            names[entry["call_id"]] = entry["name"]
            fresh = []
        elif role == "assistant":
            fresh = []
        elif kind == "function_call_output":
            call_id = entry["call_id"]
            fresh.append(ToolResult(call_id, entry.get("output"), names.get(call_id)))
    return ModelContext(task=task, tool_results=tuple(fresh), messages=tuple(items))


def _model_base() -> type[Any]:
    try:
        from agents import Model
    except ImportError as error:
        raise IntegrationUnavailable(INSTALL_HINT) from error
    return Model


class ScriptedAgentsModel(_model_base()):  # type: ignore[misc]
    """The harness's scripted model behind the Agents SDK's model interface."""

    def __init__(self, scripted: ScriptedModel, name: str = "scripted") -> None:
        self.scripted = scripted
        self.name = name

    def _answer(self, input: str | list[Any], tracing: Any) -> tuple[list[Any], Any]:
        """The next scripted turn: its output items and its usage (on a generation span)."""
        from agents import Usage
        from agents.tracing import generation_span
        from openai.types.responses import (
            ResponseFunctionToolCall,
            ResponseOutputMessage,
            ResponseOutputText,
        )

        turn = self.scripted.next_turn(context_of(input))
        usage = {"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens}
        if not tracing.is_disabled():
            # A custom model's usage is invisible unless it opens this span itself.
            with generation_span(model=self.name, usage=usage):
                pass
        output: list[Any] = [
            ResponseFunctionToolCall(
                type="function_call",
                id=f"fc_{call.call_id}",
                call_id=call.call_id or "",
                name=call.name,
                arguments=json.dumps(dict(call.arguments)),
                status="completed",
            )
            for call in turn.tool_calls
        ]
        if turn.text is not None:
            text = ResponseOutputText(type="output_text", text=turn.text, annotations=[])
            output.append(
                ResponseOutputMessage(
                    type="message",
                    id=f"msg_{turn.number}",
                    role="assistant",
                    status="completed",
                    content=[text],
                )
            )
        spent = Usage(
            requests=1,
            input_tokens=turn.input_tokens,
            output_tokens=turn.output_tokens,
            total_tokens=turn.input_tokens + turn.output_tokens,
        )
        return output, spent

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        **_: Any,
    ) -> ModelResponse:
        """One scripted turn as a ``ModelResponse``, its usage on a generation span."""
        from agents import ModelResponse

        output, usage = self._answer(input, tracing)
        return ModelResponse(output=output, usage=usage, response_id=None)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: Any,
        output_schema: Any,
        handoffs: Any,
        tracing: Any,
        **_: Any,
    ) -> AsyncIterator[Any]:
        """One scripted turn as a single ``response.completed`` event (``Runner.run_streamed``,
        the run a kill switch can ``cancel()``)."""
        from openai.types.responses import Response, ResponseCompletedEvent, ResponseUsage
        from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

        output, usage = self._answer(input, tracing)
        response = Response(
            id=f"resp_{self.scripted.turns_taken}",
            created_at=0.0,
            model=self.name,
            object="response",
            output=output,
            parallel_tool_calls=True,
            tool_choice="auto",
            tools=[],
            status="completed",
            usage=ResponseUsage(
                input_tokens=usage.input_tokens,
                input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                output_tokens=usage.output_tokens,
                output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
                total_tokens=usage.total_tokens,
            ),
        )
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=0
        )


class _ProcessTracing:
    """OpenInference's instrumentor patches the SDK for the whole process: instrumented once,
    moved only when another provider asks, undone at exit (restoring the SDK's processors)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._instrumentor: Any = None
        self.provider: TracerProvider | None = None

    def onto(self, provider: TracerProvider) -> None:
        with self._lock:
            if provider is self.provider:
                return
            from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

            if self._instrumentor is None:
                self._instrumentor = OpenAIAgentsInstrumentor()
                atexit.register(self.undo)
            elif self.provider is not None:
                self._instrumentor.uninstrument()
            # exclusive: the SDK's default processor (the OpenAI exporter) is displaced, not joined.
            self._instrumentor.instrument(tracer_provider=provider, exclusive_processor=True)
            self.provider = provider

    def undo(self) -> None:
        with self._lock:
            if self._instrumentor is not None and self.provider is not None:
                self._instrumentor.uninstrument()
            self.provider = None


_TRACING = _ProcessTracing()


def instrument(tracer_provider: TracerProvider) -> None:
    """Send the SDK's spans, as OpenInference spans, to ``tracer_provider`` (usually
    ``harness.tracer_provider``); never to OpenAI."""
    _require_agents()
    _TRACING.onto(tracer_provider)


def uninstrument() -> None:
    """Undo :func:`instrument`: the SDK's own trace processors are back."""
    _TRACING.undo()


def tool_samples(agent: Agent[Any]) -> dict[str, dict[str, object]]:
    """Each function tool the agent has, with benign arguments read off its JSON schema."""
    _require_agents()
    from agents import FunctionTool

    return {
        tool.name: sample_arguments(tool.params_json_schema)
        for tool in agent.tools
        if isinstance(tool, FunctionTool)
    }


def _recorded(tool: Any, effects: ToolEffects) -> Any:
    """A copy of the function tool whose executions land in the effects ledger."""
    invoke = tool.on_invoke_tool

    async def on_invoke_tool(context: Any, arguments: str) -> Any:
        parsed = json.loads(arguments or "{}")
        effects.before(tool.name, parsed)
        output = await invoke(context, arguments)
        effects.after(tool.name, parsed)
        return output

    wrapped = copy.copy(tool)
    wrapped.on_invoke_tool = on_invoke_tool
    setattr(wrapped, WRAPPED, True)
    return wrapped


def record_tools(harness: Harness, agent: Agent[Any]) -> None:
    """Put each of the agent's function tools (and its handoffs' tools) under the ledger, in
    place: ``agent.tools`` holds the recording copies afterwards."""
    from agents import Agent as SdkAgent
    from agents import FunctionTool

    effects = ToolEffects(harness)
    seen: set[int] = set()
    pending: list[Any] = [agent]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.tools[:] = [
            _recorded(tool, effects)
            if isinstance(tool, FunctionTool) and not getattr(tool, WRAPPED, False)
            else tool
            for tool in current.tools
        ]
        pending += [handoff for handoff in current.handoffs if isinstance(handoff, SdkAgent)]


def _arguments_of(item: Any) -> dict[str, Any]:
    """The arguments of a call held for approval (a function call's JSON arguments)."""
    raw = item.raw_item
    text = raw.get("arguments") if isinstance(raw, dict) else getattr(raw, "arguments", None)
    parsed = json.loads(text or "{}")
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


class CancelSwitch:
    """A kill switch that reaches the SDK's own stop: engaged, it calls ``cancel()`` on every
    streamed run in progress (on the run's own event loop, from whichever thread the operator
    engages it on) and every session it watches refuses to start or resume a round.

    Declare it as a ``callable`` kill switch: module-level ``KILL_SWITCH = CancelSwitch()`` in
    ``refund_desk.py``, ``kill_switch: {mechanism: callable, target: refund_desk:KILL_SWITCH.set}``
    in the manifest, and ``openai_agents_handle(harness, agent, kill_switch=KILL_SWITCH)``.
    """

    def __init__(self, mode: str = "immediate") -> None:
        self.mode = mode
        self._lock = threading.Lock()
        self._engaged = False
        self._running: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}

    @property
    def engaged(self) -> bool:
        """Whether the switch is thrown."""
        with self._lock:
            return self._engaged

    def set(self, engaged: bool) -> None:
        """Throw (``True``) or release (``False``) the switch; throwing it cancels every run
        in progress."""
        with self._lock:
            self._engaged = bool(engaged)
            running = list(self._running.values()) if engaged else []
        for loop, result in running:
            # A run whose loop has closed is over already.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(result.cancel, self.mode)

    @contextmanager
    def watching(self, result: Any) -> Iterator[None]:
        """Cancel ``result`` (a streamed run on the running loop) if the switch is thrown
        while it runs, or at once if it already is."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._running[id(result)] = (loop, result)
            engaged = self._engaged
        if engaged:
            result.cancel(self.mode)
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(id(result), None)


async def _round(
    agent: Agent[Any],
    given: Any,
    *,
    hooks: RunHooks[Any] | None,
    max_turns: int,
    kill_switch: CancelSwitch | None,
) -> Any:
    """One run of the agent to its answer or its next interruption; streamed (so it can be
    cancelled) when a kill switch watches it."""
    from agents import Runner

    if kill_switch is None:
        return await Runner.run(agent, given, hooks=hooks, max_turns=max_turns)
    result = Runner.run_streamed(agent, given, hooks=hooks, max_turns=max_turns)
    with kill_switch.watching(result):
        async for _ in result.stream_events():
            pass
    return result


async def run_with_approvals(
    harness: Harness,
    agent: Agent[Any],
    task: str,
    *,
    hooks: RunHooks[Any] | None = None,
    max_turns: int = 40,
    kill_switch: CancelSwitch | None = None,
    halted: str = "halted by kill switch",
) -> str:
    """Run ``agent`` on ``task`` to its answer inside one ``agents.trace``, each interruption
    decided by ``harness.request_approval`` before the run resumes. With ``kill_switch``, the
    rounds are streamed and a thrown switch cancels them; the session answers ``halted``."""
    from agents import trace

    def stopped() -> bool:
        return kill_switch is not None and kill_switch.engaged

    options: dict[str, Any] = {"hooks": hooks, "max_turns": max_turns, "kill_switch": kill_switch}
    with trace(f"{agent.name} session"):
        if stopped():
            return halted
        result = await _round(agent, task, **options)
        while result.interruptions and not stopped():
            state = result.to_state()
            for item in result.interruptions:
                if harness.request_approval(item.tool_name or "", _arguments_of(item)):
                    state.approve(item)
                else:
                    state.reject(item)
            result = await _round(agent, state, **options)
    return halted if stopped() else str(result.final_output)


def openai_agents_handle(
    harness: Harness,
    agent: Agent[Any],
    *,
    run: Callable[[str], Any] | None = None,
    samples: Mapping[str, Mapping[str, object]] | None = None,
    record_effects: bool = True,
    hooks: RunHooks[Any] | None = None,
    max_turns: int = 40,
    kill_switch: CancelSwitch | None = None,
    monitor: bool | Callable[[Harness], object] = True,
) -> AgentHandle:
    """The :class:`AgentHandle` for an Agents SDK ``agent`` built on
    ``harness.openai_agents_model()``.

    - ``run``: the agent's own session function (sync or ``async def``) when it has one; it
      must run every approval round inside one ``agents.trace``. By default
      :func:`run_with_approvals` with ``hooks``, ``max_turns`` and ``kill_switch`` (a
      :class:`CancelSwitch`: the SDK's ``cancel()`` on a streamed run, reached by the
      manifest's ``callable`` kill switch);
    - ``samples``: sample arguments for tools whose schema-derived ones do not suit;
    - ``record_effects``: False when the agent's test doubles record to ``harness.effects``
      themselves (each action must be recorded once);
    - ``monitor``: the alert monitor, for an agent that declares alerts: the reference monitor
      by default, ``False`` for none, or a function that wires your own (see
      :func:`~pytest_agent_readiness.monitor.wire_chosen_monitor`).
    """
    _require_agents()
    instrument(harness.tracer_provider)
    wire_chosen_monitor(harness, monitor)
    if record_effects:
        record_tools(harness, agent)

    async def default(task: str) -> str:
        return await run_with_approvals(
            harness, agent, task, hooks=hooks, max_turns=max_turns, kill_switch=kill_switch
        )

    tools = {**tool_samples(agent), **{k: dict(v) for k, v in (samples or {}).items()}}
    return AgentHandle(run=inside(nullcontext, run or default), tools=tools)
