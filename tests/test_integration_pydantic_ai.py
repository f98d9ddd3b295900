"""The scripted model driving a real PydanticAI agent offline, watched through its spans."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip(
    "pydantic_ai", reason="pydantic-ai-slim is an optional extra (pip install .[pydantic-ai])"
)

from opentelemetry.sdk.trace import TracerProvider
from pydantic_ai import Agent, ModelRetry
from pydantic_ai.exceptions import UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.usage import UsageLimits

from pytest_agent_readiness.integrations.pydantic_ai import (
    context_from_messages,
    function_model,
    instrument,
)
from pytest_agent_readiness.scripted import (
    ScriptedModel,
    TextReply,
    ToolCallRequest,
    ToolResult,
)
from pytest_agent_readiness.spans import SpanCapture, SpanCaptureRegistry, TokenUsage

AGENT = "triage-bot"


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    registry = SpanCaptureRegistry()
    with SpanCapture(registry, tracer_provider=TracerProvider(shutdown_on_exit=False)) as installed:
        yield installed
    registry.close()


def build_agent(scripted: ScriptedModel, capture: SpanCapture) -> Agent[None, str]:
    agent = Agent(function_model(scripted), name=AGENT)
    instrument(agent, capture.tracer_provider)

    @agent.tool_plain
    def read_ticket(ticket: int) -> str:
        return f"ticket {ticket}: printer on fire"

    @agent.tool_plain
    def reply_with_faq(topic: str) -> str:
        return f"faq about {topic}"

    return agent


def test_runaway_under_a_tool_call_limit_matches_spans_one_for_one(
    capture: SpanCapture,
) -> None:
    scripted = ScriptedModel.runaway("read_ticket", {"ticket": 7})
    agent = build_agent(scripted, capture)

    with capture.recording() as rec, pytest.raises(UsageLimitExceeded):
        asyncio.run(agent.run("triage", usage_limits=UsageLimits(tool_calls_limit=5)))

    calls = rec.trace.tool_calls()
    returned = scripted.returned_results
    assert [c.call_id for c in calls] == list(returned) == [f"call_000{n}" for n in range(1, 6)]
    for call in calls:
        assert call.result == returned[call.call_id or ""].content
        assert call.arguments == {"ticket": 7}
        assert (call.name, call.agent_name, call.error) == ("read_ticket", AGENT, None)
    # The sixth call was asked for and refused by the limit: no span, no result.
    assert [c.call_id for c in scripted.unanswered_calls()] == ["call_0006"]
    # The other declared tool never ran (what permission-creep checks look for).
    assert rec.trace.tool_names() == ["read_ticket"]
    assert not rec.trace.truncated


def test_parallel_tool_calls_produce_parallel_spans(capture: SpanCapture) -> None:
    scripted = ScriptedModel.sequence(
        [
            [
                ToolCallRequest("read_ticket", {"ticket": 1}),
                ToolCallRequest("read_ticket", {"ticket": 2}),
                ToolCallRequest("reply_with_faq", {"topic": "printers"}),
            ]
        ],
        final_text="handled",
    )
    # All three calls must be running at once to pass this barrier: proof they ran in parallel.
    together = threading.Barrier(3)
    agent = Agent(function_model(scripted), name=AGENT)
    instrument(agent, capture.tracer_provider)

    @agent.tool_plain
    def read_ticket(ticket: int) -> str:
        together.wait(timeout=30)
        return f"ticket {ticket}"

    @agent.tool_plain
    def reply_with_faq(topic: str) -> str:
        together.wait(timeout=30)
        return f"faq {topic}"

    with capture.recording() as rec:
        result = asyncio.run(agent.run("triage"))

    assert result.output == "handled"
    spans = [s for s in rec.trace.spans if s.name.startswith("execute_tool")]
    assert len(spans) == 3
    assert len({s.parent.span_id for s in spans if s.parent is not None}) == 1
    assert max(s.start_time or 0 for s in spans) < min(s.end_time or 0 for s in spans)
    assert {c.call_id: c.result for c in rec.trace.tool_calls()} == {
        call_id: r.content for call_id, r in scripted.returned_results.items()
    }


def test_usage_read_from_spans_matches_what_the_model_reported(capture: SpanCapture) -> None:
    scripted = ScriptedModel.sequence(
        [
            ToolCallRequest("read_ticket", {"ticket": 3}),
            ToolCallRequest("read_ticket", {"ticket": 4}),
        ],
        final_text="done",
        input_tokens_per_turn=1_200,
        output_tokens_per_turn=80,
    )
    agent = build_agent(scripted, capture)

    with capture.recording() as rec:
        asyncio.run(agent.run("triage"))

    expected_input = sum(t.input_tokens for t in scripted.turns)
    expected_output = sum(t.output_tokens for t in scripted.turns)
    assert (expected_input, expected_output) == (3_600, 240)
    assert rec.trace.token_usage(AGENT) == TokenUsage(3_600, 240, 3_840)
    [run] = rec.trace.agent_runs(AGENT)
    assert (run.input_tokens, run.output_tokens) == (3_600, 240)
    assert [m.model for m in rec.trace.model_calls()] == ["scripted"] * 3


def test_huge_usage_is_stopped_by_a_token_limit(capture: SpanCapture) -> None:
    scripted = ScriptedModel.huge_usage(50_000, tool="read_ticket", arguments={"ticket": 1})
    agent = build_agent(scripted, capture)

    with capture.recording() as rec, pytest.raises(UsageLimitExceeded):
        asyncio.run(agent.run("triage", usage_limits=UsageLimits(total_tokens_limit=120_000)))

    # The limit is checked after a response, so the last one overshoots (REFERENCE.md).
    assert scripted.turns_taken == 3
    assert rec.trace.token_usage(AGENT).total == 150_000


def test_a_failing_tool_is_sent_back_as_an_error_and_seen_on_its_span(
    capture: SpanCapture,
) -> None:
    scripted = ScriptedModel.sequence([ToolCallRequest("flaky", {})], final_text="gave up")
    agent = Agent(function_model(scripted), name=AGENT)
    instrument(agent, capture.tracer_provider)

    @agent.tool_plain
    def flaky() -> str:
        raise ModelRetry("backend unavailable")

    with capture.recording() as rec:
        asyncio.run(agent.run("triage"))

    [result] = scripted.returned_results.values()
    assert (result.call_id, result.outcome, result.is_error) == ("call_0001", "retried", True)
    [call] = rec.trace.tool_calls()
    assert call.error is not None
    assert "ToolRetryError" in call.error


def test_a_tool_the_agent_does_not_have_leaves_no_execute_tool_span(
    capture: SpanCapture,
) -> None:
    scripted = ScriptedModel.runaway("crm.close_account", max_turns=20)
    agent = build_agent(scripted, capture)

    with capture.recording() as rec, pytest.raises(UnexpectedModelBehavior):
        asyncio.run(agent.run("close it"))

    assert rec.trace.tool_calls() == []
    assert scripted.turns_taken > 1


def test_a_raising_model_fails_the_run_and_its_model_span(capture: SpanCapture) -> None:
    scripted = ScriptedModel.raises(ConnectionError("provider down"))
    agent = build_agent(scripted, capture)

    with capture.recording() as rec, pytest.raises(ConnectionError):
        asyncio.run(agent.run("triage"))

    [run] = rec.trace.agent_runs()
    assert run.error == "ConnectionError"


def test_context_holds_only_results_sent_since_the_last_response() -> None:
    messages: list[ModelMessage] = [
        ModelRequest(parts=[UserPromptPart("the task")]),
        ModelResponse(parts=[ToolCallPart("t", {}, tool_call_id="a")]),
        ModelRequest(parts=[ToolReturnPart("t", "first", tool_call_id="a")]),
        ModelResponse(parts=[ToolCallPart("t", {}, tool_call_id="b")]),
        ModelRequest(parts=[ToolReturnPart("t", {"k": 1}, tool_call_id="b")]),
    ]
    context = context_from_messages(messages)
    assert context.task == "the task"
    assert context.tool_results == (ToolResult("b", {"k": 1}, "t"),)
    assert len(context.messages) == 5


def test_instrument_sets_settings_on_the_agent(capture: SpanCapture) -> None:
    agent = Agent(function_model(ScriptedModel([TextReply("hi")])), name=AGENT)
    settings = instrument(agent, capture.tracer_provider, include_content=False)
    assert isinstance(settings, InstrumentationSettings)
    assert agent.instrument is settings
    with capture.recording() as rec:
        assert asyncio.run(agent.run("x")).output == "hi"
    assert [run.name for run in rec.trace.agent_runs()] == [AGENT]


def test_missing_pydantic_ai_raises_our_own_error() -> None:
    code = (
        "import sys\n"
        "sys.modules['pydantic_ai'] = None\n"
        "from pytest_agent_readiness.integrations import IntegrationUnavailable\n"
        "from pytest_agent_readiness.integrations.pydantic_ai import function_model\n"
        "from pytest_agent_readiness.scripted import ScriptedModel\n"
        "try:\n"
        "    function_model(ScriptedModel([]))\n"
        "except IntegrationUnavailable as error:\n"
        "    print(error)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        "pydantic-ai is not installed: pip install pytest-agent-readiness[pydantic-ai]"
    )
