"""The operators' kill switch: drain every graph run in flight and refuse new ones.

LangGraph stops a run from another thread through the ``RunControl`` the run was started with
(``agent.invoke(..., control=...)``): ``request_drain`` ends it at the next step, a running tool
finishing first. Every run the service starts takes its control from :data:`RUNS`, so the
switch the on-call engineer throws (``kill_switch(True)``) reaches all of them.
"""

from __future__ import annotations

import threading
from collections import deque

from langgraph.runtime import RunControl

DRAIN_REASON = "the refund agent's kill switch is engaged"


class Runs:
    """The controls of the runs started lately (a bounded window: runs in flight are few)."""

    def __init__(self, window: int = 256) -> None:
        self._lock = threading.Lock()
        self._controls: deque[RunControl] = deque(maxlen=window)
        self.engaged = False

    def control(self) -> RunControl:
        """A fresh control for one run; already drained while the switch is engaged."""
        control = RunControl()
        with self._lock:
            if self.engaged:
                control.request_drain(DRAIN_REASON)
            self._controls.append(control)
        return control

    def kill_switch(self, engaged: bool) -> None:
        """Engage (drain every run in flight, refuse new ones) or release the switch."""
        with self._lock:
            self.engaged = engaged
            if engaged:
                for control in self._controls:
                    control.request_drain(DRAIN_REASON)
                self._controls.clear()


RUNS = Runs()
kill_switch = RUNS.kill_switch
