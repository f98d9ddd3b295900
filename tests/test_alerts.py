"""Alert probes: a monitor that holds proves OBS-003; each broken monitor fails it, alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    return {
        "version": 1,
        "project": "toy",
        "agents": {
            "toy": {
                "owner": {"name": "Ada Lovelace", "email": "ada@example.com"},
                "stage": "stabilization",
                "adapter": "toy",
                "decisions": {
                    "autonomous": ["docs.read", "customers.notify"],
                    "human_approval": ["tickets.update", "payments.refund"],
                },
                "escalation": {
                    "tool_error": {"owner": "ops@example.com"},
                    "budget_exceeded": {"owner": "ops@example.com"},
                    "policy_violation": {"owner": "security@example.com"},
                    "low_confidence": {"owner": "ops@example.com"},
                },
                "tools": {
                    "docs.read": {"access": "read", "data_scope": {"doc": ["faq*"]}},
                    "customers.notify": {"access": "write"},
                    "tickets.update": {"access": "write", "approval": "required"},
                    "payments.refund": {"access": "write", "approval": "required"},
                },
                "kill_switch": {
                    "mechanism": "env",
                    "target": "TOY_DISABLED",
                    "halt_within_s": 2,
                    "operators": ["ops@example.com"],
                },
                "budgets": {
                    "tokens_per_session": 3000,
                    "tool_calls_per_session": 10,
                    "sequential_actions_without_confirmation": 5,
                },
                "tracing": {"required": True},
                "alerts": ALERTS if alerts is None else alerts,
            }
        },
    }


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
            "none",
            "*failed_tool_calls: * events (threshold 3 in 10m, over two sessions) and nothing "
            "suspended the agent: * tool calls in its last session, which returned 'done' "
            "?first event: docs.read raised; nothing read harness.clock (a monitor on its own "
            "clock, or none)?*",
            PRODUCIBLE,
        ),
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
