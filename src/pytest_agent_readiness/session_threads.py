"""Where an agent session runs so that its deadline holds: on the calling thread under an
alarm, or on a thread of its own, reused from one session to the next.

A hung agent must not hang the run (see :func:`~pytest_agent_readiness.harness.run_session`).

- **Here** (:func:`run_here`): on the main thread of a POSIX process whose real-time timer
  nothing else uses, the session runs on the calling thread and ``SIGALRM`` interrupts it at its
  deadline, again every :data:`INTERRUPT_EVERY_S` until it unwinds (an agent that catches the
  first interruption in a retry loop meets the next one outside its ``try``). Handing a
  session to another thread and back cost about 0.12 ms of CPU a session here, more than the
  rest of an adversarial case. An agent blocked in native code that never returns to Python
  cannot be interrupted: given as long again to unwind (at least :data:`MIN_UNWIND_GRACE_S`),
  the run stops with exit status 3 and every thread's traceback, rather than hang.
- **On a session thread** (:func:`start_session`): everywhere else, and whenever the caller
  must act while the session runs (the kill-switch probe). A thread whose session ended waits
  for the next one; a session that is still running (hung, or abandoned once its probe had a
  verdict) keeps its thread, and the next session gets another.

Either way each session runs in a fresh, empty ``contextvars`` context, as it would on a new
thread; what a session leaves in ``threading.local`` storage is the only state a later session
on the same thread can see.
"""

from __future__ import annotations

import contextlib
import contextvars
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Callable

__all__ = ["DeadlinePassed", "can_run_here", "keep_console", "run_here", "start_session"]

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


# -- on the calling thread, under an alarm -----------------------------------------------------

# After the deadline, the session is interrupted again this often until it unwinds.
INTERRUPT_EVERY_S = 0.05
# An interrupted session may take as long to unwind as it had to run, and at least this long,
# before the run stops (it is blocked where no interruption reaches it).
MIN_UNWIND_GRACE_S = 1.0
# The exit status of a run stopped by a session that could not be interrupted: pytest's
# "internal error", never a status a ready verdict could share.
STUCK_EXIT_STATUS = 3


# A duplicate of the stderr the run started with, for the last-resort message: while a test
# runs, pytest captures file descriptor 2, and what a process writes there just before it exits
# is lost with the capture.
_console: int | None = None


def keep_console() -> None:
    """Keep a duplicate of stderr as it is now (call before pytest captures output)."""
    global _console
    stderr = sys.__stderr__
    if _console is None and stderr is not None:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            _console = os.dup(stderr.fileno())


class DeadlinePassed(BaseException):
    """Raised inside a session run here when its deadline passes.

    A ``BaseException``, as ``KeyboardInterrupt`` is, so the agent's ``except Exception``
    (a retry loop, a framework's error handling) does not take it for a failure to recover from.
    """


def can_run_here() -> bool:
    """Whether a session can run on the calling thread with its deadline enforced by SIGALRM:
    a POSIX main thread with no asyncio loop running, where nothing else (pytest-timeout's
    signal method, the user's own code) has a SIGALRM handler or a real-time timer armed."""
    if not hasattr(signal, "setitimer"):
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    # A coroutine agent's asyncio.run cannot nest in a running loop. Where asyncio was never
    # imported no loop can run, and a run that needs no asyncio does not load it.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return False
    return signal.getsignal(signal.SIGALRM) is signal.SIG_DFL and signal.getitimer(
        signal.ITIMER_REAL
    ) == (0.0, 0.0)


class _Alarm:
    """The SIGALRM handler of one session run here: interrupts it only while it is armed."""

    def __init__(self, label: str, grace_s: float) -> None:
        self.armed = True
        self.fired = False
        self._label = label
        self._grace_s = grace_s
        self._watchdog: threading.Timer | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if not self.armed:
            return  # delivered as the session ended: nothing left to interrupt
        if not self.fired:
            self.fired = True
            self._watchdog = threading.Timer(
                self._grace_s, _stop_the_run, (self._label, self._grace_s)
            )
            self._watchdog.daemon = True
            self._watchdog.start()
        raise DeadlinePassed("the session ran past its deadline")

    def disarm(self) -> None:
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        if self._watchdog is not None:
            self._watchdog.cancel()


def _stop_the_run(label: str, grace_s: float) -> None:
    """The last resort, on the watchdog's thread: the session neither ended nor unwound."""
    console = _console if _console is not None else 2
    message = (
        f"\nagent-readiness: {label} ran past its deadline and has not stopped "
        f"{grace_s:g}s after being interrupted (it swallows every exception, or it is "
        f"blocked where Python cannot interrupt it, e.g. a native call with no timeout); the "
        f"run stops here, not ready. --readiness-session-threads runs each session on a thread "
        f"of its own, which a hung session is left on. The threads' tracebacks follow.\n"
    )
    with contextlib.suppress(OSError):
        os.write(console, message.encode("utf-8", errors="replace"))
        faulthandler.dump_traceback(file=console, all_threads=True)
    os._exit(STUCK_EXIT_STATUS)


def run_here(job: Callable[[], None], deadline_s: float, label: str) -> bool:
    """Run ``job`` on the calling thread (see :func:`can_run_here`), interrupting it with
    :class:`DeadlinePassed` from ``deadline_s`` on; True if it ended before its deadline.

    ``job`` must catch and record its own outcome, and let ``KeyboardInterrupt`` through (a
    Ctrl-C meant for the run); ``label`` names the session for the last-resort message."""
    alarm = _Alarm(label, max(deadline_s, MIN_UNWIND_GRACE_S))
    previous = signal.signal(signal.SIGALRM, alarm)
    try:
        # setitimer(0) would disarm: a deadline already passed interrupts at once.
        signal.setitimer(signal.ITIMER_REAL, max(deadline_s, 1e-6), INTERRUPT_EVERY_S)
        contextvars.Context().run(job)
    except DeadlinePassed:
        pass  # out of the job's own handler, or as it returned: past the deadline either way
    finally:
        while True:  # an interruption that lands here, before the alarm is disarmed
            try:
                alarm.disarm()
                signal.signal(signal.SIGALRM, previous)
                break
            except DeadlinePassed:
                continue
    return not alarm.fired
