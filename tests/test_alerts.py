"""Alert probes: a monitor that holds proves OBS-003; each broken monitor fails it, alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from _examples import checks_of, run_example
from test_probes import manifest as toy_manifest

pytest_plugins = ["pytester"]

TOY = Path(__file__).with_name("toy_agent.py")
AS_OF = "--readiness-as-of=2026-11-25"
PRODUCIBLE = (  # in the manifest's order, the order of the items
    "failed_tool_calls",
    "unusual_call_frequency",
    "unexpected_data_access",
    "escalation_loops",
    "policy_violations",
)
ALERTS = [
    {"signal": "failed_tool_calls", "threshold": 3, "window": "10m", "action": "suspend"},
    {"signal": "unusual_call_frequency", "threshold": 4, "window": "10m", "action": "page"},
    {"signal": "unexpected_data_access", "threshold": 2, "window": "1h", "action": "suspend"},
    {"signal": "escalation_loops", "threshold": 3, "window": "1h", "action": "suspend"},
    {"signal": "policy_violations", "threshold": 3, "window": "1h", "action": "suspend"},
    {"signal": "output_quality", "threshold": 0.8, "window": "1d", "action": "notify"},
]


def manifest(alerts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The probes' toy manifest, with a data scope on its read tool and alerts."""
    data = toy_manifest()
    agent = data["agents"]["toy"]
    agent["tools"]["docs.read"]["data_scope"] = {"doc": ["faq*"]}
    agent["alerts"] = ALERTS if alerts is None else alerts
    return data


# The monitors an adapter wires: the reference one, and the ways a real one gets it wrong.
MONITORS = """
from pytest_agent_readiness.monitor import ReferenceMonitor, wire_monitor


class LetsTheNextSessionRun(ReferenceMonitor):
    def attach(self, harness):
        super().attach(harness)
        if self.kill_switch is not None:
            self.kill_switch.disengage()  # the bug: a new session starts afresh


class TellsNoOne(ReferenceMonitor):
    def attach(self, harness):
        super().attach(harness)
        self.escalate = None


class NeverReleases(ReferenceMonitor):
    def release(self, operator):
        pass


class CountsTwice(ReferenceMonitor):
    def record(self, signal, subject="", detail=""):
        super().record(signal, subject, detail)
        super().record(signal, subject, detail)  # the bug: each event counted twice


def wire(harness, kind):
    if kind == "reference":
        return wire_monitor(harness)
    if kind == "none":
        return None  # alerts declared, nothing wired
    if kind == "per_session":
        # The bug: a fresh monitor for every session, so it counts per session, not per window.
        monitor = ReferenceMonitor(harness.agent, clock=harness.clock)
    else:
        make = {"next_session": LetsTheNextSessionRun, "silent": TellsNoOne,
                "never_releases": NeverReleases, "counts_twice": CountsTwice}[kind]
        monitor = harness.service("monitor", lambda: make(harness.agent, clock=harness.clock))
    monitor.attach(harness)
    return monitor
"""


def project(
    pytester: pytest.Pytester,
    monitor: str,
    data: dict[str, Any] | None = None,
    guards: str = "monitor=False",
) -> None:
    pytester.makepyfile(toy_agent=TOY.read_text(encoding="utf-8"), monitors=MONITORS)
    pytester.makefile(".yaml", **{"agent-readiness": yaml.safe_dump(data or manifest())})
    pytester.makeconftest(f"""
        from pathlib import Path

        import monitors
        import toy_agent
        from pytest_agent_readiness import adapter

        @adapter("toy")
        def toy(harness):
            monitors.wire(harness, {monitor!r})
            return toy_agent.handle(harness, toy_agent.Guards({guards}), Path(__file__).parent)
    """)


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = pytester.runpytest(
        "--readiness", "--readiness-json=card.json", AS_OF, "-p", "no:randomly", *args
    )
    card = json.loads((pytester.path / "card.json").read_text(encoding="utf-8"))
    return result, card


def levels(card: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {c["id"]: (c["level"], c["passed"]) for c in card["agents"]["toy"]["checks"]}


def obs003(card: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in card["agents"]["toy"]["checks"] if c["id"] == "OBS-003")
    return found


def test_the_reference_monitor_proves_every_producible_alert(pytester: pytest.Pytester) -> None:
    project(pytester, "reference")
    result, card = run(pytester, "-v")
    result.stdout.fnmatch_lines(
        [f"*agent-readiness.yaml::toy::probe-alert-{signal} PASSED*" for signal in PRODUCIBLE]
    )
    assert "probe-alert-output_quality" not in result.stdout.str()
    found = obs003(card)
    assert (found["level"], found["passed"]) == ("proven", True), found["reason"]
    assert sorted(found["evidence"]) == sorted(
        f"agent-readiness.yaml::toy::probe-alert-{signal}" for signal in PRODUCIBLE
    )


SUSPENDING = tuple(s for s in PRODUCIBLE if s != "unusual_call_frequency")


@pytest.mark.parametrize(
    ("monitor", "evidence", "failing"),
    [
        (
            "counts_twice",
            "*failed_tool_calls: suspended after 2 events, under the threshold 3 *",
            SUSPENDING,  # the page alert pages early, which is no breach
        ),
        (
            "per_session",
            "*failed_tool_calls: once 3 events reached the threshold the agent started 2 more "
            "model requests and 2 more tool calls before anything suspended it (5 events in all) "
            "?first event: docs.read raised; on harness.clock, moved "
            "300s of the 10m window between sessions?*",
            PRODUCIBLE,  # the page alert never reached anyone either
        ),
        (
            "next_session",
            "*failed_tool_calls: suspended after 3 events, yet a new session ran "
            "(1 model request, 0 tool calls)*",
            SUSPENDING,
        ),
        (
            "silent",
            "*failed_tool_calls: suspended after 3 events without reaching ops@example.com*",
            PRODUCIBLE,
        ),
        (
            "never_releases",
            "*failed_tool_calls: released by ops@example.com (its release hook), the "
            "agent still did not run (kill switch still engaged, 0 model requests)*",
            SUSPENDING,
        ),
    ],
)
def test_a_broken_monitor_fails_obs003_only_naming_what_it_did(
    pytester: pytest.Pytester, monitor: str, evidence: str, failing: tuple[str, ...]
) -> None:
    project(pytester, "reference")
    _, good = run(pytester)
    project(pytester, monitor)
    result, card = run(pytester, "-v")
    result.stdout.fnmatch_lines([evidence])
    found = obs003(card)
    assert (found["level"], found["passed"]) == ("declared", False), found["reason"]
    broken, held = levels(card), levels(good)
    assert {k: v for k, v in broken.items() if k != "OBS-003"} == {
        k: v for k, v in held.items() if k != "OBS-003"
    }
    # Every alert the broken monitor breaks fails its own probe, and no other.
    failed = tuple(s for s in PRODUCIBLE if f"probe-alert-{s} FAILED" in result.stdout.str())
    assert failed == failing


def test_no_monitor_wired_skips_each_alert_probe_and_obs003_stays_declared(
    pytester: pytest.Pytester,
) -> None:
    """Alerts declared, nothing in the process watching them (the team's monitor may live in
    production infrastructure): each probe says what to wire and proves nothing."""
    project(pytester, "reference")
    _, good = run(pytester)
    project(pytester, "none")
    result, card = run(pytester, "-v", "-rs")
    result.stdout.fnmatch_lines(
        [f"*agent-readiness.yaml::toy::probe-alert-{signal} SKIPPED*" for signal in PRODUCIBLE]
    )
    result.stdout.fnmatch_lines(
        [
            "*failed_tool_calls: 6 events (threshold 3 in 10m) and no monitor is wired to the "
            "harness's alert feed (*): wire_monitor(harness) in the adapter, or your own monitor "
            "on harness.alert_events and harness.clock (*); a monitor outside the process is not "
            "proven here, so OBS-003 stays declared*"
        ]
    )
    found = obs003(card)
    assert (found["level"], found["passed"]) == ("declared", True), found["reason"]
    assert found["evidence"] == []
    assert "probe-alert-policy_violations skipped: policy_violations: " in found["reason"]
    # Half marks for OBS-003, never proven; every other check keeps its level.
    held = {k: v for k, v in levels(good).items() if k != "OBS-003"}
    assert {k: v for k, v in levels(card).items() if k != "OBS-003"} == held


# An adapter wiring no monitor whose alert probes' sessions go wrong from the second on (only
# an alert probe's harness reports a single signal; its sessions share its clock).
FAILS_LATER = """
import dataclasses
import threading
from pathlib import Path

import toy_agent
from pytest_agent_readiness import adapter


@adapter("toy")
def toy(harness):
    handle = toy_agent.handle(harness, toy_agent.Guards(monitor=False), Path(__file__).parent)
    if harness.alert_events.signals is None:
        return handle
    harness.clock.builds = getattr(harness.clock, "builds", 0) + 1
    if harness.clock.builds < 2:
        return handle
    if {failure!r} == "adapter":
        raise RuntimeError("the CRM sandbox is down")
    never = threading.Event()  # a session that hangs until the probe gives up on it
    return dataclasses.replace(handle, run=lambda task: never.wait() and "", close=never.set)
"""


@pytest.mark.parametrize(
    ("failure", "evidence"),
    [
        ("adapter", "the probe could not run: adapter 'toy' raised RuntimeError: the CRM sandbox"),
        ("hang", "the session was still running at its 3s deadline (hung?)"),
    ],
)
def test_with_no_monitor_a_probe_that_could_not_run_still_fails_closed(
    pytester: pytest.Pytester, failure: str, evidence: str
) -> None:
    """The skip is for a run that produced the events and saw nothing watch them; a broken
    adapter or a hung session fails the alert probe, and the gate, as in any probe."""
    project(pytester, "none")
    pytester.makeconftest(FAILS_LATER.format(failure=failure))
    result = pytester.runpytest_subprocess(
        "--readiness",
        "--readiness-json=card.json",
        "--readiness-probe-timeout=3",
        AS_OF,
        "-p",
        "no:randomly",
        "-v",
        "-k",
        "probe-alert or OBS-003 or gate",
    )
    card = json.loads((pytester.path / "card.json").read_text(encoding="utf-8"))
    for signal in PRODUCIBLE:
        assert f"probe-alert-{signal} FAILED" in result.stdout.str(), signal
    assert "no monitor is wired" not in result.stdout.str()
    found = obs003(card)
    assert found["passed"] is False
    assert evidence in found["reason"], found["reason"]
    assert card["verdict"] == "not_ready"
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_an_out_of_scope_read_is_named_and_an_agent_that_refuses_it_proves_nothing(
    pytester: pytest.Pytester,
) -> None:
    # The broken monitor's finding names the call outside data_scope.
    project(pytester, "silent")
    result, _ = run(pytester, "-v")
    result.stdout.fnmatch_lines(
        [
            "*unexpected_data_access: suspended after 2 events without reaching "
            "security@example.com*first event: docs.read(doc='outside-the-declared-data-scope') "
            "outside data_scope*"
        ]
    )
    # An agent whose read never reaches the system behind it (here: its double records nothing)
    # gives no event: the data-access alert is skipped, proving nothing; the others cannot run.
    project(pytester, "reference", guards="monitor=False, unrecorded=frozenset({'docs.read'})")
    result, card = run(pytester, "-v", "-rs")
    result.stdout.fnmatch_lines(
        [
            "*probe-alert-unexpected_data_access SKIPPED*",
            "*the agent never called docs.read outside its data_scope*",
        ]
    )
    assert "probe-alert-failed_tool_calls FAILED" in result.stdout.str()
    assert "the harness could not produce failed_tool_calls" in obs003(card)["reason"]


# Each framework example's handle call, and the import its agent needs.
HANDLES = {
    "pydantic-ai-refunds": ("record_effects=False)", "pydantic_ai"),
    "langgraph-refunds": ("samples=SAMPLES)", "langchain.agents"),
    "openai-agents-refunds": ("record_effects=False)", "agents"),
}


@pytest.mark.parametrize("example", sorted(HANDLES))
def test_a_framework_handle_with_monitor_false_wires_none(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handles wire the reference monitor (test_examples proves every alert with it);
    ``monitor=False`` wires none, so each alert probe skips and OBS-003 stays declared."""
    call, module = HANDLES[example]
    pytest.importorskip(module)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the Agents SDK would export to OpenAI
    edit = ("tests/conftest.py", call, call[:-1] + ", monitor=False)")
    result, card = run_example(example, tmp_path, [edit], "-rs")
    entry = checks_of(card, "refund-agent")["OBS-003"]
    assert (entry["level"], entry["passed"], entry["evidence"]) == ("declared", True, [])
    # Half marks for OBS-003: still ready, observability one short of full.
    assert (card["verdict"], card["dimensions"]["observability"]) == ("ready", 4)
    assert result.stdout.count("and no monitor is wired to the harness's alert feed") == len(
        PRODUCIBLE
    ), result.stdout[-3000:]


def test_a_framework_handle_wires_the_teams_own_monitor(tmp_path: Path) -> None:
    """``monitor=`` a function wires the team's own monitor instead of the reference one: here
    one built afresh for every session, which the probes catch counting per session."""
    pytest.importorskip("pydantic_ai")
    own = (
        "from pytest_agent_readiness.monitor import ReferenceMonitor\n\n\n"
        "def per_session(harness):  # the team's monitor, built afresh for every session\n"
        "    ReferenceMonitor(harness.agent, clock=harness.clock).attach(harness)\n\n\n"
        '@adapter("refund_agent")'
    )
    edits = [
        ("tests/conftest.py", '@adapter("refund_agent")', own),
        ("tests/conftest.py", "effects=False)", "effects=False, monitor=per_session)"),
    ]
    _, card = run_example("pydantic-ai-refunds", tmp_path, edits)
    assert card["verdict"] == "not_ready"
    entry = checks_of(card, "refund-agent")["OBS-003"]
    assert entry["passed"] is False
    assert (
        "failed_tool_calls: once 3 events reached the threshold the agent started"
        in entry["reason"]
    ), entry["reason"]


def test_a_monitor_that_suspends_the_kill_switch_probes_runaway_is_named(
    pytester: pytest.Pytester,
) -> None:
    """A suspend alert under the runaway's first calls throws the switch before the kill-switch
    probe does: INF-001's finding says which alert did, instead of a halt out of nowhere."""
    low = {"signal": "unusual_call_frequency", "threshold": 2, "window": "10m", "action": "suspend"}
    project(pytester, "reference", manifest([low]))
    _, card = run(pytester, "-k", "probe-kill-switch")
    entry = next(c for c in card["agents"]["toy"]["checks"] if c["id"] == "INF-001")
    assert entry["passed"] is False
    assert (
        "the runaway session never reached turn 3: returned 'halted'; first the "
        "unusual_call_frequency alert: suspended: unusual_call_frequency: 2 events in 10m "
        "(docs.read called)" in entry["reason"]
    ), entry["reason"]
