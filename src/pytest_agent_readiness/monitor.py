"""The reference alert monitor: counts events per signal over each alert's window, and acts.

Dependency-free (the standard library and this package's harness types). On a ``suspend``
alert it engages the agent's declared kill switch (the agent already stops for that switch),
escalates to the alert's owner, and stays suspended until an operator releases it; a ``page``
or ``notify`` alert escalates only. Wired in an adapter in one line::

    monitor = wire_monitor(harness)

The framework integrations (``pydantic_ai_handle``, ``langgraph_handle``,
``openai_agents_handle``) wire it themselves for an agent that declares alerts; their
``monitor=`` keyword turns that off or wires the team's own (:func:`wire_chosen_monitor`).

In production, build it once beside the agent and feed it what happens::

    monitor = ReferenceMonitor(agent, kill_switch=KillSwitchDriver(spec, base_dir),
                               escalate=pager.send)
    monitor.record("failed_tool_calls", "crm.read_ticket")
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

__all__ = ["ReferenceMonitor", "ReleaseRefused", "Suspension", "wire_monitor"]

if TYPE_CHECKING:
    from .harness import AlertEvent, Harness, KillSwitchDriver
    from .model import Agent, Alert

MONITOR_SERVICE = "pytest-agent-readiness monitor"
WINDOW_UNITS_S: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Who an alert reaches: the owner of the failure state the signal is a symptom of; the
# agent's own owner for escalation loops (the failure owners are who the loop kept paging).
SIGNAL_FAILURE_STATE: Mapping[str, str] = {
    "failed_tool_calls": "tool_error",
    "unusual_call_frequency": "budget_exceeded",
    "policy_violations": "policy_violation",
    "unexpected_data_access": "policy_violation",
    "output_quality": "low_confidence",
}
# Signals counted per subject: an escalation loop is the *same* failure state again and again.
PER_SUBJECT = frozenset({"escalation_loops"})


def window_s(window: str) -> int:
    """An alert window (``10m``, ``1h``, ``1d``, ``30s``) in seconds."""
    return int(window[:-1]) * WINDOW_UNITS_S[window[-1]]


def events_to_trip(alert: Alert) -> int:
    """How many events reach ``alert``'s threshold (at least one)."""
    return max(1, math.ceil(alert.threshold))


def alert_owner(agent: Agent, signal: str) -> str | None:
    """Who ``signal``'s alert reaches: the declared owner of its failure state, else the
    agent's owner (e-mail, else as written)."""
    state = SIGNAL_FAILURE_STATE.get(signal)
    owners = agent.escalation or {}
    if state is not None and state in owners:
        return owners[state]
    if agent.owner is not None:
        return agent.owner.email or agent.owner.raw or agent.owner.name
    return None


class ReleaseRefused(Exception):
    """Someone who is not a declared operator of the kill switch tried to release the agent."""


@dataclass(frozen=True)
class Suspension:
    """Why the agent is suspended: the alert that tripped and after how many events."""

    signal: str
    events: int
    detail: str


class ReferenceMonitor:
    """Counts alert events per signal in a sliding window on ``clock`` and acts on each alert.

    ``kill_switch`` is what a ``suspend`` alert engages (None: the monitor records the
    suspension and escalates, and nothing stops the agent); ``escalate(state, owner, detail)``
    reaches people; ``clock`` gives seconds (``time.monotonic`` by default)."""

    def __init__(
        self,
        agent: Agent,
        *,
        kill_switch: KillSwitchDriver | None = None,
        escalate: Callable[[str, str, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.agent = agent
        self.kill_switch = kill_switch
        self.escalate = escalate
        self.clock = clock
        self.alerts = {alert.signal: alert for alert in agent.alerts or ()}
        self.suspension: Suspension | None = None
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], deque[float]] = {}

    @property
    def suspended(self) -> bool:
        return self.suspension is not None

    def observe(self, event: AlertEvent) -> None:
        """Count one event from an :class:`~.harness.AlertFeed`."""
        self.record(event.signal, event.subject, event.detail)

    def record(self, signal: str, subject: str = "", detail: str = "") -> None:
        """Count one event of ``signal``; act when its alert's threshold is reached."""
        alert = self.alerts.get(signal)
        if alert is None:
            return
        key = (signal, subject if signal in PER_SUBJECT else "")
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            seen.append(now)
            while seen and seen[0] <= now - window_s(alert.window):
                seen.popleft()
            count = len(seen)
            if count < events_to_trip(alert):
                return
            seen.clear()  # one alert per threshold reached, not one per event after it
            if alert.action == "suspend":
                if self.suspension is not None:
                    return  # already suspended: one escalation is enough
                self.suspension = Suspension(signal, count, detail)
        words = f"{signal}: {count} events in {alert.window} ({detail or subject})"
        if alert.action == "suspend":
            # Stop the agent first, then tell people: nothing runs while the page goes out.
            if self.kill_switch is not None:
                self.kill_switch.engage()
            words = f"suspended: {words}"
        owner = alert_owner(self.agent, signal)
        if owner is not None and self.escalate is not None:
            self.escalate(signal, owner, words)

    def release(self, operator: str) -> None:
        """An operator lifts the suspension: the kill switch is disengaged and counting starts
        afresh. Only a declared operator of the kill switch may (when any is declared)."""
        spec = self.agent.kill_switch
        if spec is not None and spec.operators and operator not in spec.operators:
            raise ReleaseRefused(
                f"{operator} is not a declared operator of {self.agent.name}'s kill switch "
                f"({', '.join(spec.operators)})"
            )
        with self._lock:
            self.suspension = None
            self._seen.clear()
        if self.kill_switch is not None:
            self.kill_switch.disengage()

    def attach(self, harness: Harness) -> None:
        """Take this session's events, escalation sink and kill switch from ``harness``."""
        self.escalate = harness.escalate
        if harness.kill_switch is not None:
            self.kill_switch = harness.kill_switch
        harness.alert_events.subscribe(self.observe)
        harness.on_release(self.release)


def wire_monitor(harness: Harness) -> ReferenceMonitor:
    """The reference monitor for ``harness``'s agent, kept across sessions (as a process beside
    the agent would keep it) and counting on ``harness.clock``: the one line an adapter needs."""
    monitor = harness.service(
        MONITOR_SERVICE, lambda: ReferenceMonitor(harness.agent, clock=harness.clock)
    )
    monitor.attach(harness)
    return monitor


def wire_chosen_monitor(harness: Harness, monitor: bool | Callable[[Harness], object]) -> None:
    """Wire what an integration's ``monitor=`` asks for: ``True``, the reference monitor (only
    for an agent that declares alerts: otherwise there is nothing to count); ``False``, none
    (the team's monitor lives outside the process, or the adapter wires one itself: an alert
    probe with no monitor wired skips, proving nothing); a function, the team's own monitor,
    wired by calling it with ``harness`` (it keeps itself across sessions with
    ``harness.service``, counts ``harness.alert_events`` on ``harness.clock``)."""
    if monitor is True:
        if harness.agent.alerts:
            wire_monitor(harness)
    elif callable(monitor):
        monitor(harness)
