"""LangGraph / LangChain integration: an agent built with ``langchain.agents.create_agent``
under the readiness probes in a few lines::

    @adapter("refund_agent")
    def refund_agent(harness: Harness) -> AgentHandle:
        agent = build_agent(model=harness.langchain_model(), ...)
        return langgraph_handle(harness, agent)

- :func:`chat_model` (``harness.langchain_model()``) plays the harness's scripted model as a
  LangChain chat model: tool calls (several in a turn are parallel), the ``ToolMessage`` results
  fed back to the script, token usage on ``AIMessage.usage_metadata`` (so OpenInference's model
  spans carry it), the script's exceptions, and ``bind_tools``;
- :func:`instrument` hooks OpenInference's ``LangChainInstrumentor`` onto the harness's tracer
  provider, once per process, and :func:`uninstrument` (run when the pytest session ends) puts
  it back the way it was;
- :func:`langgraph_handle` lists the agent's tools with benign sample arguments read from their
  own schemas, records every tool execution in ``harness.effects`` (with the access the
  manifest declares; the tool-error probe's fault is raised there, before the tool's body), and
  runs a session: ``invoke`` on a fresh ``thread_id``, each ``HumanInTheLoopMiddleware``
  interrupt answered through ``harness.request_approval`` and resumed with
  ``Command(resume=...)`` on the same thread, a drained run (``RunControl.request_drain``)
  ended cleanly.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from ..handle import AgentHandle
from ..monitor import wire_chosen_monitor
from ..scripted import ModelContext, ScriptedModel, ToolResult
from . import IntegrationUnavailable

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage
    from langchain_core.tools import BaseTool
    from langgraph.runtime import RunControl
    from opentelemetry.sdk.trace import TracerProvider

    from ..harness import Harness

__all__ = [
    "DEFAULT_RECURSION_LIMIT",
    "INSTALL_HINT",
    "InterruptNotAnswerable",
    "agent_tools",
    "chat_model",
    "context_from_messages",
    "instrument",
    "langgraph_handle",
    "sample_arguments",
    "uninstrument",
]

INSTALL_HINT = (
    "LangGraph is not installed: pip install pytest-agent-readiness[langgraph] "
    "(langgraph, langchain and openinference-instrumentation-langchain)"
)
# LangGraph's own default (9,999 steps for create_agent) lets a runaway session run for
# minutes; a session the harness drives stops far sooner, as a GraphRecursionError.
DEFAULT_RECURSION_LIMIT = 100
# What a reviewer may answer HumanInTheLoopMiddleware when its config does not say.
ALL_DECISIONS = ("approve", "edit", "reject", "respond")
DENIED = "A human reviewer denied this call; it did not run."


class InterruptNotAnswerable(RuntimeError):
    """The graph paused with an interrupt the harness cannot answer for a human."""


def _require_langgraph() -> None:
    try:
        import langchain.agents  # noqa: F401
        import langgraph  # noqa: F401
    except ImportError as error:
        raise IntegrationUnavailable(INSTALL_HINT) from error


# -- the scripted model -----------------------------------------------------------------------


def context_from_messages(messages: Sequence[BaseMessage]) -> ModelContext:
    """The :class:`ModelContext` of a LangChain request: the task (the first human message) and
    the tool results sent back since the model last answered."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    task: str | None = None
    fresh: list[ToolResult] = []
    for message in messages:
        if isinstance(message, HumanMessage) and task is None:
            task = message.text  # the content's text parts, however it is structured
        elif isinstance(message, AIMessage):
            fresh = []  # results the model already answered were recorded on an earlier turn
        elif isinstance(message, ToolMessage):
            outcome = "success" if message.status == "success" else "failed"
            fresh.append(ToolResult(message.tool_call_id, message.content, message.name, outcome))
    return ModelContext(task=task, tool_results=tuple(fresh), messages=tuple(messages))


@cache
def _chat_model_class() -> type[BaseChatModel]:
    """The chat-model class, built on first use so importing this module needs no LangChain."""
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class ScriptedChatModel(BaseChatModel):
        """The harness's scripted model behind LangChain's chat-model interface."""

        scripted: Any
        model_name: str = "scripted"

        @property
        def _llm_type(self) -> str:
            return "scripted"

        @property
        def _identifying_params(self) -> dict[str, Any]:
            return {"model_name": self.model_name}

        def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
            return self  # the script, not a tool schema, decides what the model asks for

        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
            scripted: ScriptedModel = self.scripted
            turn = scripted.next_turn(context_from_messages(messages))
            message = AIMessage(
                content=turn.text or "",
                tool_calls=[
                    {"name": call.name, "args": dict(call.arguments), "id": call.call_id}
                    for call in turn.tool_calls
                ],
                usage_metadata={
                    "input_tokens": turn.input_tokens,
                    "output_tokens": turn.output_tokens,
                    "total_tokens": turn.input_tokens + turn.output_tokens,
                },
            )
            return ChatResult(generations=[ChatGeneration(message=message)])

    return ScriptedChatModel


def chat_model(scripted: ScriptedModel, *, model_name: str = "scripted") -> BaseChatModel:
    """A LangChain chat model that plays ``scripted``.

    Each turn is one ``AIMessage``: its tool calls (call ids unique in the session), its text,
    and its usage as ``usage_metadata``; the ``ToolMessage``s LangChain sends back are the
    script's returned results; a :class:`~pytest_agent_readiness.scripted.Raise` turn raises
    from the model call. ``bind_tools`` returns the model itself.
    """
    _require_langgraph()
    model_class: Any = _chat_model_class()  # its fields are the subclass's, unknown to mypy
    return model_class(scripted=scripted, model_name=model_name)  # type: ignore[no-any-return]


# -- tracing ----------------------------------------------------------------------------------


class _ProcessTracing:
    """OpenInference's LangChain instrumentor hooks every LangChain callback manager in the
    process, so it is instrumented once, onto one provider, and moved only when the provider
    changes. An instrumentation the project made itself is left alone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._provider: TracerProvider | None = None

    def onto(self, provider: TracerProvider) -> None:
        try:
            from openinference.instrumentation.langchain import LangChainInstrumentor
        except ImportError as error:
            raise IntegrationUnavailable(INSTALL_HINT) from error
        with self._lock:
            instrumentor = LangChainInstrumentor()
            if provider is self._provider:
                return
            if self._provider is None and instrumentor.is_instrumented_by_opentelemetry:
                return  # the project's own: its spans reach the harness through its provider
            if self._provider is not None:
                instrumentor.uninstrument()
            instrumentor.instrument(tracer_provider=provider)
            self._provider = provider

    def undo(self) -> None:
        with self._lock:
            if self._provider is None:
                return
            from openinference.instrumentation.langchain import LangChainInstrumentor

            LangChainInstrumentor().uninstrument()
            self._provider = None


_TRACING = _ProcessTracing()


def instrument(tracer_provider: TracerProvider) -> None:
    """Make LangChain and LangGraph emit OpenInference spans to ``tracer_provider``
    (``harness.tracer_provider``): TOOL spans named after each tool, LLM spans with
    ``llm.token_count.*``. Once per process; a later provider moves the instrumentation."""
    _TRACING.onto(tracer_provider)


def uninstrument() -> None:
    """Undo :func:`instrument` (the plugin calls it when the pytest session ends)."""
    _TRACING.undo()


# -- tools ------------------------------------------------------------------------------------


def agent_tools(agent: Any) -> dict[str, BaseTool]:
    """The tools of a graph built by ``create_agent`` (its ``tools`` node), by name."""
    _require_langgraph()
    from langgraph.prebuilt import ToolNode

    node = getattr(agent, "nodes", {}).get("tools")
    bound = getattr(node, "bound", None)
    if not isinstance(bound, ToolNode):
        return {}
    return dict(bound.tools_by_name)


_BY_TYPE: Mapping[str, object] = {
    "string": "sample",
    "integer": 1,
    "number": 1.0,
    "boolean": False,
    "array": [],
    "object": {},
}


def _sample(schema: Mapping[str, Any]) -> object:
    """A benign value for one argument's JSON schema: its example, default or first choice,
    else a plain value of its type."""
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if "default" in schema:
        return schema["default"]
    for option in schema.get("anyOf", ()):
        if option.get("type") != "null":
            return _sample(option)
    return _BY_TYPE.get(str(schema.get("type")), "sample")


def sample_arguments(tool: BaseTool) -> dict[str, object]:
    """Benign arguments for ``tool`` from its own schema: every argument the model must give,
    from the argument's example, enum or type (the model's view, ``tool_call_schema``, leaves
    out injected arguments; the input schema keeps the examples that view drops)."""
    schema = tool.tool_call_schema
    call: Mapping[str, Any] = (
        schema if isinstance(schema, dict) else schema.model_json_schema()  # type: ignore[union-attr]
    )
    asked: Mapping[str, Any] = call.get("properties", {})
    described: Mapping[str, Any] = tool.get_input_jsonschema().get("properties", {})
    return {
        name: _sample(described.get(name, asked[name]))
        for name in call.get("required", list(asked))
        if name in asked
    }


# -- the effects of tool executions ------------------------------------------------------------

_RECORDER: contextvars.ContextVar[BaseCallbackHandler | None] = contextvars.ContextVar(
    "pytest_agent_readiness_langgraph_effects", default=None
)


@cache
def _register_recorder_hook() -> None:
    """Ask LangChain to add the session's recorder to every callback manager made while
    :data:`_RECORDER` is set (its public configure hook; registered once per process). The
    hook's handler comes after OpenInference's tracer, so each effect lands inside its tool's
    span."""
    from langchain_core.tracers.context import register_configure_hook

    register_configure_hook(_RECORDER, inheritable=True)


def _recorder(harness: Harness) -> BaseCallbackHandler:
    from langchain_core.callbacks import BaseCallbackHandler

    class EffectsRecorder(BaseCallbackHandler):
        """Records each tool execution as it starts; the fault the tool-error probe scheduled
        for a tool is raised there instead, so the tool's body never runs."""

        raise_error = True

        def on_tool_start(
            self,
            serialized: dict[str, Any],
            input_str: str,
            *,
            inputs: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            name = (serialized or {}).get("name")
            if isinstance(name, str):
                harness.effects.record(name, inputs or {})

    return EffectsRecorder()


def _recorded(run: Callable[[str], Any], recorder: BaseCallbackHandler) -> Callable[[str], Any]:
    """``run`` with ``recorder`` attached to every LangChain run it makes, sync or async."""

    async def awaited(value: Awaitable[Any]) -> Any:
        token = _RECORDER.set(recorder)
        try:
            return await value
        finally:
            _RECORDER.reset(token)

    def recorded(task: str) -> Any:
        token = _RECORDER.set(recorder)
        try:
            value = run(task)
        finally:
            _RECORDER.reset(token)
        return awaited(value) if inspect.isawaitable(value) else value

    return recorded


# -- approvals --------------------------------------------------------------------------------


def _decision(
    harness: Harness, name: str, arguments: Mapping[str, Any], allowed: Sequence[str]
) -> dict[str, Any]:
    """A reviewer's decision for one gated call, taken by ``harness.request_approval``. A
    denial is a ``reject``, or where the tool allows no reject, a ``respond`` (the tool does
    not run either way)."""
    if harness.request_approval(name, dict(arguments)):
        if "approve" not in allowed:
            raise InterruptNotAnswerable(
                f"{name} was approved but its HumanInTheLoopMiddleware config allows only "
                f"{', '.join(allowed)}"
            )
        return {"type": "approve"}
    if "reject" in allowed:
        return {"type": "reject", "message": DENIED}
    if "respond" in allowed:
        return {"type": "respond", "message": DENIED}
    raise InterruptNotAnswerable(
        f"{name} was denied but its HumanInTheLoopMiddleware config allows only "
        f"{', '.join(allowed)}, neither reject nor respond"
    )


def _answer(harness: Harness, value: object) -> object:
    """The resume value for one interrupt: ``HumanInTheLoopMiddleware``'s batched request
    (``{"decisions": [...]}``) or its per-call request (one decision)."""
    if isinstance(value, Mapping) and "action_requests" in value:
        allowed = {
            config["action_name"]: tuple(config["allowed_decisions"])
            for config in value.get("review_configs", ())
        }
        return {
            "decisions": [
                _decision(
                    harness,
                    action["name"],
                    action.get("args", {}),
                    allowed.get(action["name"], ALL_DECISIONS),
                )
                for action in value["action_requests"]
            ]
        }
    if isinstance(value, Mapping) and value.get("type") == "tool_approval":
        return _decision(harness, value["name"], value.get("args", {}), ("approve", "reject"))
    raise InterruptNotAnswerable(
        f"the graph paused with an interrupt the harness cannot answer: {value!r:.200}; only "
        "HumanInTheLoopMiddleware's approval requests are answered for a human (run the agent "
        "through your own function: langgraph_handle(harness, agent, run=...))"
    )


def _final_text(state: object) -> str:
    messages = state.get("messages") if isinstance(state, Mapping) else None
    if not messages:
        return ""
    last = messages[-1]
    text = getattr(last, "text", None)
    return text if isinstance(text, str) else str(getattr(last, "content", ""))


def _session_runner(
    harness: Harness,
    agent: Any,
    *,
    recursion_limit: int,
    control: Callable[[], RunControl] | None,
) -> Callable[[str], str]:
    """One session the way a LangGraph app runs one: a fresh thread, and every human review
    answered and resumed on that thread until the graph ends."""
    from langgraph.errors import GraphDrained
    from langgraph.types import Command

    def run(task: str) -> str:
        config: dict[str, Any] = {
            "configurable": {"thread_id": f"readiness-{uuid.uuid4().hex}"},
            "recursion_limit": recursion_limit,
        }
        payload: object = {"messages": [{"role": "user", "content": task}]}
        while True:
            # Each invoke, a resume included, is a new run: a RunControl serves one run.
            options = {"control": control()} if control is not None else {}
            try:
                state = agent.invoke(payload, config, **options)
            except GraphDrained as drained:
                return f"halted: {drained}"
            interrupts = state.get("__interrupt__") if isinstance(state, Mapping) else None
            if not interrupts:
                return _final_text(state)
            answers = {each.id: _answer(harness, each.value) for each in interrupts}
            resume = next(iter(answers.values())) if len(answers) == 1 else answers
            payload = Command(resume=resume)

    return run


# -- the handle -------------------------------------------------------------------------------


def langgraph_handle(
    harness: Harness,
    agent: Any,
    *,
    run: Callable[[str], Any] | None = None,
    samples: Mapping[str, Mapping[str, object]] | None = None,
    record_effects: bool = True,
    recursion_limit: int = DEFAULT_RECURSION_LIMIT,
    control: Callable[[], RunControl] | None = None,
    monitor: bool | Callable[[Harness], object] = True,
) -> AgentHandle:
    """The :class:`AgentHandle` of ``agent``, a graph built by ``create_agent``.

    - tools: the graph's own, each with sample arguments from its schema (``samples``
      overrides them per tool);
    - effects: every tool execution is recorded in ``harness.effects`` as it starts
      (``record_effects=False`` when the project's test doubles record their own actions);
    - ``run``: the project's own session function, when it has one (it then answers its own
      interrupts); by default each session is ``agent.invoke`` on a fresh ``thread_id`` with
      ``recursion_limit``, every ``HumanInTheLoopMiddleware`` interrupt answered by
      ``harness.request_approval`` and resumed on the same thread;
    - ``control``: a factory of ``langgraph.runtime.RunControl`` passed to every ``invoke``,
      so a kill switch that calls ``request_drain`` on the runs in flight stops the session;
    - ``monitor``: the alert monitor, for an agent that declares alerts: the reference monitor
      by default, ``False`` for none, or a function that wires your own (see
      :func:`~pytest_agent_readiness.monitor.wire_chosen_monitor`).

    Also instruments OpenInference onto ``harness.tracer_provider`` (see :func:`instrument`).
    """
    _require_langgraph()
    instrument(harness.tracer_provider)
    wire_chosen_monitor(harness, monitor)
    tools = agent_tools(agent)
    listed = {name: sample_arguments(tool) for name, tool in sorted(tools.items())}
    for name, arguments in (samples or {}).items():
        listed[name] = dict(arguments)
    session = run or _session_runner(
        harness, agent, recursion_limit=recursion_limit, control=control
    )
    if record_effects:
        _register_recorder_hook()
        session = _recorded(session, _recorder(harness))
    return AgentHandle(run=session, tools=listed or None)
