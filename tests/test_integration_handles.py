"""The framework handles on plain agents, offline under pytester: a PydanticAI agent and an
Agents SDK agent built the way their users build them, given to the harness by a one-line
adapter, with the default session (approvals through ``harness.request_approval``), every tool
execution in the effects ledger, a scheduled fault raised in the tool's place, sample arguments
read off the tool schemas, and escalations routed to the manifest's owners."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import EXAMPLES

# Declares orders.lookup (read) and payments.refund (write, approval required).
MANIFEST = EXAMPLES / "pydantic-ai-refunds" / "agent-readiness.yaml"

PYDANTIC_AI_CONFTEST = """
from pydantic_ai import Agent, DeferredToolRequests, Tool
from pytest_agent_readiness import adapter
from pytest_agent_readiness.integrations.pydantic_ai import pydantic_ai_handle

PAID = []

def build_agent(model):
    def lookup(order_id: str) -> str:
        return "charged twice"
    def refund(order_id: str, amount: float) -> str:
        PAID.append((order_id, amount))
        return "refunded"
    return Agent(model, name="refund-agent", output_type=[str, DeferredToolRequests], tools=[
        Tool(lookup, name="orders.lookup"),
        Tool(refund, name="payments.refund", requires_approval=True),
    ])

@adapter("refund_agent")
def refund_agent(harness):
    return pydantic_ai_handle(harness, build_agent(model=harness.pydantic_ai_model()))
"""

AGENTS_CONFTEST = '''
from agents import Agent, function_tool
from pytest_agent_readiness import adapter
from pytest_agent_readiness.integrations.openai_agents import openai_agents_handle

PAID = []

def build_agent(model):
    @function_tool(name_override="orders.lookup")
    def lookup(order_id: str) -> str:
        """Read an order."""
        return "charged twice"
    @function_tool(name_override="payments.refund", needs_approval=True)
    def refund(order_id: str, amount: float) -> str:
        """Refund an amount."""
        PAID.append((order_id, amount))
        return "refunded"
    return Agent(name="refund-agent", model=model, tools=[lookup, refund])

@adapter("refund_desk")
def refund_desk(harness):
    return openai_agents_handle(harness, build_agent(model=harness.openai_agents_model()))
'''

TESTS = """
import asyncio, inspect
import pytest
from conftest import PAID
from pytest_agent_readiness.scripted import TextReply, ToolCallRequest
import conftest

ADAPTER = next(v for v in vars(conftest).values() if hasattr(v, "__agent_readiness_adapter__"))

def run(handle, task):
    value = handle.run(task)
    return asyncio.run(value) if inspect.isawaitable(value) else value

def session(readiness_harness, scripted_model, turns, approve):
    harness = readiness_harness("refund-agent", scripted_model.sequence(turns), approve=approve)
    handle = ADAPTER(harness)
    return harness, handle

def test_tools_and_samples_come_from_the_schemas(readiness_harness, scripted_model):
    _, handle = session(readiness_harness, scripted_model, [TextReply("hi")], True)
    assert dict(handle.tools) == {
        "orders.lookup": {"order_id": "A-1"},
        "payments.refund": {"order_id": "A-1", "amount": 1.0},
    }

def test_approved_calls_run_and_land_in_the_ledger(readiness_harness, scripted_model):
    PAID.clear()
    harness, handle = session(readiness_harness, scripted_model, [
        [ToolCallRequest("orders.lookup", {"order_id": "A-1"}),
         ToolCallRequest("payments.refund", {"order_id": "A-1", "amount": 30.0})],
        TextReply("done"),
    ], True)
    assert run(handle, "charged twice") == "done"
    assert [(e.tool, dict(e.arguments), e.write) for e in harness.effects.effects] == [
        ("orders.lookup", {"order_id": "A-1"}, False),
        ("payments.refund", {"order_id": "A-1", "amount": 30.0}, True),
    ]
    assert [(r.tool, r.granted) for r in harness.approvals.requests] == [("payments.refund", True)]
    assert PAID == [("A-1", 30.0)]
    assert {call.name for call in harness.trace().tool_calls()} >= {"payments.refund"}

def test_a_denied_call_never_runs(readiness_harness, scripted_model):
    PAID.clear()
    harness, handle = session(readiness_harness, scripted_model, [
        ToolCallRequest("payments.refund", {"order_id": "A-1", "amount": 300.0}),
        TextReply("a person will look"),
    ], False)
    assert run(handle, "refund 300") == "a person will look"
    assert PAID == [] and harness.effects.of("payments.refund") == []
    assert [(r.tool, r.granted) for r in harness.approvals.requests] == [("payments.refund", False)]

def test_a_scheduled_fault_is_raised_in_the_tools_place(readiness_harness, scripted_model):
    harness, handle = session(readiness_harness, scripted_model, [
        ToolCallRequest("orders.lookup", {"order_id": "A-1"}), TextReply("done"),
    ], True)
    harness.effects.fail_next("orders.lookup", ConnectionError("injected"))
    with pytest.raises(Exception) as raised:
        run(handle, "look")
    assert "injected" in repr(raised.value) + repr(raised.value.__cause__)
    assert not harness.effects.fault_pending("orders.lookup")
    assert harness.effects.of("orders.lookup") == []

def test_a_call_held_for_approval_is_not_faulted_until_it_runs(readiness_harness, scripted_model):
    harness, handle = session(readiness_harness, scripted_model, [
        ToolCallRequest("payments.refund", {"order_id": "A-1", "amount": 30.0}),
        TextReply("later"),
    ], False)
    harness.effects.fail_next("payments.refund", ConnectionError("injected"))
    assert run(handle, "refund") == "later"
    assert harness.effects.fault_pending("payments.refund")

def test_escalate_to_owner_routes_to_the_manifests_owner(readiness_harness, scripted_model):
    harness, _ = session(readiness_harness, scripted_model, [TextReply("hi")], True)
    harness.escalate_to_owner("budget_exceeded", "12 calls")
    harness.escalate_to_owner("no_such_state", "?")
    assert [(e.state, e.owner) for e in harness.escalations.events] == [
        ("budget_exceeded", "maya.chen@example.com"), ("no_such_state", "")
    ]
"""


@pytest.mark.parametrize("framework", ["pydantic_ai", "agents"])
def test_the_handle_drives_a_plain_agent(
    framework: str, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(framework)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    shutil.copy(MANIFEST, pytester.path / "agent-readiness.yaml")
    pytester.makeconftest(PYDANTIC_AI_CONFTEST if framework == "pydantic_ai" else AGENTS_CONFTEST)
    pytester.makepyfile(test_handle=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


CANCELLABLE_CONFTEST = '''
from agents import Agent, function_tool
from pytest_agent_readiness import adapter
from pytest_agent_readiness.integrations.openai_agents import CancelSwitch, openai_agents_handle

KILL_SWITCH = CancelSwitch()

@function_tool(name_override="orders.lookup")
def lookup(order_id: str) -> str:
    """Read an order."""
    return "charged twice"

@adapter("refund_agent")
def refund_agent(harness):
    agent = Agent(name="refund-agent", model=harness.openai_agents_model(), tools=[lookup])
    return openai_agents_handle(harness, agent, max_turns=200, kill_switch=%s)
'''


@pytest.mark.parametrize(("switch", "proven"), [("KILL_SWITCH", True), ("None", False)])
def test_the_agents_sdk_cancel_switch_is_proven_by_the_kill_switch_probe(
    switch: str, proven: bool, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CancelSwitch`` reaches ``run_streamed(...).cancel()``: declared as the manifest's
    callable kill switch it halts a runaway session; without it the session runs on."""
    pytest.importorskip("agents")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    manifest = MANIFEST.read_text(encoding="utf-8").replace(
        "mechanism: env\n      target: REFUND_AGENT_DISABLED",
        "mechanism: callable\n      target: conftest:KILL_SWITCH.set",
    )
    assert "conftest:KILL_SWITCH.set" in manifest
    (pytester.path / "agent-readiness.yaml").write_text(manifest, encoding="utf-8")
    pytester.makeconftest(CANCELLABLE_CONFTEST % switch)
    card = pytester.path / "card.json"
    pytester.runpytest_subprocess(
        "--readiness", f"--readiness-json={card}", "-p", "no:randomly", "-k", "kill"
    )
    checks = {c["id"]: c for c in json.loads(card.read_text())["agents"]["refund-agent"]["checks"]}
    kill_switch = checks["INF-001"]
    assert kill_switch["passed"] is proven, kill_switch["reason"]
    if proven:
        assert kill_switch["level"] == "proven", kill_switch["reason"]
    else:
        assert "more tool calls" in kill_switch["reason"]
