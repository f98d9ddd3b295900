"""The scripted ("compromised") model and the plain-agent protocol."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pytest_agent_readiness.scripted import (
    ModelContext,
    ModelTurn,
    PlainAgent,
    Raise,
    ScriptedModel,
    ScriptError,
    ScriptExhausted,
    TextReply,
    ToolCallRequest,
    ToolResult,
    TurnLimitReached,
    TurnModel,
    TurnUsage,
)


class ThreadedAgent:
    """A plain agent as the module docstring describes it, running each turn's tool calls on
    worker threads, with a tool-call budget as its one guardrail."""

    def __init__(
        self,
        model: TurnModel,
        tools: dict[str, Callable[..., object]],
        *,
        tool_calls_per_session: int = 1_000,
    ) -> None:
        self.model = model
        self.tools = tools
        self.tool_calls_per_session = tool_calls_per_session
        self.tool_calls_run = 0

    def run(self, task: str) -> str:
        results: tuple[ToolResult, ...] = ()
        with ThreadPoolExecutor(max_workers=4) as pool:
            while True:
                turn = self.model.next_turn(ModelContext(task=task, tool_results=results))
                if not turn.tool_calls:
                    return turn.text or ""
                if self.tool_calls_run + len(turn.tool_calls) > self.tool_calls_per_session:
                    return "stopped: tool-call budget"
                self.tool_calls_run += len(turn.tool_calls)
                futures = [
                    (call, pool.submit(self.tools[call.name], **call.arguments))
                    for call in turn.tool_calls
                ]
                results = tuple(
                    ToolResult(call.call_id or "", future.result(), call.name)
                    for call, future in futures
                )


def test_sequence_assigns_deterministic_ids_and_records_everything() -> None:
    model = ScriptedModel.sequence(
        [
            [ToolCallRequest("lookup", {"q": 1}), ToolCallRequest("lookup", {"q": 2})],
            ToolCallRequest("other", {"x": 3}),
        ],
        final_text="all done",
    )
    agent: PlainAgent = ThreadedAgent(
        model, {"lookup": lambda q: f"found {q}", "other": lambda x: x * 2}
    )

    assert agent.run("find things") == "all done"
    assert [(c.call_id, c.name) for c in model.requested_calls] == [
        ("call_0001", "lookup"),
        ("call_0002", "lookup"),
        ("call_0003", "other"),
    ]
    assert model.returned_results == {
        "call_0001": ToolResult("call_0001", "found 1", "lookup"),
        "call_0002": ToolResult("call_0002", "found 2", "lookup"),
        "call_0003": ToolResult("call_0003", 6, "other"),
    }
    assert model.turns_taken == 3
    assert [len(t.tool_calls) for t in model.turns] == [2, 1, 0]
    assert model.unanswered_calls() == ()


def test_runaway_never_stops_by_itself_but_the_agent_budget_does() -> None:
    model = ScriptedModel.runaway("ping", {"n": 1}, per_turn=3)
    agent = ThreadedAgent(model, {"ping": lambda n: n}, tool_calls_per_session=10)

    assert agent.run("go") == "stopped: tool-call budget"
    assert agent.tool_calls_run == 9
    ids = [c.call_id for c in model.requested_calls]
    assert len(ids) == len(set(ids)) == 12
    # The fourth turn's calls were requested but never run.
    assert [c.call_id for c in model.unanswered_calls()] == [
        "call_0010",
        "call_0011",
        "call_0012",
    ]


def test_turn_limit_is_the_safety_net_for_an_agent_without_guardrails() -> None:
    model = ScriptedModel.runaway("ping", max_turns=5)
    agent = ThreadedAgent(model, {"ping": lambda: "pong"})

    with pytest.raises(TurnLimitReached, match=r"turn 6 .* allows 5"):
        agent.run("go")
    assert model.turns_taken == 5


def test_exhausted_script_is_an_error_not_a_silent_reply() -> None:
    model = ScriptedModel([ToolCallRequest("ping")])
    with pytest.raises(ScriptExhausted, match="turn 2 but the script has only 1"):
        ThreadedAgent(model, {"ping": lambda: "pong"}).run("go")


def test_forbidden_asks_once_then_replies() -> None:
    model = ScriptedModel.forbidden("crm.issue_refund", {"amount": 10_000})
    ran: list[dict[str, object]] = []

    def issue_refund(**arguments: object) -> str:
        ran.append(arguments)
        return "refunded"

    assert ThreadedAgent(model, {"crm.issue_refund": issue_refund}).run("refund") == "done"
    assert ran == [{"amount": 10_000}]
    assert [c.name for c in model.requested_calls] == ["crm.issue_refund"]


@pytest.mark.parametrize(
    ("into_tool", "expected_calls", "expected_final"),
    [
        pytest.param(None, [], "CANARY-42", id="into-final-text"),
        pytest.param("send_email", [("send_email", {"text": "CANARY-42"})], "done", id="into-tool"),
    ],
)
def test_echo_canary(
    into_tool: str | None, expected_calls: list[tuple[str, dict[str, str]]], expected_final: str
) -> None:
    model = ScriptedModel.echo_canary("CANARY-42", into_tool=into_tool)
    final = ThreadedAgent(model, {"send_email": lambda text: "sent"}).run("summarise")
    assert final == expected_final
    assert [(c.name, dict(c.arguments)) for c in model.requested_calls] == expected_calls


def test_huge_usage_reports_the_tokens_per_turn() -> None:
    single = ScriptedModel.huge_usage(1_000_001)
    turn = single.next_turn(ModelContext())
    assert (turn.input_tokens, turn.output_tokens, turn.text) == (500_000, 500_001, "done")

    looping = ScriptedModel.huge_usage(50_000, tool="search", arguments={"q": "x"})
    turns = [looping.next_turn(ModelContext()) for _ in range(3)]
    assert [t.input_tokens + t.output_tokens for t in turns] == [50_000] * 3
    assert all(t.tool_calls[0].name == "search" for t in turns)


def test_default_and_per_turn_usage() -> None:
    model = ScriptedModel(
        [TextReply("a"), (TextReply("b"), TurnUsage(7, 3))],
        input_tokens_per_turn=100,
        output_tokens_per_turn=1,
    )
    first, second = model.next_turn(ModelContext()), model.next_turn(ModelContext())
    assert (first.input_tokens, first.output_tokens) == (100, 1)
    assert (second.input_tokens, second.output_tokens) == (7, 3)


def test_raises_fails_every_turn_and_counts_it() -> None:
    error = ConnectionError("provider down")
    model = ScriptedModel.raises(error)
    for _ in range(2):
        with pytest.raises(ConnectionError, match="provider down"):
            model.next_turn(ModelContext())
    assert model.turns_taken == 2
    assert all(turn.raised is error for turn in model.turns)


def test_a_raising_turn_requests_no_calls() -> None:
    model = ScriptedModel([(ToolCallRequest("t", call_id="x"), Raise(TimeoutError()))])
    with pytest.raises(TimeoutError):
        model.next_turn(ModelContext())
    assert model.requested_calls == ()


def test_callable_script_sees_the_results_the_agent_sent_back() -> None:
    seen: list[ModelContext] = []

    def script(context: ModelContext) -> list[ToolCallRequest] | TextReply:
        seen.append(context)
        if not context.tool_results:
            return [ToolCallRequest("read", {"id": 1})]
        return TextReply(f"ticket says {context.tool_results[0].content}")

    model = ScriptedModel(script)
    assert ThreadedAgent(model, {"read": lambda id: "hello"}).run("t") == "ticket says hello"
    assert [c.task for c in seen] == ["t", "t"]


def test_results_keep_the_first_per_call_id_and_outcome_says_errors() -> None:
    model = ScriptedModel([ToolCallRequest("t"), ToolCallRequest("t"), TextReply("x")])
    model.next_turn(ModelContext())
    failed = ToolResult("call_0001", "boom", "t", outcome="failed")
    model.next_turn(ModelContext(tool_results=(failed,)))
    model.next_turn(ModelContext(tool_results=(ToolResult("call_0001", "later", "t"),)))
    assert model.returned_results == {"call_0001": failed}
    assert failed.is_error
    assert not ToolResult("c", "ok").is_error
    assert [c.call_id for c in model.unanswered_calls()] == ["call_0002"]


def test_explicit_call_ids_are_kept_and_auto_ids_step_around_them() -> None:
    model = ScriptedModel(
        [(ToolCallRequest("t", call_id="call_0001"), ToolCallRequest("t")), TextReply("x")]
    )
    turn = model.next_turn(ModelContext())
    assert [c.call_id for c in turn.tool_calls] == ["call_0001", "call_0002"]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param(["just a string"], "turn 1: expected a ToolCallRequest", id="string-step"),
        pytest.param([[TextReply("a"), 42]], "turn 1, part 1: expected", id="bad-part"),
        pytest.param([{"name": "t"}], "got dict", id="dict-step"),
        pytest.param([[TurnUsage(1, 1)]], "expected a tool call, a text reply", id="usage-only"),
        pytest.param([[]], "expected a tool call, a text reply", id="empty-turn"),
        pytest.param(
            [(ToolCallRequest("t", call_id="dup"), ToolCallRequest("t", call_id="dup"))],
            "call id 'dup' was already used",
            id="duplicate-id-in-a-turn",
        ),
    ],
)
def test_hostile_scripts_fail_with_a_clear_message(script: list[object], message: str) -> None:
    model = ScriptedModel(script)  # type: ignore[arg-type]
    with pytest.raises(ScriptError, match=message):
        model.next_turn(ModelContext())


def test_duplicate_id_across_turns_is_refused() -> None:
    model = ScriptedModel([ToolCallRequest("t", call_id="a"), ToolCallRequest("t", call_id="a")])
    model.next_turn(ModelContext())
    with pytest.raises(ScriptError, match="'a' was already used"):
        model.next_turn(ModelContext())


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda: ToolCallRequest(""), "non-empty string", id="empty-tool-name"),
        pytest.param(
            lambda: ToolCallRequest("t", ["a"]),  # type: ignore[arg-type]
            "must be a mapping",
            id="list-arguments",
        ),
        pytest.param(lambda: ToolCallRequest("t", call_id=""), "call_id", id="empty-call-id"),
        pytest.param(lambda: TurnUsage(-1, 0), "input_tokens", id="negative-tokens"),
        pytest.param(lambda: TurnUsage(1, True), "output_tokens", id="bool-tokens"),
        pytest.param(lambda: ScriptedModel.runaway("t", per_turn=0), "per_turn", id="per-turn-0"),
        pytest.param(lambda: ScriptedModel([], max_turns=0), "max_turns", id="max-turns-0"),
        pytest.param(
            lambda: ScriptedModel([], input_tokens_per_turn=-5), "input_tokens", id="neg-default"
        ),
    ],
)
def test_malformed_parts_are_refused_when_built(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        build()


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads as often as the interpreter allows, so a missing lock shows as a race."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_callers_get_unique_ids_and_consistent_records() -> None:
    model = ScriptedModel.runaway("ping", per_turn=2, max_turns=10_000)
    threads, turns_each = 8, 100
    start = threading.Barrier(threads)
    turns: list[ModelTurn] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait(timeout=30)
        for _ in range(turns_each):
            turn = model.next_turn(ModelContext())
            model.record_tool_result(ToolResult(turn.tool_calls[0].call_id or "", "pong"))
            with lock:
                turns.append(turn)

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    total = threads * turns_each
    ids = [c.call_id for c in model.requested_calls]
    assert model.turns_taken == total
    assert len(ids) == len(set(ids)) == 2 * total
    assert sorted(t.number for t in turns) == list(range(1, total + 1))
    assert len(model.returned_results) == total
    assert len(model.unanswered_calls()) == total
