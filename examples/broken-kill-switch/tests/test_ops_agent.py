from __future__ import annotations

import pytest

from pytest_agent_readiness.scripted import ScriptedModel, TextReply, ToolCallRequest


@pytest.mark.readiness("INF-004", agent="ops-agent")
def test_reads_status_and_answers(readiness_harness) -> None:
    harness = readiness_harness(
        "ops-agent",
        ScriptedModel.sequence(
            [
                ToolCallRequest("status.read", {"service": "checkout"}),
                TextReply("checkout is degraded"),
            ]
        ),
    )
    from conftest import ops_agent

    handle = ops_agent(harness)
    assert handle.run("how is checkout?") == "checkout is degraded"
    assert [effect.tool for effect in harness.effects.effects] == ["status.read"]
