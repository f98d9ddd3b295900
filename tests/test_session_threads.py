"""Where sessions run. On pytest's main thread under a SIGALRM deadline where that can be done:
a hung session is interrupted and unwinds, one that catches the interruption meets the next,
Ctrl-C still reaches the run, and one that cannot be interrupted stops the run rather than hang
it. Otherwise (or asked to) on reused threads: one after another they share a thread, a hung
session keeps its own. Either way no session sees another's context variables.

Real threads, signals, events and subprocesses; nothing here depends on how long anything takes
beyond deadlines far shorter than the waits they cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from pytest_agent_readiness import session_threads
from pytest_agent_readiness.harness import run_session

# Generous: a loaded machine must never turn a working session into a timeout.
DEADLINE_S = 60.0
LEAK: contextvars.ContextVar[str] = contextvars.ContextVar("leak", default="unset")
# A deadline a session that would wait DEADLINE_S is cut at.
SHORT_DEADLINE_S = 0.2

here = pytest.mark.skipif(
    not session_threads.can_run_here(), reason="sessions run here only on a POSIX main thread"
)


@pytest.fixture(autouse=True)
def _alarm_left_as_found() -> Iterator[None]:
    """Every test leaves SIGALRM's handler and timer as it found them."""
    yield
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# -- here: on the calling thread, under an alarm ------------------------------------------------


@here
def test_a_session_runs_on_the_calling_thread_when_its_deadline_can_be_enforced_there() -> None:
    result = run_session(lambda task: threading.current_thread(), "task", deadline_s=DEADLINE_S)
    assert result.finished and result.returned is threading.main_thread()


@here
def test_a_hung_session_here_is_interrupted_at_its_deadline_and_unwinds() -> None:
    unwound: list[str] = []

    def hang(task: str) -> str:
        try:
            threading.Event().wait(DEADLINE_S)  # nothing sets it
            return "woke"
        finally:
            unwound.append(task)

    result = run_session(hang, "task", deadline_s=SHORT_DEADLINE_S)
    assert not result.finished
    assert result.describe() == f"still running at its {SHORT_DEADLINE_S:g}s deadline"
    assert unwound == ["task"]  # interrupted, not left running
    assert result.elapsed_s < DEADLINE_S


@here
def test_an_agent_that_catches_the_interruption_meets_the_next_one() -> None:
    caught: list[str] = []

    def retry_forever(task: str) -> str:
        while True:
            try:
                threading.Event().wait(DEADLINE_S)
            except BaseException as error:  # a retry loop that takes everything for a fault
                caught.append(type(error).__name__)
                time.sleep(DEADLINE_S)  # its back-off: where the next interruption lands

    result = run_session(retry_forever, "task", deadline_s=SHORT_DEADLINE_S)
    assert not result.finished
    assert caught == ["DeadlinePassed"]


@here
def test_an_agent_that_returns_after_catching_the_interruption_still_missed_its_deadline() -> None:
    def swallow(task: str) -> str:
        with contextlib.suppress(BaseException):
            threading.Event().wait(DEADLINE_S)
        return "fine, honestly"

    result = run_session(swallow, "task", deadline_s=SHORT_DEADLINE_S)
    assert not result.finished and result.returned is None


@here
def test_an_agent_error_here_is_the_session_result() -> None:
    def fail(task: str) -> str:
        raise RuntimeError("agent broke")

    result = run_session(fail, "task", deadline_s=DEADLINE_S)
    assert result.finished and isinstance(result.error, RuntimeError)


@here
def test_a_ctrl_c_during_a_session_here_stops_the_run() -> None:
    def interrupted(task: str) -> str:
        signal.raise_signal(signal.SIGINT)  # Python's default handler: KeyboardInterrupt
        return "not reached"

    with pytest.raises(KeyboardInterrupt):
        run_session(interrupted, "task", deadline_s=DEADLINE_S)


@here
def test_sessions_go_on_threads_when_something_else_owns_the_alarm() -> None:
    # pytest-timeout's signal method, or the project's own use of SIGALRM.
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: None)
    try:
        assert not session_threads.can_run_here()
        result = run_session(lambda task: threading.current_thread(), "task", deadline_s=DEADLINE_S)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert result.returned is not threading.main_thread()


@here
def test_a_session_started_inside_a_running_event_loop_goes_on_a_thread() -> None:
    # Its own asyncio.run could not nest in the caller's loop.
    async def agent(task: str) -> tuple[str, threading.Thread]:
        return task, threading.current_thread()

    async def caller() -> object:
        return run_session(agent, "task", deadline_s=DEADLINE_S).returned

    returned = asyncio.run(caller())
    assert isinstance(returned, tuple) and returned[0] == "task"
    assert returned[1] is not threading.main_thread()


def test_sessions_off_the_main_thread_go_on_threads_of_their_own() -> None:
    seen: list[object] = []

    def from_a_thread() -> None:
        seen.append(session_threads.can_run_here())
        result = run_session(lambda task: threading.current_thread(), "t", deadline_s=DEADLINE_S)
        seen.append(result.returned)

    caller = threading.Thread(target=from_a_thread)
    caller.start()
    caller.join(DEADLINE_S)
    assert seen[0] is False
    assert seen[1] not in (caller, threading.main_thread())


STUCK_AGENT = """
    import threading

    from pytest_agent_readiness import session_threads
    from pytest_agent_readiness.harness import run_session

    def swallow_everything(task):
        while True:
            try:
                threading.Event().wait(600)
            except BaseException:
                pass

    run_session(swallow_everything, "task", deadline_s=0.1, label="agent stuck-bot's session")
    print("the run went on")
"""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM on this platform")
def test_a_session_that_cannot_be_interrupted_stops_the_run_rather_than_hang_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(STUCK_AGENT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == session_threads.STUCK_EXIT_STATUS
    assert "the run went on" not in done.stdout
    assert "agent stuck-bot's session ran past its deadline" in done.stderr
    assert "--readiness-session-threads" in done.stderr
    assert "swallow_everything" in done.stderr  # the traceback shows where it is stuck


# -- on session threads -------------------------------------------------------------------------


def test_sessions_one_after_another_reuse_their_threads() -> None:
    seen: list[threading.Thread] = []  # objects, not idents: the OS reuses those

    def run(task: str) -> str:
        seen.append(threading.current_thread())
        return task

    tasks = [f"session {n}" for n in range(8)]
    for task in tasks:
        assert run_session(run, task, deadline_s=DEADLINE_S, on_thread=True).returned == task
    # Each session hands its thread to the next. Not always the one thread: a hung session of
    # an earlier test that ends now goes idle too, and the next session may take it.
    assert len(set(seen)) <= len(tasks) // 2, "sessions did not reuse their threads"
    assert threading.current_thread() not in seen  # never the caller's thread


def test_a_hung_session_keeps_its_thread_and_the_next_session_gets_another() -> None:
    release = threading.Event()
    seen: list[threading.Thread] = []  # objects, not idents: the OS reuses those

    started = threading.Event()

    def hang(task: str) -> str:
        seen.append(threading.current_thread())
        started.set()
        release.wait(DEADLINE_S)
        return "released"

    def answer(task: str) -> str:
        seen.append(threading.current_thread())
        return "answered"

    try:
        hung = run_session(hang, "task", deadline_s=0.0, on_thread=True)
        assert not hung.finished
        assert started.wait(DEADLINE_S)  # given up on at once, but it does run
        after = run_session(answer, "task", deadline_s=DEADLINE_S, on_thread=True)
    finally:
        release.set()
    assert after.finished and after.returned == "answered"
    assert seen[0] != seen[1]


@pytest.mark.parametrize("on_thread", [False, True], ids=["here", "on-a-thread"])
def test_a_session_starts_with_no_context_variables_of_an_earlier_one(on_thread: bool) -> None:
    def set_it(task: str) -> str:
        LEAK.set(task)
        return LEAK.get()

    def read_it(task: str) -> str:
        return LEAK.get()

    first = run_session(set_it, "set by the first", deadline_s=DEADLINE_S, on_thread=on_thread)
    assert first.returned == "set by the first"
    assert run_session(read_it, "task", deadline_s=DEADLINE_S, on_thread=on_thread).returned == (
        "unset"
    )
    assert LEAK.get() == "unset"  # nor does the caller


def test_an_agent_error_is_the_session_result_and_the_thread_serves_on() -> None:
    seen: list[threading.Thread] = []  # objects, not idents: the OS reuses those

    def fail(task: str) -> str:
        seen.append(threading.current_thread())
        raise RuntimeError("agent broke")

    def answer(task: str) -> str:
        seen.append(threading.current_thread())
        return "answered"

    failed = run_session(fail, "task", deadline_s=DEADLINE_S, on_thread=True)
    assert failed.finished and isinstance(failed.error, RuntimeError)
    # Idle again, offered to the next session (which may take another idle thread: a hung
    # session of an earlier test that ended meanwhile).
    assert any(worker._thread is seen[0] for worker in session_threads._idle)
    assert run_session(answer, "task", deadline_s=DEADLINE_S, on_thread=True).returned == (
        "answered"
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
# Python 3.12+ warns that forking a multi-threaded process may deadlock: the child here only
# starts a thread of its own and exits.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_runs_its_sessions_on_threads_of_its_own() -> None:
    # The parent has an idle session thread; a forked child (pytest-forked, a framework's
    # worker pool) does not have it, and must not hand its session to it.
    assert run_session(
        lambda task: task, "parent", deadline_s=DEADLINE_S, on_thread=True
    ).returned == ("parent")
    child = os.fork()
    if child == 0:  # the child: exit 0 only if its session ran
        try:
            result = run_session(lambda task: task, "child", deadline_s=5.0, on_thread=True)
            os._exit(0 if result.returned == "child" else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
