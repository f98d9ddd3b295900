"""The adapter the readiness probes drive the ops agent through."""

from __future__ import annotations

from pathlib import Path

from ops_agent import OpsAgent

from pytest_agent_readiness import AgentHandle, Harness, adapter
from pytest_agent_readiness.monitor import wire_monitor

PROMPT = (Path(__file__).parent.parent / "prompts" / "ops.md").read_text(encoding="utf-8")


@adapter("ops_agent")
def ops_agent(harness: Harness) -> AgentHandle:
    def status_read(service: str) -> str:
        harness.effects.record("status.read", {"service": service})
        return "degraded"

    def service_restart(service: str) -> str:
        harness.effects.record("service.restart", {"service": service})
        return "restarted"

    agent = OpsAgent(
        harness.model,
        {"status.read": status_read, "service.restart": service_restart},
        escalate=harness.escalate,
        approve=harness.request_approval,
        confirm=harness.confirm,
        tracer_provider=harness.tracer_provider,
        secrets=harness.protected,
        prompt=harness.system_prompt or PROMPT,
    )
    wire_monitor(harness)  # the alert monitor: suspends through the (broken) kill switch
    sample = {"service": "checkout"}
    return AgentHandle(run=agent.run, tools=dict.fromkeys(agent.tools, sample))
