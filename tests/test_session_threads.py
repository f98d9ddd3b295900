"""Sessions run on reused threads: one after another they share a thread, a hung session keeps
its own, and no session sees another's context variables.

Real threads and events the tests control; nothing here depends on how long anything takes.
"""

from __future__ import annotations

import contextvars
import os
import threading

import pytest

from pytest_agent_readiness import session_threads
from pytest_agent_readiness.harness import run_session

# Generous: a loaded machine must never turn a working session into a timeout.
DEADLINE_S = 60.0
LEAK: contextvars.ContextVar[str] = contextvars.ContextVar("leak", default="unset")


def test_sessions_one_after_another_reuse_their_threads() -> None:
    seen: list[threading.Thread] = []  # objects, not idents: the OS reuses those

    def run(task: str) -> str:
        seen.append(threading.current_thread())
        return task

    tasks = [f"session {n}" for n in range(8)]
    for task in tasks:
        assert run_session(run, task, deadline_s=DEADLINE_S).returned == task
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
        hung = run_session(hang, "task", deadline_s=0.0)
        assert not hung.finished
        assert started.wait(DEADLINE_S)  # given up on at once, but it does run
        after = run_session(answer, "task", deadline_s=DEADLINE_S)
    finally:
        release.set()
    assert after.finished and after.returned == "answered"
    assert seen[0] != seen[1]


def test_a_session_starts_with_no_context_variables_of_an_earlier_one() -> None:
    def set_it(task: str) -> str:
        LEAK.set(task)
        return LEAK.get()

    def read_it(task: str) -> str:
        return LEAK.get()

    assert run_session(set_it, "set by the first session", deadline_s=DEADLINE_S).returned == (
        "set by the first session"
    )
    assert run_session(read_it, "task", deadline_s=DEADLINE_S).returned == "unset"


def test_an_agent_error_is_the_session_result_and_the_thread_serves_on() -> None:
    seen: list[threading.Thread] = []  # objects, not idents: the OS reuses those

    def fail(task: str) -> str:
        seen.append(threading.current_thread())
        raise RuntimeError("agent broke")

    def answer(task: str) -> str:
        seen.append(threading.current_thread())
        return "answered"

    failed = run_session(fail, "task", deadline_s=DEADLINE_S)
    assert failed.finished and isinstance(failed.error, RuntimeError)
    # Idle again, offered to the next session (which may take another idle thread: a hung
    # session of an earlier test that ended meanwhile).
    assert any(worker._thread is seen[0] for worker in session_threads._idle)
    assert run_session(answer, "task", deadline_s=DEADLINE_S).returned == "answered"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
# Python 3.12+ warns that forking a multi-threaded process may deadlock: the child here only
# starts a thread of its own and exits.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_runs_its_sessions_on_threads_of_its_own() -> None:
    # The parent has an idle session thread; a forked child (pytest-forked, a framework's
    # worker pool) does not have it, and must not hand its session to it.
    assert run_session(lambda task: task, "parent", deadline_s=DEADLINE_S).returned == "parent"
    child = os.fork()
    if child == 0:  # the child: exit 0 only if its session ran
        try:
            result = run_session(lambda task: task, "child", deadline_s=5.0)
            os._exit(0 if result.returned == "child" else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
