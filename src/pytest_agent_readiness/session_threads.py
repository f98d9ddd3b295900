"""The threads agent sessions run on, reused from one session to the next.

A session runs off the calling thread so that a hung agent can be given up on at its deadline
(see :func:`~pytest_agent_readiness.harness.run_session`). Starting a thread for each of
thousands of adversarial cases cost more CPU than the case itself, so a thread whose session
ended waits for the next one. A session that is still running (hung, or abandoned once its
probe had a verdict) keeps its thread, and the next session gets another.

Each session runs in a fresh, empty ``contextvars`` context, as it would on a new thread; what
a session leaves in ``threading.local`` storage is the only state a later session on the same
thread can see.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable

__all__ = ["start_session"]

THREAD_NAME = "agent-readiness-session"
# Idle threads kept for reuse: one is enough for sessions run one at a time; a few more cover
# a session's thread that had not yet gone idle when the next session started.
MAX_IDLE = 4

_idle: list[_SessionThread] = []
_idle_lock = threading.Lock()


class _SessionThread:
    """A daemon thread that runs one session at a time, then offers itself for the next."""

    def __init__(self) -> None:
        self._job: tuple[Callable[[], None], Callable[[], None]] | None = None
        # Held while there is no job; give() releases it. A bare lock, not an Event: the
        # hand-over happens once per session, and an Event's condition costs more than the
        # rest of it.
        self._given = threading.Lock()
        self._given.acquire()
        self._thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def give(self, job: Callable[[], None], ended: Callable[[], None]) -> None:
        self._job = (job, ended)
        self._given.release()

    def _serve(self) -> None:
        while True:
            self._given.acquire()
            given, self._job = self._job, None
            if given is None:
                continue
            job, ended = given
            failed = False
            try:
                contextvars.Context().run(job)
            except BaseException:  # the job records its own outcome; this thread just retires
                failed = True
            # Idle again before the caller hears the session ended, so the caller's next
            # session reuses this thread.
            with _idle_lock:
                keep = not failed and len(_idle) < MAX_IDLE
                if keep:
                    _idle.append(self)
            ended()
            if not keep:
                return


def _forget_idle_threads() -> None:
    """In a forked child: the parent's threads do not exist there, so an idle entry would take
    a session and never run it (and the lock may have been held at the fork)."""
    global _idle_lock
    _idle.clear()
    _idle_lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_forget_idle_threads)


def start_session(job: Callable[[], None], ended: Callable[[], None]) -> None:
    """Run ``job`` on a session thread (an idle one if there is one) and return at once;
    ``ended`` is called on that thread once ``job`` returned and the thread is idle again.

    ``job`` must catch and record its own outcome."""
    with _idle_lock:
        worker = _idle.pop() if _idle else None
    if worker is None:
        worker = _SessionThread()
    worker.give(job, ended)
