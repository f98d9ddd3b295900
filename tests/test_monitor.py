"""The reference alert monitor, the harness clock and the alert events, and data_scope."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from conftest import Project
from pytest_agent_readiness.harness import (
    AlertFeed,
    ApprovalDesk,
    EffectsLedger,
    Harness,
    KillSwitchDriver,
    ManualClock,
    outside_scope,
)
from pytest_agent_readiness.manifest import ManifestError, load_manifest
from pytest_agent_readiness.model import Agent, Alert, KillSwitch, Owner, Tool
from pytest_agent_readiness.monitor import (
    MONITOR_SERVICE,
    ReferenceMonitor,
    ReleaseRefused,
    alert_owner,
    window_s,
    wire_chosen_monitor,
)
from pytest_agent_readiness.scripted import ScriptedModel, TextReply

SWITCH = "AGENT_READINESS_MONITOR_TEST_DISABLED"


def agent(*alerts: Alert) -> Agent:
    return Agent(
        name="bot",
        stage="stabilization",
        owner=Owner("Ada Lovelace", "ada@example.com"),
        escalation={"tool_error": "ops@example.com", "policy_violation": "sec@example.com"},
        tools={
            "docs.read": Tool(
                "docs.read", "read", "none", "docs.read", data_scope={"doc": ("faq*",)}
            )
        },
        kill_switch=KillSwitch("env", SWITCH, 2, ("ops@example.com",)),
        alerts=alerts,
    )


def alert(signal: str, threshold: float, window: str, action: str = "suspend") -> Alert:
    return Alert(signal, threshold, window, action, "critical", 0)  # type: ignore[arg-type]


@pytest.fixture
def switch(tmp_path: Path) -> KillSwitchDriver:
    bot = agent()
    assert bot.kill_switch is not None
    with KillSwitchDriver(bot.kill_switch, tmp_path) as driver:
        yield driver  # type: ignore[misc]
    assert SWITCH not in os.environ


def test_a_window_forgets_events_older_than_itself(switch: KillSwitchDriver) -> None:
    clock = ManualClock()
    escalations: list[tuple[str, str, str]] = []
    monitor = ReferenceMonitor(
        agent(alert("failed_tool_calls", 3, "10m")),
        kill_switch=switch,
        escalate=lambda *e: escalations.append(e),
        clock=clock,
    )
    monitor.record("failed_tool_calls", "crm.read")
    monitor.record("failed_tool_calls", "crm.read")
    clock.advance(window_s("10m"))  # both fall out of the window
    monitor.record("failed_tool_calls", "crm.read")
    assert not monitor.suspended and os.environ.get(SWITCH) is None
    clock.advance(window_s("10m") - 1)
    monitor.record("failed_tool_calls", "crm.read")
    monitor.record("failed_tool_calls", "crm.read")
    assert monitor.suspension is not None and monitor.suspension.events == 3
    assert os.environ.get(SWITCH) == "1"
    assert [(state, owner) for state, owner, _ in escalations] == [
        ("failed_tool_calls", "ops@example.com")
    ]


def test_only_a_declared_operator_releases_and_counting_starts_afresh(
    switch: KillSwitchDriver,
) -> None:
    monitor = ReferenceMonitor(
        agent(alert("policy_violations", 1, "1h")), kill_switch=switch, clock=ManualClock()
    )
    monitor.record("policy_violations", "payments.refund")
    assert monitor.suspended
    with pytest.raises(ReleaseRefused, match=r"intruder@example\.com is not a declared operator"):
        monitor.release("intruder@example.com")
    assert os.environ.get(SWITCH) == "1"
    monitor.release("ops@example.com")
    assert not monitor.suspended and os.environ.get(SWITCH) is None


def test_a_page_alert_reaches_its_owner_and_suspends_nothing(switch: KillSwitchDriver) -> None:
    escalations: list[tuple[str, str, str]] = []
    monitor = ReferenceMonitor(
        agent(alert("unusual_call_frequency", 2, "10m", "page")),
        kill_switch=switch,
        escalate=lambda *e: escalations.append(e),
        clock=ManualClock(),
    )
    monitor.record("unusual_call_frequency", "docs.read")
    monitor.record("unusual_call_frequency", "docs.read")
    assert not monitor.suspended and os.environ.get(SWITCH) is None
    # No owner for budget_exceeded is declared: the agent's own owner is paged.
    assert [(s, o) for s, o, _ in escalations] == [("unusual_call_frequency", "ada@example.com")]


def test_an_escalation_loop_is_the_same_state_again(switch: KillSwitchDriver) -> None:
    monitor = ReferenceMonitor(
        agent(alert("escalation_loops", 2, "1h")), kill_switch=switch, clock=ManualClock()
    )
    monitor.record("escalation_loops", "tool_error")
    monitor.record("escalation_loops", "budget_exceeded")
    assert not monitor.suspended
    monitor.record("escalation_loops", "tool_error")
    assert monitor.suspended
    assert alert_owner(monitor.agent, "escalation_loops") == "ada@example.com"


def test_the_harness_reports_each_signal_as_it_happens(tmp_path: Path) -> None:
    bot = agent()
    harness = Harness(
        agent=bot,
        model=ScriptedModel([TextReply("done")]),
        tracer_provider=None,  # type: ignore[arg-type]
        effects=EffectsLedger(),
        approvals=ApprovalDesk(lambda tool, arguments: False),
    )
    seen: list[tuple[str, str, str]] = []
    harness.alert_events.subscribe(lambda e: seen.append((e.signal, e.subject, e.detail)))
    harness.effects.fail_next("docs.read", ConnectionError("down"))
    with pytest.raises(ConnectionError):
        harness.effects.record("docs.read", {"doc": "faq-1"})
    harness.effects.record("docs.read", {"doc": "payroll"})
    harness.request_approval("payments.refund", {})
    harness.escalate("tool_error", "ops@example.com", "down")
    harness.escalate("failed_tool_calls", "ops@example.com", "an alert's own escalation")
    assert seen == [
        ("failed_tool_calls", "docs.read", "docs.read raised"),
        ("unusual_call_frequency", "docs.read", "docs.read called"),
        ("unusual_call_frequency", "docs.read", "docs.read called"),
        ("unexpected_data_access", "docs.read", "docs.read(doc='payroll') outside data_scope"),
        ("policy_violations", "payments.refund", "approval of payments.refund denied"),
        ("escalation_loops", "tool_error", "down"),
    ]


def test_a_feed_limited_to_one_signal_reports_only_it() -> None:
    feed = AlertFeed({"policy_violations"})
    feed.emit("failed_tool_calls", "x")
    feed.emit("policy_violations", "y")
    assert [e.signal for e in feed.events] == ["policy_violations"]


@pytest.mark.parametrize(
    ("arguments", "outside"),
    [
        ({"doc": "faq-1"}, ""),
        ({"doc": "faq"}, ""),
        ({"doc": "FAQ-1"}, "doc='FAQ-1'"),  # case counts: a scope is not a hint
        ({"doc": "../faq-1"}, "doc='../faq-1'"),
        ({"other": "anything"}, ""),  # arguments the scope does not name are not scoped
    ],
)
def test_outside_scope(arguments: dict[str, object], outside: str) -> None:
    assert outside_scope({"doc": ("faq*", "help-*")}, arguments) == outside


def test_data_scope_is_read_from_the_manifest(project: Project) -> None:
    project.write_text(
        textwrap.dedent("""\
        version: 1
        project: demo
        agents:
          bot:
            stage: pilot
            owner: {name: Ada Lovelace, email: ada@example.com}
            tools:
              crm.read_ticket: {access: read, data_scope: {ticket_id: ['T-*']}}
        """)
    )
    manifest = load_manifest(project.manifest_path)
    assert manifest.agents["bot"].tools["crm.read_ticket"].data_scope == {"ticket_id": ("T-*",)}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("{ticket_id: T-*}", "data_scope.ticket_id: expected"),
        ("{ticket_id: []}", "data_scope.ticket_id"),
        ("{}", "data_scope"),
    ],
)
def test_a_bad_data_scope_names_file_line_and_expectation(
    project: Project, scope: str, expected: str
) -> None:
    project.write_text(
        "version: 1\nagents:\n  bot:\n    stage: pilot\n    tools:\n"
        f"      crm.read_ticket: {{access: read, data_scope: {scope}}}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifest(project.manifest_path, display="agent-readiness.yaml")
    problems = [str(problem) for problem in caught.value.problems]
    assert any(
        problem.startswith("agent-readiness.yaml:6:") and expected in problem
        for problem in problems
    ), problems


def _bare_harness(bot: Agent) -> Harness:
    return Harness(
        agent=bot,
        model=ScriptedModel([TextReply("done")]),
        tracer_provider=None,  # type: ignore[arg-type]
        effects=EffectsLedger(),
    )


def test_an_integrations_monitor_choice_wires_what_it_names() -> None:
    """``monitor=`` on a framework handle: True wires the reference monitor for an agent that
    declares alerts (and nothing for one that does not), False nothing, a function the team's."""
    declared = agent(alert("failed_tool_calls", 3, "10m"))
    harness = _bare_harness(declared)
    wire_chosen_monitor(harness, True)
    [listener] = harness.alert_events.subscribers
    assert isinstance(harness.services[MONITOR_SERVICE], ReferenceMonitor)
    assert listener == harness.services[MONITOR_SERVICE].observe
    quiet = _bare_harness(agent())  # no alerts: nothing to count
    wire_chosen_monitor(quiet, True)
    assert (quiet.alert_events.subscribers, quiet.services) == ((), {})
    off = _bare_harness(declared)
    wire_chosen_monitor(off, False)
    assert (off.alert_events.subscribers, off.services) == ((), {})
    wired: list[Harness] = []
    own = _bare_harness(declared)
    wire_chosen_monitor(own, wired.append)
    assert (wired, own.services) == ([own], {})
