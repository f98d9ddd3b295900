"""Capture OpenTelemetry spans during a test and answer questions about what an agent did.

Two conventions are understood:

- the OpenTelemetry GenAI semantic conventions (``gen_ai.operation.name`` = ``execute_tool``,
  ``invoke_agent``, ``chat``, ``text_completion``, ``generate_content``; ``gen_ai.tool.*``,
  ``gen_ai.usage.*``), as PydanticAI, Traceloop and OpenTelemetry's own instrumentations emit them;
- OpenInference (``openinference.span.kind`` = ``TOOL``, ``LLM``, ``AGENT``; ``tool.name``,
  ``input.value``, ``output.value``, ``llm.token_count.*``), as Arize's instrumentors emit them.

The OpenTelemetry global tracer provider can be set once per process. A
:class:`SpanCaptureRegistry` (owned by the plugin's session object) holds what that implies: the
one SDK provider we set for the process when nobody else did, and the switchable processors we
added to a provider the project set itself, so that they go inert when the session ends.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from opentelemetry import context as otel_context
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import (
    ReadableSpan,
    Span,
    SpanLimits,
    SpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import StatusCode

__all__ = [
    "DEFAULT_MAX_SPANS",
    "AgentRun",
    "Convention",
    "ModelCall",
    "Recording",
    "SpanCapture",
    "SpanCaptureError",
    "SpanCaptureRegistry",
    "TokenUsage",
    "ToolCall",
    "Trace",
    "trace_of",
]

# Per capture (one agent session). A kept span holds about 3 KB, so this bounds a session that
# floods spans at about 60 MB; a session that needs more is no longer a readable proof.
DEFAULT_MAX_SPANS = 20_000

# Attributes a span keeps on the providers the registry builds (see _recording_provider).
SPAN_ATTRIBUTE_LIMIT = 4096

Convention = Literal["genai", "openinference"]

# GenAI semantic-convention attribute keys.
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_RESULT = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_PROMPT_TOKENS = "gen_ai.usage.prompt_tokens"  # deprecated, still emitted by older libraries
GEN_AI_COMPLETION_TOKENS = "gen_ai.usage.completion_tokens"  # deprecated
GEN_AI_AGGREGATED_INPUT = "gen_ai.aggregated_usage.input_tokens"  # PydanticAI, on invoke_agent
GEN_AI_AGGREGATED_OUTPUT = "gen_ai.aggregated_usage.output_tokens"
ERROR_TYPE = "error.type"

OP_EXECUTE_TOOL = "execute_tool"
OP_INVOKE_AGENT = "invoke_agent"
MODEL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})

# OpenInference attribute keys.
OI_SPAN_KIND = "openinference.span.kind"
OI_TOOL_NAME = "tool.name"
OI_TOOL_ID = "tool.id"
OI_TOOL_CALL_ID = "tool_call.id"
OI_INPUT = "input.value"
OI_OUTPUT = "output.value"
OI_AGENT_NAME = "agent.name"
OI_MODEL_NAME = "llm.model_name"
OI_PROMPT_TOKENS = "llm.token_count.prompt"
OI_COMPLETION_TOKENS = "llm.token_count.completion"
OI_TOTAL_TOKENS = "llm.token_count.total"

_SpanKey = tuple[int, int]  # (trace id, span id)


class SpanCaptureError(RuntimeError):
    """The capture was used out of order (not installed, or its registry already closed)."""


# --------------------------------------------------------------------------------------------
# What an agent did, read from spans


@dataclass(frozen=True)
class ToolCall:
    """One tool execution seen in the spans.

    ``end_ns`` is None while the tool is still running when the trace was taken; such a call has
    no result yet. ``arguments`` is the parsed JSON object when the span carries JSON text,
    otherwise the raw attribute value; ``result`` is the raw attribute value.
    """

    name: str
    call_id: str | None
    arguments: object
    result: object
    agent_name: str | None
    start_ns: int
    end_ns: int | None
    error: str | None
    span_id: int
    convention: Convention

    @property
    def finished(self) -> bool:
        """Whether the tool's span had ended when the trace was taken."""
        return self.end_ns is not None


@dataclass(frozen=True)
class ModelCall:
    """One model request (``chat``/``text_completion``/``generate_content`` or an LLM span)."""

    model: str | None
    operation: str
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    start_ns: int
    end_ns: int | None
    agent_name: str | None
    span_id: int
    convention: Convention


@dataclass(frozen=True)
class AgentRun:
    """One agent invocation (``invoke_agent`` or an OpenInference AGENT span)."""

    name: str | None
    start_ns: int
    end_ns: int | None
    input_tokens: int | None
    output_tokens: int | None
    error: str | None
    span_id: int
    convention: Convention


@dataclass(frozen=True)
class TokenUsage:
    """Token counts summed over model calls."""

    input: int
    output: int
    total: int


_Kind = Literal["tool", "model", "agent"]


@dataclass(frozen=True)
class _Classified:
    kind: _Kind
    convention: Convention
    operation: str


@dataclass(frozen=True)
class Trace:
    """A frozen view over captured spans, ordered by start time then span id.

    ``dropped_spans`` counts spans the capture discarded because it was full; ``caveats`` says in
    words why this trace may not show everything the agent did (a full capture, a sampler that
    drops spans, a disabled SDK). A gate must treat a trace with caveats as incomplete evidence.
    """

    spans: tuple[ReadableSpan, ...]
    dropped_spans: int = 0
    caveats: tuple[str, ...] = ()
    _by_key: dict[_SpanKey, ReadableSpan] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    # The calls that ran, worked out at the first question (a case's judgement asks four times).
    _ran: tuple[ToolCall, ...] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.spans, key=_order_key))
        object.__setattr__(self, "spans", ordered)
        by_key: dict[_SpanKey, ReadableSpan] = {}
        for span in ordered:
            key = _key(span)
            if key is not None:
                by_key[key] = span
        object.__setattr__(self, "_by_key", by_key)

    @property
    def truncated(self) -> bool:
        """Whether the capture ran out of room and dropped spans."""
        return self.dropped_spans > 0

    def tool_calls(self, name: str | None = None, *, agent: str | None = None) -> list[ToolCall]:
        """Every tool call that ran, in start order; optionally only one tool's or one agent's.

        A call counts once, when it ran. Frameworks that pause a call for approval may leave a
        tool span at the pause and another when the approved call runs (the OpenAI Agents SDK
        does, through OpenInference), so spans of one call id collapse into the call's last
        span, and a span with no call id, no result and no error is a pause when a later span
        of the same tool and arguments in the same trace carries the outcome. A pause that
        nothing answered still counts: its span cannot be told from a tool that returned
        nothing, so only the effects ledger can say it did not act.
        """
        return [
            call
            for call in self._calls_that_ran()
            if (name is None or call.name == name) and (agent is None or call.agent_name == agent)
        ]

    def tool_names(self) -> list[str]:
        """The distinct names of the tools that were executed, sorted."""
        return sorted({call.name for call in self.tool_calls()})

    def model_calls(self, *, agent: str | None = None) -> list[ModelCall]:
        """Every model request, in start order; optionally only one agent's."""
        calls: list[ModelCall] = []
        for span in self.spans:
            classified = _classify(span)
            if classified is None or classified.kind != "model":
                continue
            call = self._model_call(span, classified)
            if agent is None or call.agent_name == agent:
                calls.append(call)
        return calls

    def agent_runs(self, name: str | None = None) -> list[AgentRun]:
        """Every agent invocation, in start order; optionally only one agent's."""
        runs: list[AgentRun] = []
        for span in self.spans:
            classified = _classify(span)
            if classified is None or classified.kind != "agent":
                continue
            run = _agent_run(span, classified.convention)
            if name is None or run.name == name:
                runs.append(run)
        return runs

    def token_usage(self, agent: str | None = None) -> TokenUsage:
        """Tokens the agent (or all agents) spent.

        Model-call spans are the source. An agent run with no model-call span beneath it
        contributes the usage recorded on its own span (some instrumentations put usage only
        there), so nothing is counted twice and nothing reported is lost.
        """
        input_tokens = output_tokens = total_tokens = 0
        for call in self.model_calls(agent=agent):
            input_tokens += call.input_tokens or 0
            output_tokens += call.output_tokens or 0
            total_tokens += call.total_tokens or 0
        model_ancestors = self._agent_spans_above_model_calls()
        for span in self.spans:
            classified = _classify(span)
            if classified is None or classified.kind != "agent":
                continue
            run = _agent_run(span, classified.convention)
            if (agent is not None and run.name != agent) or _key(span) in model_ancestors:
                continue
            input_tokens += run.input_tokens or 0
            output_tokens += run.output_tokens or 0
            total_tokens += (run.input_tokens or 0) + (run.output_tokens or 0)
        return TokenUsage(input=input_tokens, output=output_tokens, total=total_tokens)

    # -- internals -----------------------------------------------------------------------

    def _calls_that_ran(self) -> tuple[ToolCall, ...]:
        if self._ran is None:
            object.__setattr__(self, "_ran", tuple(self._find_calls_that_ran()))
        assert self._ran is not None
        return self._ran

    def _find_calls_that_ran(self) -> list[ToolCall]:
        spans: list[tuple[int, ToolCall]] = []
        for span in self.spans:
            classified = _classify(span)
            if classified is not None and classified.kind == "tool":
                trace_id = span.context.trace_id if span.context is not None else 0
                spans.append((trace_id, self._tool_call(span, classified.convention)))
        superseded: set[int] = set()
        last_of_call: dict[tuple[int, str], int] = {}
        for index, (trace_id, call) in enumerate(spans):
            if call.call_id is not None:
                earlier = last_of_call.get((trace_id, call.call_id))
                if earlier is not None:
                    superseded.add(earlier)
                last_of_call[(trace_id, call.call_id)] = index
        # Without a call id, pair each pause with the first later span of the same call that
        # carries the outcome; each such span answers one pause, so parallel pauses of
        # identical calls each need their own run.
        pauses: list[int] = []
        for index, (trace_id, call) in enumerate(spans):
            if call.call_id is not None:
                continue
            if _paused(call):
                pauses.append(index)
                continue
            for pause in pauses:
                paused_trace, paused_call = spans[pause]
                if (
                    paused_trace == trace_id
                    and paused_call.name == call.name
                    and paused_call.arguments == call.arguments
                    and paused_call.end_ns is not None
                    and paused_call.end_ns <= call.start_ns
                ):
                    superseded.add(pause)
                    pauses.remove(pause)
                    break
        return [call for index, (_, call) in enumerate(spans) if index not in superseded]

    def _ancestors(self, span: ReadableSpan) -> Iterator[ReadableSpan]:
        seen: set[_SpanKey] = set()
        parent = span.parent
        while parent is not None:
            key = (parent.trace_id, parent.span_id)
            # A cycle can only come from hand-made spans, but must not hang the gate.
            if key in seen:
                return
            seen.add(key)
            ancestor = self._by_key.get(key)
            if ancestor is None:
                return
            yield ancestor
            parent = ancestor.parent

    def _agent_name(self, span: ReadableSpan, own: str | None) -> str | None:
        """The agent a tool or model span belongs to: the enclosing agent span's name when
        there is one (OpenTelemetry's Agents SDK bridge stamps one process-wide label, ``OpenAI
        Agent``, on every span it makes), else the span's own attribute."""
        return self._enclosing_agent_name(span) or own

    def _enclosing_agent_name(self, span: ReadableSpan) -> str | None:
        for ancestor in self._ancestors(span):
            classified = _classify(ancestor)
            if classified is not None and classified.kind == "agent":
                return _agent_run(ancestor, classified.convention).name
        return None

    def _agent_spans_above_model_calls(self) -> set[_SpanKey]:
        keys: set[_SpanKey] = set()
        for span in self.spans:
            classified = _classify(span)
            if classified is None or classified.kind != "model":
                continue
            for ancestor in self._ancestors(span):
                ancestor_key = _key(ancestor)
                if ancestor_key is not None:
                    keys.add(ancestor_key)
        return keys

    def _tool_call(self, span: ReadableSpan, convention: Convention) -> ToolCall:
        if convention == "genai":
            name = _str(span, GEN_AI_TOOL_NAME) or _name_suffix(span.name, OP_EXECUTE_TOOL)
            call_id = _str(span, GEN_AI_TOOL_CALL_ID)
            arguments = _attr(span, GEN_AI_TOOL_ARGUMENTS)
            result = _attr(span, GEN_AI_TOOL_RESULT)
            own_agent = _str(span, GEN_AI_AGENT_NAME)
        else:
            name = _str(span, OI_TOOL_NAME) or span.name
            call_id = _str(span, OI_TOOL_ID) or _str(span, OI_TOOL_CALL_ID)
            arguments = _attr(span, OI_INPUT)
            result = _attr(span, OI_OUTPUT)
            own_agent = _str(span, OI_AGENT_NAME)
        return ToolCall(
            name=name,
            call_id=call_id,
            arguments=_parse_json(arguments),
            result=result,
            agent_name=self._agent_name(span, own_agent),
            start_ns=span.start_time or 0,
            end_ns=span.end_time,
            error=_error(span),
            span_id=_span_id(span),
            convention=convention,
        )

    def _model_call(self, span: ReadableSpan, classified: _Classified) -> ModelCall:
        if classified.convention == "genai":
            model = _str(span, GEN_AI_REQUEST_MODEL) or _str(span, GEN_AI_RESPONSE_MODEL)
            input_tokens = _first_int(span, GEN_AI_INPUT_TOKENS, GEN_AI_PROMPT_TOKENS)
            output_tokens = _first_int(span, GEN_AI_OUTPUT_TOKENS, GEN_AI_COMPLETION_TOKENS)
            reported_total = None
            own_agent = _str(span, GEN_AI_AGENT_NAME)
        else:
            model = _str(span, OI_MODEL_NAME)
            input_tokens = _int(span, OI_PROMPT_TOKENS)
            output_tokens = _int(span, OI_COMPLETION_TOKENS)
            reported_total = _int(span, OI_TOTAL_TOKENS)
            own_agent = _str(span, OI_AGENT_NAME)
        total: int | None = reported_total
        if total is None and (input_tokens is not None or output_tokens is not None):
            total = (input_tokens or 0) + (output_tokens or 0)
        return ModelCall(
            model=model,
            operation=classified.operation,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=total,
            start_ns=span.start_time or 0,
            end_ns=span.end_time,
            agent_name=self._agent_name(span, own_agent),
            span_id=_span_id(span),
            convention=classified.convention,
        )


def _paused(call: ToolCall) -> bool:
    """Whether a tool span may be a call paused for approval: it ended, with no result and no
    error (whether a later span ran it is for the caller to say)."""
    return call.finished and call.error is None and call.result is None


def _agent_run(span: ReadableSpan, convention: Convention) -> AgentRun:
    if convention == "genai":
        # The convention names the span ``invoke_agent {gen_ai.agent.name}``; when the two
        # disagree, the attribute is a label stamped on every span (OpenTelemetry's Agents SDK
        # bridge writes ``OpenAI Agent`` everywhere) and the span name holds the agent's own.
        name = _name_suffix(span.name, OP_INVOKE_AGENT) or _str(span, GEN_AI_AGENT_NAME) or None
        input_tokens = _first_int(span, GEN_AI_AGGREGATED_INPUT, GEN_AI_INPUT_TOKENS)
        output_tokens = _first_int(span, GEN_AI_AGGREGATED_OUTPUT, GEN_AI_OUTPUT_TOKENS)
    else:
        name = _str(span, OI_AGENT_NAME) or span.name or None
        input_tokens = _int(span, OI_PROMPT_TOKENS)
        output_tokens = _int(span, OI_COMPLETION_TOKENS)
    return AgentRun(
        name=name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        error=_error(span),
        span_id=_span_id(span),
        convention=convention,
    )


def _classify(span: ReadableSpan) -> _Classified | None:
    """Say what a span records, GenAI conventions first, then OpenInference."""
    attributes = span.attributes or {}
    operation = attributes.get(GEN_AI_OPERATION)
    if isinstance(operation, str):
        if operation == OP_EXECUTE_TOOL:
            return _Classified("tool", "genai", operation)
        if operation == OP_INVOKE_AGENT:
            return _Classified("agent", "genai", operation)
        if operation in MODEL_OPERATIONS:
            return _Classified("model", "genai", operation)
    else:
        # No operation attribute: the span name is the convention's fallback signal.
        first_word = span.name.split(" ", 1)[0]
        has_gen_ai = any(key.startswith("gen_ai.") for key in attributes)
        if first_word == OP_EXECUTE_TOOL or GEN_AI_TOOL_NAME in attributes:
            return _Classified("tool", "genai", OP_EXECUTE_TOOL)
        if first_word == OP_INVOKE_AGENT and has_gen_ai:
            return _Classified("agent", "genai", OP_INVOKE_AGENT)
        # "chat" alone is too common a word to trust without a gen_ai attribute beside it.
        if first_word in MODEL_OPERATIONS and has_gen_ai:
            return _Classified("model", "genai", first_word)
    kind = attributes.get(OI_SPAN_KIND)
    if kind == "TOOL":
        return _Classified("tool", "openinference", "TOOL")
    if kind == "LLM":
        return _Classified("model", "openinference", "LLM")
    if kind == "AGENT":
        return _Classified("agent", "openinference", "AGENT")
    return None


def _attr(span: ReadableSpan, key: str) -> object:
    return (span.attributes or {}).get(key)


def _str(span: ReadableSpan, key: str) -> str | None:
    value = _attr(span, key)
    return value if isinstance(value, str) and value else None


def _int(span: ReadableSpan, key: str) -> int | None:
    value = _attr(span, key)
    # bool is an int subclass; a True token count is a bug upstream, not a count of one.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _first_int(span: ReadableSpan, *keys: str) -> int | None:
    for key in keys:
        value = _int(span, key)
        if value is not None:
            return value
    return None


def _name_suffix(span_name: str, operation: str) -> str:
    prefix = operation + " "
    return span_name[len(prefix) :] if span_name.startswith(prefix) else ""


def _parse_json(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def _error(span: ReadableSpan) -> str | None:
    error_type = _str(span, ERROR_TYPE)
    if error_type is not None:
        return error_type
    if span.status.status_code is not StatusCode.ERROR:
        return None
    for event in span.events:
        exception_type = (event.attributes or {}).get("exception.type")
        if event.name == "exception" and isinstance(exception_type, str):
            return exception_type
    return span.status.description or StatusCode.ERROR.name


def _span_id(span: ReadableSpan) -> int:
    return span.context.span_id if span.context is not None else 0


def _key(span: ReadableSpan) -> _SpanKey | None:
    if span.context is None:
        return None
    return (span.context.trace_id, span.context.span_id)


def _order_key(span: ReadableSpan) -> tuple[int, int, int]:
    trace_id = span.context.trace_id if span.context is not None else 0
    return (span.start_time or 0, _span_id(span), trace_id)


# --------------------------------------------------------------------------------------------
# Capturing


class _BoundedSpanExporter(SpanExporter):
    """An in-memory exporter that keeps at most ``max_spans`` spans and counts the rest."""

    def __init__(self, max_spans: int) -> None:
        self._max_spans = max_spans
        self._memory = InMemorySpanExporter()
        self._lock = threading.Lock()
        self._kept = 0
        self._dropped = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._lock:
            room = max(self._max_spans - self._kept, 0)
            kept = list(spans[:room])
            self._dropped += len(spans) - len(kept)
            self._kept += len(kept)
            if not kept:
                return SpanExportResult.SUCCESS
            return self._memory.export(kept)

    def take(self) -> tuple[tuple[ReadableSpan, ...], int]:
        with self._lock:
            return tuple(self._memory.get_finished_spans()), self._dropped

    def note_dropped(self) -> None:
        with self._lock:
            self._dropped += 1

    def clear(self) -> None:
        with self._lock:
            self._memory.clear()
            self._kept = 0
            self._dropped = 0

    def shutdown(self) -> None:
        self._memory.shutdown()


class _CaptureSink(SpanProcessor):
    """One capture's processor: finished spans go through a SimpleSpanProcessor into a bounded
    in-memory exporter; spans still open are remembered too, so a tool call that starts and
    never ends (a hung tool after a kill switch) is still evidence."""

    def __init__(self, max_spans: int) -> None:
        self._max_spans = max_spans
        self.exporter = _BoundedSpanExporter(max_spans)
        # Made at the first finished span: building one asks for a meter provider and reads
        # the environment (about 10 us of every session, and most cases' agents emit no span).
        self._simple: SimpleSpanProcessor | None = None
        self._open_lock = threading.Lock()
        self._open: dict[_SpanKey, Span] = {}
        self.session = object()  # marks the context of this capture's own session
        self._foreign: set[_SpanKey] = set()  # open spans of another capture's session
        # Whether any span of its own reached this sink (kept or dropped): until one does, it
        # has nothing to read or clear (most adversarial cases' agents emit no span).
        self.touched = False

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        # A span from another capture's session (one that outlived its deadline, or that a
        # probe abandoned on its verdict, still running on the same provider) is not this
        # capture's evidence. Span bridges (OpenInference's for the OpenAI Agents SDK) pass a
        # parent context built from the parent span alone, which lacks the session mark; on_start
        # runs on the thread that starts the span, whose current context has it.
        session = None
        if parent_context is not None:
            session = otel_context.get_value(_SESSION_KEY, parent_context)
        if session is None:
            session = otel_context.get_value(_SESSION_KEY)
        with self._open_lock:
            if session is not None and session is not self.session:
                self._foreign.add(_key(span) or (0, id(span)))
                return
            self.touched = True
            if len(self._open) >= self._max_spans:
                self.exporter.note_dropped()
                return
            self._open[_key(span) or (0, id(span))] = span

    def on_end(self, span: ReadableSpan) -> None:
        # The SDK hands on_end a fresh ReadableSpan, so the open span is found by its ids.
        # A span that started before this capture subscribed (or that was dropped at the cap)
        # is not recorded at its end either.
        key = _key(span) or (0, id(span))
        with self._open_lock:
            if key in self._foreign:
                self._foreign.discard(key)
                return
            if self._open.pop(key, None) is None:
                return
            simple = self._simple
            if simple is None:
                simple = self._simple = SimpleSpanProcessor(self.exporter)
        simple.on_end(span)

    def open_spans(self) -> tuple[ReadableSpan, ...]:
        with self._open_lock:
            live = list(self._open.values())
        return tuple(_snapshot(span) for span in live if span.end_time is None)

    def clear(self) -> None:
        if not self.touched:
            return
        with self._open_lock:
            self._open.clear()
        self.exporter.clear()

    def shutdown(self) -> None:
        if self._simple is not None:
            self._simple.shutdown()
        else:
            self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


_SESSION_KEY = otel_context.create_key("pytest-agent-readiness.session")


def _snapshot(span: Span) -> ReadableSpan:
    """Copy a live span so the Trace does not change under the reader."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=dict(span.attributes or {}),
        events=tuple(span.events),
        links=tuple(span.links),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=None,
        instrumentation_scope=span.instrumentation_scope,
    )


class _SwitchableProcessor(SpanProcessor):
    """The one processor a registry adds to a provider. It forwards to the captures subscribed
    now and does nothing once switched off: SDK providers cannot remove a processor, so a
    processor left on a project's provider after our session must be inert."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sinks: tuple[_CaptureSink, ...] = ()
        self._active = True

    @property
    def active(self) -> bool:
        return self._active

    def subscribe(self, sink: _CaptureSink) -> None:
        with self._lock:
            if sink not in self._sinks:
                self._sinks = (*self._sinks, sink)

    def unsubscribe(self, sink: _CaptureSink) -> None:
        with self._lock:
            self._sinks = tuple(s for s in self._sinks if s is not sink)

    def switch_off(self) -> None:
        with self._lock:
            self._active = False
            self._sinks = ()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        # The tuple is replaced, never mutated, so reading it without the lock is safe.
        for sink in self._sinks:
            sink.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for sink in self._sinks:
            sink.on_end(span)

    def shutdown(self) -> None:
        self.switch_off()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass(frozen=True)
class _ProviderChoice:
    provider: TracerProvider
    caveats: tuple[str, ...]


class SpanCaptureRegistry:
    """Process-wide tracing state for one test session; the plugin owns one and closes it.

    - When the global tracer provider is the API's default proxy, the registry sets one SDK
      provider globally, once, and every capture reuses it (instrumentation that asked the
      proxy for a tracer earlier is then routed to it too).
    - When the project already set an SDK provider globally, captures attach to it.
    - When the global provider is something we cannot attach to, captures get a private SDK
      provider that adapters must hand to the framework explicitly.
    On each provider it touches, the registry adds exactly one switchable processor;
    :meth:`close` switches them all off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owned_provider: TracerProvider | None = None
        self._private_provider: TracerProvider | None = None
        self._processors: list[tuple[TracerProvider, _SwitchableProcessor]] = []
        self._closed = False

    @property
    def owned_provider(self) -> TracerProvider | None:
        """The SDK provider this registry set as the process's global provider, if it did."""
        return self._owned_provider

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def choose_provider(self, explicit: TracerProvider | None = None) -> _ProviderChoice:
        """Pick the provider a capture records from (see the class docstring)."""
        with self._lock:
            self._require_open()
            if explicit is not None:
                return _ProviderChoice(explicit, _provider_caveats(explicit))
            current = trace_api.get_tracer_provider()
            if isinstance(current, TracerProvider):
                return _ProviderChoice(current, _provider_caveats(current))
            if isinstance(current, trace_api.ProxyTracerProvider):
                if self._owned_provider is None:
                    candidate = _recording_provider()
                    trace_api.set_tracer_provider(candidate)
                    if trace_api.get_tracer_provider() is candidate:
                        self._owned_provider = candidate
                if self._owned_provider is not None:
                    return _ProviderChoice(
                        self._owned_provider, _provider_caveats(self._owned_provider)
                    )
                current = trace_api.get_tracer_provider()
                if isinstance(current, TracerProvider):
                    return _ProviderChoice(current, _provider_caveats(current))
            if self._private_provider is None:
                self._private_provider = _recording_provider()
            caveat = (
                f"the global tracer provider is {type(current).__qualname__}, not an "
                "OpenTelemetry SDK TracerProvider: only instrumentation given "
                "capture.tracer_provider explicitly is captured"
            )
            return _ProviderChoice(
                self._private_provider,
                (caveat, *_provider_caveats(self._private_provider)),
            )

    def attach(self, provider: TracerProvider, sink: _CaptureSink) -> None:
        """Route the provider's spans to ``sink`` (adding our one processor if needed)."""
        with self._lock:
            self._require_open()
            for known, processor in self._processors:
                if known is provider:
                    processor.subscribe(sink)
                    return
            processor = _SwitchableProcessor()
            processor.subscribe(sink)
            provider.add_span_processor(processor)
            self._processors.append((provider, processor))

    def detach(self, provider: TracerProvider, sink: _CaptureSink) -> None:
        """Stop routing the provider's spans to ``sink``."""
        with self._lock:
            for known, processor in self._processors:
                if known is provider:
                    processor.unsubscribe(sink)

    def close(self) -> None:
        """Switch off every processor this registry added; later captures are refused."""
        with self._lock:
            for _, processor in self._processors:
                processor.switch_off()
            self._closed = True

    def _require_open(self) -> None:
        if self._closed:
            raise SpanCaptureError("the span-capture registry is closed (the session ended)")


def _recording_provider() -> TracerProvider:
    """An SDK provider that keeps what the gate reads. OpenTelemetry's default keeps 128
    attributes a span; OpenInference's LangChain model spans carry every message of the
    history and pass that around the 13th model call of a session, after which the token
    counts, set last, are dropped."""
    return TracerProvider(
        sampler=ALWAYS_ON, span_limits=SpanLimits(max_span_attributes=SPAN_ATTRIBUTE_LIMIT)
    )


def _provider_caveats(provider: TracerProvider) -> tuple[str, ...]:
    caveats: list[str] = []
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        caveats.append("OTEL_SDK_DISABLED=true: the OpenTelemetry SDK records no spans")
    description = provider.sampler.get_description()
    if description != ALWAYS_ON.get_description() and not description.startswith(
        "ParentBased{root:AlwaysOnSampler,"
    ):
        caveats.append(f"the tracer provider's sampler ({description}) may drop spans")
    return tuple(caveats)


class Recording:
    """What :meth:`SpanCapture.recording` yields: ``trace`` is what was captured so far, and
    once the ``with`` block ends, the trace frozen at that moment.

    Its own context manager (every probe and case session enters one, and a generator-based
    one costs several times as much): entering clears the capture, leaving freezes the trace."""

    def __init__(self, capture: SpanCapture) -> None:
        self._capture = capture
        self._final: Trace | None = None

    def __enter__(self) -> Recording:
        if not self._capture.installed:
            raise SpanCaptureError("SpanCapture.install() must run before recording()")
        self._capture.clear()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._finish()

    @property
    def trace(self) -> Trace:
        """The captured trace (live inside the block, frozen after it)."""
        if self._final is not None:
            return self._final
        return self._capture.snapshot()

    @property
    def done(self) -> bool:
        """Whether the recording block has ended."""
        return self._final is not None

    def _finish(self) -> None:
        self._final = self._capture.snapshot()


class SpanCapture:
    """In-memory span capture for one test (or one harness session)::

        capture = SpanCapture(registry).install()
        with capture.recording() as rec:
            run_the_agent(tracer_provider=capture.tracer_provider)
        rec.trace.tool_calls()

    ``max_spans`` bounds memory; spans beyond it are counted in ``Trace.dropped_spans``.
    Pass ``tracer_provider`` to record from a provider the adapter controls instead of the
    global one.
    """

    def __init__(
        self,
        registry: SpanCaptureRegistry,
        *,
        max_spans: int = DEFAULT_MAX_SPANS,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if max_spans < 1:
            raise ValueError(f"max_spans must be at least 1, got {max_spans}")
        self._registry = registry
        self._explicit_provider = tracer_provider
        self._sink = _CaptureSink(max_spans)
        self._choice: _ProviderChoice | None = None
        self.max_spans = max_spans

    @property
    def installed(self) -> bool:
        """Whether spans are being captured now."""
        return self._choice is not None

    @property
    def tracer_provider(self) -> TracerProvider:
        """The SDK provider being recorded; hand it to frameworks that take one explicitly."""
        if self._choice is None:
            raise SpanCaptureError("SpanCapture.install() must run before tracer_provider is read")
        return self._choice.provider

    @property
    def caveats(self) -> tuple[str, ...]:
        """Why traces from this capture may be incomplete, in words (empty when complete)."""
        return self._choice.caveats if self._choice is not None else ()

    def session_context(self) -> otel_context.Context:
        """The current OpenTelemetry context, marked as this capture's session: run an agent
        session in it, and captures installed later on the same provider leave out the spans
        it still emits (a hung session's), as this one leaves out theirs."""
        return otel_context.set_value(_SESSION_KEY, self._sink.session)

    def install(self) -> SpanCapture:
        """Start capturing (idempotent); returns self."""
        if self._choice is None:
            choice = self._registry.choose_provider(self._explicit_provider)
            self._registry.attach(choice.provider, self._sink)
            self._choice = choice
        return self

    def uninstall(self) -> None:
        """Stop capturing; what was captured stays readable through :meth:`snapshot`."""
        if self._choice is not None:
            self._registry.detach(self._choice.provider, self._sink)
            self._choice = None

    def __enter__(self) -> SpanCapture:
        return self.install()

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def clear(self) -> None:
        """Forget every captured span and the dropped count."""
        self._sink.clear()

    def snapshot(self) -> Trace:
        """A frozen Trace of the spans finished so far plus the spans still open."""
        if not self._sink.touched:
            return Trace(spans=(), caveats=self.caveats)
        finished, dropped = self._sink.exporter.take()
        open_spans = self._sink.open_spans()
        caveats = list(self.caveats)
        if dropped:
            caveats.append(
                f"the capture was full ({self.max_spans} spans): {dropped} spans were dropped"
            )
        return Trace(spans=(*finished, *open_spans), dropped_spans=dropped, caveats=tuple(caveats))

    def recording(self) -> Recording:
        """Clear the capture, run the block, and freeze its trace on the way out
        (``with capture.recording() as rec:``)."""
        return Recording(self)


def trace_of(spans: Iterable[ReadableSpan]) -> Trace:
    """A Trace over spans obtained elsewhere (an exporter of the project's own, a file)."""
    return Trace(spans=tuple(spans))
