"""Span capture and the query API, over spans made by a real OpenTelemetry SDK tracer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

from pytest_agent_readiness.spans import (
    ModelCall,
    SpanCapture,
    SpanCaptureError,
    SpanCaptureRegistry,
    TokenUsage,
    Trace,
    trace_of,
)


@pytest.fixture
def registry() -> Iterator[SpanCaptureRegistry]:
    session = SpanCaptureRegistry()
    yield session
    session.close()


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider(shutdown_on_exit=False)


@pytest.fixture
def capture(registry: SpanCaptureRegistry, provider: TracerProvider) -> Iterator[SpanCapture]:
    with SpanCapture(registry, tracer_provider=provider) as installed:
        yield installed


def tracer_of(capture: SpanCapture) -> trace_api.Tracer:
    return capture.tracer_provider.get_tracer("test")


def emit_genai_run(tracer: trace_api.Tracer, agent: str = "triage-bot") -> None:
    """Spans shaped as PydanticAI's instrumentation makes them (attribute for attribute)."""
    common = {"gen_ai.agent.name": agent, "gen_ai.agent.call.id": "run-1"}
    with tracer.start_as_current_span(
        f"invoke_agent {agent}",
        attributes={"gen_ai.operation.name": "invoke_agent", "agent_name": agent, **common},
    ) as run:
        with tracer.start_as_current_span(
            "chat gpt-test",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-test",
                "gen_ai.provider.name": "openai",
                **common,
            },
        ) as chat:
            chat.set_attribute("gen_ai.usage.input_tokens", 100)
            chat.set_attribute("gen_ai.usage.output_tokens", 20)
        with tracer.start_as_current_span(
            "execute_tool crm.read_ticket",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "crm.read_ticket",
                "gen_ai.tool.call.id": "call_a",
                "gen_ai.tool.call.arguments": '{"ticket":42}',
                **common,
            },
        ) as tool:
            tool.set_attribute("gen_ai.tool.call.result", '{"status":"open"}')
        with tracer.start_as_current_span(
            "chat gpt-test",
            attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-test"},
        ) as chat:
            chat.set_attribute("gen_ai.usage.input_tokens", 150)
            chat.set_attribute("gen_ai.usage.output_tokens", 5)
        run.set_attribute("gen_ai.aggregated_usage.input_tokens", 250)
        run.set_attribute("gen_ai.aggregated_usage.output_tokens", 25)


def emit_openinference_langchain_run(tracer: trace_api.Tracer) -> None:
    """Spans shaped as openinference-instrumentation-langchain makes them: no gen_ai.*, a TOOL
    span named after the tool, LLM spans with llm.token_count.*."""
    with tracer.start_as_current_span(
        "LangGraph", attributes={"openinference.span.kind": "CHAIN", "input.value": "hi"}
    ):
        with tracer.start_as_current_span(
            "ChatOpenAI",
            attributes={
                "openinference.span.kind": "LLM",
                "llm.model_name": "gpt-4o-mini",
                "llm.token_count.prompt": 30,
                "llm.token_count.completion": 7,
                "llm.token_count.total": 37,
            },
        ):
            pass
        with tracer.start_as_current_span(
            "lookup_order",
            attributes={
                "openinference.span.kind": "TOOL",
                "tool.name": "lookup_order",
                "input.value": "{'order_id': 7}",
                "input.mime_type": "text/plain",
                "output.value": "shipped",
            },
        ):
            pass


def test_genai_spans_read_as_pydantic_ai_emits_them(capture: SpanCapture) -> None:
    with capture.recording() as rec:
        emit_genai_run(tracer_of(capture))

    trace = rec.trace
    [call] = trace.tool_calls()
    assert call.name == "crm.read_ticket"
    assert call.call_id == "call_a"
    assert call.arguments == {"ticket": 42}
    assert call.result == '{"status":"open"}'
    assert call.agent_name == "triage-bot"
    assert call.convention == "genai"
    assert call.error is None
    assert call.finished
    assert trace.tool_names() == ["crm.read_ticket"]
    assert [
        (m.model, m.operation, m.input_tokens, m.output_tokens) for m in trace.model_calls()
    ] == [
        ("gpt-test", "chat", 100, 20),
        ("gpt-test", "chat", 150, 5),
    ]
    # The second chat span has no agent attribute: its agent comes from the invoke_agent parent.
    assert {m.agent_name for m in trace.model_calls()} == {"triage-bot"}
    [run] = trace.agent_runs()
    assert (run.name, run.input_tokens, run.output_tokens) == ("triage-bot", 250, 25)
    # Usage comes from the model calls; the run's aggregate is not counted a second time.
    assert trace.token_usage() == TokenUsage(input=250, output=25, total=275)
    assert trace.token_usage("triage-bot") == TokenUsage(input=250, output=25, total=275)
    assert trace.token_usage("someone-else") == TokenUsage(0, 0, 0)
    assert not trace.truncated
    assert trace.caveats == ()


def test_openinference_spans_read_as_langchain_instrumentor_emits_them(
    capture: SpanCapture,
) -> None:
    with capture.recording() as rec:
        emit_openinference_langchain_run(tracer_of(capture))

    trace = rec.trace
    [call] = trace.tool_calls()
    assert (call.name, call.call_id, call.convention) == ("lookup_order", None, "openinference")
    # LangChain's input.value is a Python repr, not JSON: it stays the raw string.
    assert call.arguments == "{'order_id': 7}"
    assert call.result == "shipped"
    assert call.agent_name is None
    [model] = trace.model_calls()
    assert (model.model, model.operation, model.total_tokens) == ("gpt-4o-mini", "LLM", 37)
    assert trace.token_usage() == TokenUsage(input=30, output=7, total=37)
    assert trace.agent_runs() == []


def test_agent_name_is_inferred_from_the_nearest_agent_ancestor(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with (
        capture.recording() as rec,
        tracer.start_as_current_span(
            "Support orchestrator",
            attributes={"openinference.span.kind": "AGENT", "agent.name": "orchestrator"},
        ),
    ):
        with (
            tracer.start_as_current_span(
                "refunds", attributes={"openinference.span.kind": "AGENT"}
            ),
            tracer.start_as_current_span("step", attributes={"openinference.span.kind": "CHAIN"}),
            tracer.start_as_current_span(
                "issue_refund",
                attributes={"openinference.span.kind": "TOOL", "tool.name": "issue_refund"},
            ),
        ):
            pass
        with tracer.start_as_current_span(
            "execute_tool read_ticket",
            attributes={"gen_ai.operation.name": "execute_tool"},
        ):
            pass

    calls = {call.name: call for call in rec.trace.tool_calls()}
    assert calls["issue_refund"].agent_name == "refunds"
    assert calls["read_ticket"].agent_name == "orchestrator"
    assert [run.name for run in rec.trace.agent_runs()] == ["orchestrator", "refunds"]
    assert [call.name for call in rec.trace.tool_calls(agent="refunds")] == ["issue_refund"]
    assert [call.name for call in rec.trace.tool_calls("read_ticket")] == ["read_ticket"]


def emit_openinference_agents_sdk_round(
    tracer: trace_api.Tracer, calls: list[tuple[str, str | None]], agent: str = "refund-agent"
) -> None:
    """One approval round as openinference-instrumentation-openai-agents makes it: an AGENT
    span per run, TOOL spans with no call id; a call paused for approval has no output.value."""
    with (
        tracer.start_as_current_span(
            agent, attributes={"openinference.span.kind": "AGENT", "agent.name": agent}
        ),
        tracer.start_as_current_span("turn", attributes={"openinference.span.kind": "CHAIN"}),
    ):
        for tool, output in calls:
            attributes = {
                "openinference.span.kind": "TOOL",
                "tool.name": tool,
                "input.value": '{"order_id": "A-1"}',
            }
            if output is not None:
                attributes["output.value"] = output
            with tracer.start_as_current_span(tool, attributes=attributes):
                pass


def test_a_call_paused_for_approval_then_run_counts_once(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with (
        capture.recording() as rec,
        tracer.start_as_current_span("session", attributes={"openinference.span.kind": "AGENT"}),
    ):
        for _ in range(12):
            emit_openinference_agents_sdk_round(tracer, [("payments.refund", None)])
            emit_openinference_agents_sdk_round(tracer, [("payments.refund", "refunded")])

    calls = rec.trace.tool_calls()
    assert len(calls) == 12
    assert {(call.result, call.agent_name) for call in calls} == {("refunded", "refund-agent")}


def test_parallel_pauses_of_identical_calls_each_need_their_own_run(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with (
        capture.recording() as rec,
        tracer.start_as_current_span("session", attributes={"openinference.span.kind": "AGENT"}),
    ):
        emit_openinference_agents_sdk_round(tracer, [("payments.refund", None)] * 3)
        emit_openinference_agents_sdk_round(tracer, [("payments.refund", "refunded")] * 2)

    # Two pauses were answered by runs; the third never ran, and a lone span with no result
    # cannot be told from a tool that returned nothing, so it still counts (never fewer).
    assert [call.result for call in rec.trace.tool_calls()] == [None, "refunded", "refunded"]


def test_tools_that_return_nothing_are_not_taken_for_pauses(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with capture.recording() as rec:
        emit_openinference_agents_sdk_round(tracer, [("customer.notify", None)] * 4)

    assert len(rec.trace.tool_calls("customer.notify")) == 4


def test_a_pause_in_another_trace_is_not_answered_by_this_one(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with capture.recording() as rec:
        emit_openinference_agents_sdk_round(tracer, [("payments.refund", None)])
        emit_openinference_agents_sdk_round(tracer, [("payments.refund", "refunded")])

    # Without one trace around both rounds nothing ties the pause to the run.
    assert len(rec.trace.tool_calls()) == 2


def test_spans_of_one_call_id_collapse_into_the_last(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)

    def execute(call_id: str, result: str | None) -> None:
        with tracer.start_as_current_span(
            "execute_tool payments.refund",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "payments.refund",
                "gen_ai.tool.call.id": call_id,
            },
        ) as span:
            if result is not None:
                span.set_attribute("gen_ai.tool.call.result", result)

    with (
        capture.recording() as rec,
        tracer.start_as_current_span("workflow", attributes={"openinference.span.kind": "CHAIN"}),
    ):
        execute("call_1", None)
        execute("call_2", "refunded")
        execute("call_1", "refunded")
        execute("call_3", None)

    calls = rec.trace.tool_calls()
    assert [(call.call_id, call.result) for call in calls] == [
        ("call_2", "refunded"),
        ("call_1", "refunded"),
        ("call_3", None),
    ]


def test_the_enclosing_agent_span_names_the_agent_over_a_process_wide_label(
    capture: SpanCapture,
) -> None:
    """Spans shaped as opentelemetry-instrumentation-openai-agents-v2 makes them: every span
    carries gen_ai.agent.name "OpenAI Agent"; the agent span's name holds the agent's own."""
    tracer = tracer_of(capture)
    label = {"gen_ai.agent.name": "OpenAI Agent", "gen_ai.provider.name": "openai"}
    with capture.recording() as rec:
        with tracer.start_as_current_span(
            "invoke_agent refund-agent",
            attributes={"gen_ai.operation.name": "invoke_agent", **label},
        ):
            with tracer.start_as_current_span(
                "chat scripted",
                attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "scripted"},
            ) as chat:
                chat.set_attributes({**label, "gen_ai.usage.input_tokens": 10})
            with tracer.start_as_current_span(
                "execute_tool payments.refund",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "payments.refund",
                    **label,
                },
            ):
                pass
        with tracer.start_as_current_span(
            "execute_tool orders.lookup",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "orders.lookup",
                "gen_ai.agent.name": "lookup-worker",
            },
        ):
            pass

    trace = rec.trace
    assert [run.name for run in trace.agent_runs()] == ["refund-agent"]
    assert [call.name for call in trace.tool_calls(agent="refund-agent")] == ["payments.refund"]
    assert [call.agent_name for call in trace.model_calls()] == ["refund-agent"]
    # With no agent span around it, the span's own attribute is all there is.
    assert [call.agent_name for call in trace.tool_calls("orders.lookup")] == ["lookup-worker"]


@pytest.mark.parametrize(
    ("span_name", "attributes", "expected"),
    [
        pytest.param(
            "execute_tool lookup", {}, ("tool", "lookup", "genai"), id="genai-name-fallback"
        ),
        pytest.param(
            "running tool",
            {"gen_ai.tool.name": "lookup"},
            ("tool", "lookup", "genai"),
            id="genai-tool-name-without-operation",
        ),
        pytest.param(
            "chat gpt",
            {"gen_ai.request.model": "gpt"},
            ("model", "gpt", "genai"),
            id="genai-chat-name-fallback",
        ),
        pytest.param(
            "generate_content gemini",
            {"gen_ai.operation.name": "generate_content", "gen_ai.request.model": "gemini"},
            ("model", "gemini", "genai"),
            id="genai-generate-content",
        ),
        pytest.param(
            "completion",
            {"gen_ai.operation.name": "text_completion", "gen_ai.response.model": "davinci"},
            ("model", "davinci", "genai"),
            id="genai-text-completion-response-model",
        ),
        pytest.param(
            "invoke_agent helper",
            {"gen_ai.system": "openai"},
            ("agent", "helper", "genai"),
            id="genai-agent-name-fallback",
        ),
        pytest.param("chat", {}, None, id="hostile-plain-chat-span-is-not-a-model-call"),
        pytest.param(
            "invoke_agent x", {}, None, id="hostile-invoke-agent-name-without-gen-ai-attributes"
        ),
        pytest.param("GET /api", {"http.method": "GET"}, None, id="unrelated-http-span"),
        pytest.param(
            "x", {"openinference.span.kind": "CHAIN"}, None, id="openinference-chain-is-not-a-call"
        ),
        pytest.param(
            "fetch",
            {"openinference.span.kind": "TOOL", "tool.id": "call_9"},
            ("tool", "fetch", "openinference"),
            id="openinference-tool-named-by-span",
        ),
        pytest.param(
            "x",
            {"gen_ai.operation.name": "embeddings", "openinference.span.kind": "LLM"},
            ("model", None, "openinference"),
            id="unknown-genai-operation-falls-to-openinference",
        ),
    ],
)
def test_spans_are_classified_by_convention(
    capture: SpanCapture,
    span_name: str,
    attributes: dict[str, str],
    expected: tuple[str, str | None, str] | None,
) -> None:
    tracer = tracer_of(capture)
    with capture.recording() as rec, tracer.start_as_current_span(span_name, attributes=attributes):
        pass

    trace = rec.trace
    found: list[tuple[str, str | None, str]] = [
        *(("tool", c.name, c.convention) for c in trace.tool_calls()),
        *(("model", m.model, m.convention) for m in trace.model_calls()),
        *(("agent", a.name, a.convention) for a in trace.agent_runs()),
    ]
    assert found == ([] if expected is None else [expected])


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param(
            {"gen_ai.usage.prompt_tokens": 11, "gen_ai.usage.completion_tokens": 4},
            (11, 4, 15),
            id="deprecated-prompt-completion-tokens",
        ),
        pytest.param(
            {
                "gen_ai.usage.input_tokens": 9,
                "gen_ai.usage.prompt_tokens": 999,
                "gen_ai.usage.output_tokens": 1,
            },
            (9, 1, 10),
            id="current-names-win-over-deprecated",
        ),
        pytest.param(
            {"gen_ai.usage.input_tokens": True, "gen_ai.usage.output_tokens": "12"},
            (None, None, None),
            id="hostile-bool-and-string-counts-are-not-counts",
        ),
        pytest.param(
            {"gen_ai.usage.input_tokens": 3.0}, (3, None, 3), id="whole-float-count-accepted"
        ),
    ],
)
def test_model_call_token_attributes(
    capture: SpanCapture,
    attributes: dict[str, object],
    expected: tuple[int | None, int | None, int | None],
) -> None:
    with (
        capture.recording() as rec,
        tracer_of(capture).start_as_current_span(
            "chat m",
            attributes={"gen_ai.operation.name": "chat", **attributes},  # type: ignore[dict-item]
        ),
    ):
        pass

    [call] = rec.trace.model_calls()
    assert (call.input_tokens, call.output_tokens, call.total_tokens) == expected


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        pytest.param('{"a": [1, 2]}', {"a": [1, 2]}, id="json-object"),
        pytest.param("not json {", "not json {", id="hostile-broken-json-kept-raw"),
        pytest.param("[" * 100_000, "[" * 100_000, id="hostile-deep-nesting-kept-raw"),
        pytest.param("", "", id="empty-string"),
    ],
)
def test_tool_arguments_are_parsed_only_when_json(
    capture: SpanCapture, arguments: str, expected: object
) -> None:
    with (
        capture.recording() as rec,
        tracer_of(capture).start_as_current_span(
            "execute_tool t",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.call.arguments": arguments,
            },
        ),
    ):
        pass

    [call] = rec.trace.tool_calls()
    assert call.arguments == expected


def test_tool_errors_come_from_error_type_exception_events_or_status(
    capture: SpanCapture,
) -> None:
    tracer = tracer_of(capture)
    attributes = {"gen_ai.operation.name": "execute_tool"}
    with capture.recording() as rec:
        with tracer.start_as_current_span(
            "execute_tool typed", attributes={**attributes, "error.type": "timeout"}
        ):
            pass
        with pytest.raises(PermissionError), tracer.start_as_current_span("execute_tool raised"):
            raise PermissionError("no")
        with tracer.start_as_current_span("execute_tool status") as span:
            span.set_status(Status(StatusCode.ERROR, "refused by policy"))
        with tracer.start_as_current_span("execute_tool fine") as span:
            span.set_status(Status(StatusCode.OK))

    errors = {call.name: call.error for call in rec.trace.tool_calls()}
    assert errors == {
        "typed": "timeout",
        "raised": "PermissionError",
        "status": "refused by policy",
        "fine": None,
    }


def test_capture_is_bounded_and_says_so(
    registry: SpanCaptureRegistry, provider: TracerProvider
) -> None:
    capture = SpanCapture(registry, tracer_provider=provider, max_spans=3).install()
    tracer = tracer_of(capture)
    with capture.recording() as rec:
        for index in range(5):
            with tracer.start_as_current_span(
                f"execute_tool t{index}", attributes={"gen_ai.operation.name": "execute_tool"}
            ):
                pass

    trace = rec.trace
    assert len(trace.spans) == 3
    assert trace.dropped_spans == 2
    assert trace.truncated
    assert any("2 spans were dropped" in caveat for caveat in trace.caveats)
    # A new recording starts empty and whole again.
    with (
        capture.recording() as again,
        tracer.start_as_current_span(
            "execute_tool t", attributes={"gen_ai.operation.name": "execute_tool"}
        ),
    ):
        pass
    assert (len(again.trace.spans), again.trace.truncated) == (1, False)


def test_max_spans_must_be_positive(registry: SpanCaptureRegistry) -> None:
    with pytest.raises(ValueError, match="max_spans must be at least 1"):
        SpanCapture(registry, max_spans=0)


def test_order_is_start_time_then_span_id_whatever_the_input_order(
    capture: SpanCapture,
) -> None:
    tracer = tracer_of(capture)
    with capture.recording() as rec:
        for name in ("b", "a", "c"):
            span = tracer.start_span(
                f"execute_tool {name}",
                attributes={"gen_ai.operation.name": "execute_tool"},
                start_time=1_000,
            )
            span.end(end_time=2_000)
        late = tracer.start_span(
            "execute_tool first-started",
            attributes={"gen_ai.operation.name": "execute_tool"},
            start_time=500,
        )
        late.end(end_time=3_000)

    spans = rec.trace.spans
    assert spans[0].name == "execute_tool first-started"
    ids = [span.context.span_id for span in spans[1:] if span.context is not None]
    assert ids == sorted(ids)
    # The same spans in any order give the same trace.
    assert trace_of(reversed(spans)).spans == spans
    assert [c.span_id for c in trace_of(spans[::2] + spans[1::2]).tool_calls()] == [
        c.span_id for c in rec.trace.tool_calls()
    ]


def test_a_tool_still_running_is_evidence(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with capture.recording() as rec:
        hung = tracer.start_span(
            "execute_tool issue_refund",
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "issue_refund",
            },
        )
        [running] = rec.trace.tool_calls()
        assert (running.name, running.end_ns, running.finished) == ("issue_refund", None, False)
        hung.set_attribute("gen_ai.tool.call.result", "ok")
        hung.end()

    [done] = rec.trace.tool_calls()
    assert done.finished
    assert done.result == "ok"


def test_recording_clears_at_start_and_freezes_at_end(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    with tracer.start_as_current_span(
        "execute_tool before", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass
    with capture.recording() as rec:
        assert rec.trace.spans == ()
        with tracer.start_as_current_span(
            "execute_tool during", attributes={"gen_ai.operation.name": "execute_tool"}
        ):
            pass
        done_inside_the_block = rec.done
    with tracer.start_as_current_span(
        "execute_tool after", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass

    assert (done_inside_the_block, rec.done) == (False, True)
    assert rec.trace.tool_names() == ["during"]
    assert capture.snapshot().tool_names() == ["after", "during"]


def test_a_block_left_by_an_exception_still_freezes_its_trace(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)

    def session() -> None:
        with tracer.start_as_current_span(
            "execute_tool during", attributes={"gen_ai.operation.name": "execute_tool"}
        ):
            pass
        raise ConnectionError("the agent raised")

    with pytest.raises(ConnectionError), capture.recording() as rec:
        session()
    with tracer.start_as_current_span(
        "execute_tool after", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass

    assert rec.done
    assert rec.trace.tool_names() == ["during"]


def test_spans_from_many_threads_are_all_captured(capture: SpanCapture) -> None:
    tracer = tracer_of(capture)
    workers, per_worker = 8, 50
    start = threading.Barrier(workers)

    def work(worker: int) -> None:
        start.wait(timeout=30)
        for index in range(per_worker):
            with tracer.start_as_current_span(
                f"execute_tool w{worker}",
                attributes={
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.call.id": f"{worker}-{index}",
                },
            ):
                pass

    with capture.recording() as rec:
        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    ids = [call.call_id for call in rec.trace.tool_calls()]
    assert len(ids) == len(set(ids)) == workers * per_worker


def test_install_is_required_before_use(registry: SpanCaptureRegistry) -> None:
    capture = SpanCapture(registry, tracer_provider=TracerProvider(shutdown_on_exit=False))
    with pytest.raises(SpanCaptureError, match="install"):
        _ = capture.tracer_provider
    with pytest.raises(SpanCaptureError, match="install"), capture.recording():
        pass


def test_captures_share_one_switchable_processor_and_go_inert_on_close(
    provider: TracerProvider,
) -> None:
    registry = SpanCaptureRegistry()
    tracer = provider.get_tracer("test")
    first = SpanCapture(registry, tracer_provider=provider).install()
    second = SpanCapture(registry, tracer_provider=provider).install()
    with tracer.start_as_current_span(
        "execute_tool both", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass
    first.uninstall()
    with tracer.start_as_current_span(
        "execute_tool second-only", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass
    assert first.snapshot().tool_names() == ["both"]
    assert second.snapshot().tool_names() == ["both", "second-only"]
    # One processor on the provider however many captures came and went.
    assert len(provider._active_span_processor._span_processors) == 1

    registry.close()
    with tracer.start_as_current_span(
        "execute_tool after-close", attributes={"gen_ai.operation.name": "execute_tool"}
    ):
        pass
    assert "after-close" not in second.snapshot().tool_names()
    with pytest.raises(SpanCaptureError, match="closed"):
        SpanCapture(registry, tracer_provider=provider).install()


def test_a_sampler_that_drops_spans_is_a_caveat(registry: SpanCaptureRegistry) -> None:
    sampled = TracerProvider(sampler=TraceIdRatioBased(0.5), shutdown_on_exit=False)
    capture = SpanCapture(registry, tracer_provider=sampled).install()
    assert any("may drop spans" in caveat for caveat in capture.snapshot().caveats)


def test_disabled_sdk_is_a_caveat(
    registry: SpanCaptureRegistry, provider: TracerProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    capture = SpanCapture(registry, tracer_provider=provider).install()
    assert any("OTEL_SDK_DISABLED" in caveat for caveat in capture.snapshot().caveats)


def test_hostile_parent_cycle_does_not_hang() -> None:
    context = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(1))
    looped = ReadableSpan(
        name="execute_tool loop",
        context=context,
        parent=context,
        attributes={"gen_ai.operation.name": "execute_tool"},
        start_time=1,
        end_time=2,
    )
    [call] = Trace(spans=(looped,)).tool_calls()
    assert call.agent_name is None


def test_real_pydantic_ai_run_is_read_from_its_spans(capture: SpanCapture) -> None:
    pytest.importorskip("pydantic_ai", reason="pydantic-ai-slim is an optional extra")
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.usage import RequestUsage

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        usage = RequestUsage(input_tokens=40, output_tokens=2)
        if len(messages) == 1:
            return ModelResponse(
                parts=[ToolCallPart("read_ticket", {"ticket": 7}, tool_call_id="t1")], usage=usage
            )
        return ModelResponse(parts=[TextPart("closed")], usage=usage)

    agent = Agent(FunctionModel(model), name="triage-bot")
    agent.instrument = InstrumentationSettings(tracer_provider=capture.tracer_provider)

    @agent.tool_plain
    def read_ticket(ticket: int) -> str:
        return json.dumps({"ticket": ticket, "status": "open"})

    with capture.recording() as rec:
        result = asyncio.run(agent.run("summarise ticket 7"))

    assert result.output == "closed"
    trace = rec.trace
    [call] = trace.tool_calls()
    assert (call.name, call.call_id, call.arguments) == ("read_ticket", "t1", {"ticket": 7})
    assert call.agent_name == "triage-bot"
    assert json.loads(str(call.result)) == {"ticket": 7, "status": "open"}
    assert [m.operation for m in trace.model_calls()] == ["chat", "chat"]
    assert isinstance(trace.model_calls()[0], ModelCall)
    [run] = trace.agent_runs()
    assert (run.name, run.input_tokens, run.output_tokens) == ("triage-bot", 80, 4)
    assert trace.token_usage("triage-bot") == TokenUsage(input=80, output=4, total=84)


# ------------------------------------------------------------------------------------------
# The process-wide global provider: each case runs in its own interpreter, because it can be
# set only once per process.


def run_isolated(tmp_path: Path, body: str) -> str:
    script = tmp_path / "scenario.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    # Nothing logged either: a second set_tracer_provider() would log "Overriding ...".
    assert completed.stderr == ""
    return completed.stdout


def test_default_proxy_gets_one_sdk_provider_for_the_process(tmp_path: Path) -> None:
    out = run_isolated(
        tmp_path,
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from pytest_agent_readiness.spans import SpanCapture, SpanCaptureRegistry

        # Instrumentation often takes its tracer at import time, before any provider is set.
        early_tracer = trace.get_tracer("app")
        registry = SpanCaptureRegistry()
        first = SpanCapture(registry).install()
        assert isinstance(first.tracer_provider, TracerProvider)
        assert trace.get_tracer_provider() is first.tracer_provider is registry.owned_provider
        with first.recording() as rec:
            with early_tracer.start_as_current_span("execute_tool early"):
                pass
        assert rec.trace.tool_names() == ["early"], rec.trace.spans
        owned = first.tracer_provider
        first.uninstall()

        second = SpanCapture(registry).install()
        assert second.tracer_provider is owned
        processors = second.tracer_provider._active_span_processor._span_processors
        assert len(processors) == 1, processors
        # A model span with a long history (OpenInference's LangChain spans carry every
        # message) keeps the token counts set after it, past OpenTelemetry's default 128.
        with second.recording() as rec:
            with early_tracer.start_as_current_span("ChatModel") as span:
                span.set_attribute("openinference.span.kind", "LLM")
                for index in range(400):
                    span.set_attribute(f"llm.input_messages.{index}.message.content", "hi")
                span.set_attribute("llm.token_count.prompt", 30)
        [model] = rec.trace.model_calls()
        assert model.input_tokens == 30, rec.trace.spans[0].dropped_attributes
        registry.close()

        # A later session in the same process attaches to the provider we left behind.
        later = SpanCaptureRegistry()
        third = SpanCapture(later).install()
        assert third.tracer_provider is owned
        assert later.owned_provider is None
        with third.recording() as rec:
            with early_tracer.start_as_current_span("execute_tool again"):
                pass
        assert rec.trace.tool_names() == ["again"]
        print("ok")
        """,
    )
    assert out.strip() == "ok"


def test_project_provider_is_shared_and_left_working(tmp_path: Path) -> None:
    out = run_isolated(
        tmp_path,
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from pytest_agent_readiness.spans import SpanCapture, SpanCaptureRegistry

        projects_exporter = InMemorySpanExporter()
        projects_provider = TracerProvider()
        projects_provider.add_span_processor(SimpleSpanProcessor(projects_exporter))
        trace.set_tracer_provider(projects_provider)
        tracer = trace.get_tracer("app")

        registry = SpanCaptureRegistry()
        capture = SpanCapture(registry).install()
        assert capture.tracer_provider is projects_provider
        assert registry.owned_provider is None
        with capture.recording() as rec:
            with tracer.start_as_current_span("execute_tool shared"):
                pass
        assert rec.trace.tool_names() == ["shared"]
        registry.close()
        with tracer.start_as_current_span("execute_tool after"):
            pass
        assert capture.snapshot().tool_names() == ["shared"]
        names = [span.name for span in projects_exporter.get_finished_spans()]
        assert names == ["execute_tool shared", "execute_tool after"], names
        print("ok")
        """,
    )
    assert out.strip() == "ok"


def test_a_non_sdk_global_provider_gets_a_private_provider_and_a_caveat(tmp_path: Path) -> None:
    out = run_isolated(
        tmp_path,
        """
        from opentelemetry import trace
        from pytest_agent_readiness.spans import SpanCapture, SpanCaptureRegistry

        trace.set_tracer_provider(trace.NoOpTracerProvider())
        registry = SpanCaptureRegistry()
        capture = SpanCapture(registry).install()
        assert capture.tracer_provider is not trace.get_tracer_provider()
        assert SpanCapture(registry).install().tracer_provider is capture.tracer_provider
        with capture.recording() as rec:
            with capture.tracer_provider.get_tracer("x").start_as_current_span("execute_tool t"):
                pass
        assert rec.trace.tool_names() == ["t"]
        assert any("NoOpTracerProvider" in c for c in rec.trace.caveats), rec.trace.caveats
        print("ok")
        """,
    )
    assert out.strip() == "ok"
