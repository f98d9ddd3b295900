"""The LangGraph integration driving real ``create_agent`` graphs offline, watched through
OpenInference spans, the effects ledger and the harness's approval desk."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain.agents", reason="LangGraph is an optional extra (.[langgraph])")
pytest.importorskip("openinference.instrumentation.langchain", reason="needs OpenInference")

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware, wrap_tool_call
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import RunControl
from langgraph.types import interrupt
from openinference.instrumentation.langchain import LangChainInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel, Field

from pytest_agent_readiness.harness import (
    ApprovalDesk,
    EffectsLedger,
    Harness,
    run_session,
)
from pytest_agent_readiness.integrations.langgraph import (
    InterruptNotAnswerable,
    instrument,
    langgraph_handle,
    sample_arguments,
    uninstrument,
)
from pytest_agent_readiness.model import Agent, Tool
from pytest_agent_readiness.scripted import (
    Raise,
    ScriptedModel,
    TextReply,
    ToolCallRequest,
    TurnUsage,
)
from pytest_agent_readiness.spans import SpanCapture, SpanCaptureRegistry

AGENT = Agent(
    name="refund-agent",
    stage="stabilization",
    tools={
        "lookup": Tool("lookup", "read", "none", "lookup"),
        "refund": Tool("refund", "write", "required", "refund"),
    },
    escalation={"tool_error": "oncall@example.com"},
)


@pytest.fixture
def capture() -> Iterator[SpanCapture]:
    registry = SpanCaptureRegistry()
    with SpanCapture(registry, tracer_provider=TracerProvider(shutdown_on_exit=False)) as installed:
        yield installed
    registry.close()


def harness_for(script: ScriptedModel, capture: SpanCapture, approve: bool = True) -> Harness:
    return Harness(
        agent=AGENT,
        model=script,
        tracer_provider=capture.tracer_provider,
        effects=EffectsLedger(["refund"]),
        approvals=ApprovalDesk(lambda tool, arguments: approve),
        capture=capture,
    )


class RefundArgs(BaseModel):
    order_id: str = Field(examples=["A-1"])
    amount: float
    reason: str = "duplicate"


ran: list[str] = []


@tool
def lookup(order_id: str) -> str:
    """Read an order."""
    ran.append(f"lookup {order_id}")
    return f"order {order_id}: charged twice"


@tool(args_schema=RefundArgs)
def refund(order_id: str, amount: float, reason: str = "duplicate") -> str:
    """Refund an amount."""
    ran.append(f"refund {order_id} {amount}")
    return f"refunded {amount}"


def graph(harness: Harness, *middleware: Any, **options: Any) -> Any:
    return create_agent(
        harness.langchain_model(),
        tools=[lookup, refund],
        middleware=list(middleware),
        checkpointer=InMemorySaver(),
        **options,
    )


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    ran.clear()
    yield
    uninstrument()  # what the plugin does when a --readiness session ends


def test_parallel_calls_run_and_their_results_reach_the_script(capture: SpanCapture) -> None:
    script = ScriptedModel.sequence(
        [
            (
                ToolCallRequest("lookup", {"order_id": "A-1"}),
                ToolCallRequest("lookup", {"order_id": "A-2"}),
            ),
            TextReply("done"),
        ]
    )
    harness = harness_for(script, capture)
    handle = langgraph_handle(harness, graph(harness))

    assert handle.run("refund my duplicate charge") == "done"

    assert sorted(ran) == ["lookup A-1", "lookup A-2"]
    results = script.returned_results
    assert sorted(str(r.content) for r in results.values()) == [
        "order A-1: charged twice",
        "order A-2: charged twice",
    ]
    ids = [call.call_id for call in script.requested_calls]
    assert len(set(ids)) == 2 and set(results) == set(ids)
    spans = harness.trace().tool_calls()
    assert sorted(span.name for span in spans) == ["lookup", "lookup"]


def test_token_usage_reaches_the_model_spans(capture: SpanCapture) -> None:
    script = ScriptedModel.sequence(
        [(ToolCallRequest("lookup", {"order_id": "A-1"}), TurnUsage(300, 40)), TextReply("done")]
    )
    harness = harness_for(script, capture)
    langgraph_handle(harness, graph(harness)).run("task")
    usage = [(call.input_tokens, call.output_tokens) for call in harness.trace().model_calls()]
    assert usage == [(300, 40), (10, 5)]


def test_a_scripted_exception_leaves_the_model_call(capture: SpanCapture) -> None:
    script = ScriptedModel([Raise(TimeoutError("provider timed out"))])
    harness = harness_for(script, capture)
    with pytest.raises(TimeoutError, match="provider timed out"):
        langgraph_handle(harness, graph(harness)).run("task")


def test_tools_and_their_sample_arguments_come_from_the_graph(capture: SpanCapture) -> None:
    harness = harness_for(ScriptedModel([TextReply("done")]), capture)
    handle = langgraph_handle(harness, graph(harness), samples={"lookup": {"order_id": "B-7"}})
    assert handle.tools == {
        "lookup": {"order_id": "B-7"},
        "refund": {"order_id": "A-1", "amount": 1.0},
    }
    assert sample_arguments(lookup) == {"order_id": "sample"}


def test_every_tool_execution_is_an_effect_inside_its_span(capture: SpanCapture) -> None:
    script = ScriptedModel.sequence(
        [
            ToolCallRequest("lookup", {"order_id": "A-1"}),
            ToolCallRequest("refund", {"order_id": "A-1", "amount": 30.0}),
        ],
        final_text="done",
    )
    harness = harness_for(script, capture)
    langgraph_handle(harness, graph(harness)).run("task")

    effects = harness.effects.effects
    assert [(e.tool, dict(e.arguments), e.write) for e in effects] == [
        ("lookup", {"order_id": "A-1"}, False),
        ("refund", {"order_id": "A-1", "amount": 30.0}, True),
    ]
    spans = {span.name: span for span in harness.trace().tool_calls()}
    for effect in effects:
        span = spans[effect.tool]
        assert span.start_ns <= effect.at_ns <= (span.end_ns or 0)


def test_without_record_effects_the_project_doubles_record_alone(capture: SpanCapture) -> None:
    script = ScriptedModel.sequence(
        [ToolCallRequest("lookup", {"order_id": "A-1"})], final_text="ok"
    )
    harness = harness_for(script, capture)
    langgraph_handle(harness, graph(harness), record_effects=False).run("task")
    assert ran == ["lookup A-1"]
    assert harness.effects.effects == ()


def test_the_tool_error_fault_is_raised_before_the_tool_body(capture: SpanCapture) -> None:
    seen: list[str] = []

    @wrap_tool_call
    def on_tool_error(request: Any, handler: Callable[[Any], Any]) -> Any:
        try:
            return handler(request)
        except ConnectionError as error:
            seen.append(str(error))
            return ToolMessage("unavailable", tool_call_id=request.tool_call["id"], status="error")

    script = ScriptedModel.sequence(
        [ToolCallRequest("lookup", {"order_id": "A-1"})], final_text="ok"
    )
    harness = harness_for(script, capture)
    handle = langgraph_handle(harness, graph(harness, on_tool_error))
    harness.effects.fail_next("lookup", ConnectionError("injected"))

    assert handle.run("task") == "ok"
    assert seen == ["injected"]
    assert ran == []  # the tool's body never ran
    assert not harness.effects.fault_pending("lookup")
    assert harness.effects.effects == ()


def hitl(**config: Any) -> HumanInTheLoopMiddleware:
    return HumanInTheLoopMiddleware(interrupt_on={"refund": config or True})


REFUND = ToolCallRequest("refund", {"order_id": "A-1", "amount": 30.0})


@pytest.mark.parametrize("mode", ["batched", "per_call"])
@pytest.mark.parametrize("approve", [True, False])
def test_a_reviewed_tool_runs_only_when_the_harness_approves(
    capture: SpanCapture, approve: bool, mode: str
) -> None:
    script = ScriptedModel.sequence([REFUND], final_text="done")
    harness = harness_for(script, capture, approve=approve)
    middleware = HumanInTheLoopMiddleware(interrupt_on={"refund": True}, interrupt_mode=mode)  # type: ignore[arg-type]
    handle = langgraph_handle(harness, graph(harness, middleware))

    assert handle.run("task") == "done"

    assert [(r.tool, r.granted) for r in harness.approvals.requests] == [("refund", approve)]
    assert ran == (["refund A-1 30.0"] if approve else [])
    assert len(harness.effects.of("refund")) == (1 if approve else 0)


def test_a_denial_where_reject_is_not_allowed_is_a_respond_and_the_tool_never_runs(
    capture: SpanCapture,
) -> None:
    script = ScriptedModel.sequence([REFUND], final_text="done")
    harness = harness_for(script, capture, approve=False)
    handle = langgraph_handle(
        harness, graph(harness, hitl(allowed_decisions=["approve", "respond"]))
    )
    assert handle.run("task") == "done"
    assert ran == []
    [result] = script.returned_results.values()
    assert result.outcome == "success"  # respond looks like success to the model...
    assert [r.granted for r in harness.approvals.requests] == [False]  # ...yet was a denial


def test_an_interrupt_that_is_not_a_review_is_refused_by_name(capture: SpanCapture) -> None:
    @wrap_tool_call
    def ask(request: Any, handler: Callable[[Any], Any]) -> Any:
        interrupt({"question": "really?"})
        return handler(request)

    script = ScriptedModel.sequence(
        [ToolCallRequest("lookup", {"order_id": "A-1"})], final_text="ok"
    )
    harness = harness_for(script, capture)
    with pytest.raises(InterruptNotAnswerable, match="really"):
        langgraph_handle(harness, graph(harness, ask)).run("task")


def test_a_drained_run_control_ends_the_session(capture: SpanCapture) -> None:
    controls: list[RunControl] = []

    def control() -> RunControl:
        controls.append(RunControl())
        return controls[-1]

    def stall(turn: int) -> None:
        if turn == 3:
            controls[-1].request_drain("kill switch")

    def script_step(context: Any) -> Any:
        stall(len(script.turns) + 1)
        return ToolCallRequest("lookup", {"order_id": "A-1"})

    script = ScriptedModel(script_step, max_turns=50)
    harness = harness_for(script, capture)
    handle = langgraph_handle(harness, graph(harness), control=control)

    result = run_session(handle.run, "task", deadline_s=60)

    assert result.returned == "halted: Graph drained: kill switch"
    assert ran == ["lookup A-1", "lookup A-1"]  # the third turn's call never ran


def test_instrumentation_is_moved_not_stacked_and_undone_at_session_end(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            from opentelemetry.sdk.trace import TracerProvider
            from openinference.instrumentation.langchain import LangChainInstrumentor
            from pytest_agent_readiness.integrations.langgraph import instrument

            def test_instrument():
                instrument(TracerProvider())
                instrument(TracerProvider())
                assert LangChainInstrumentor().is_instrumented_by_opentelemetry
            """
        )
    )
    assert not LangChainInstrumentor().is_instrumented_by_opentelemetry
    result = pytester.runpytest_inprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1)
    assert not LangChainInstrumentor().is_instrumented_by_opentelemetry


def test_instrument_leaves_a_project_instrumentation_alone() -> None:
    provider = TracerProvider()
    LangChainInstrumentor().instrument(tracer_provider=provider)
    try:
        instrument(TracerProvider())
        from pytest_agent_readiness.integrations import langgraph

        langgraph.uninstrument()
        assert LangChainInstrumentor().is_instrumented_by_opentelemetry
    finally:
        LangChainInstrumentor().uninstrument()
