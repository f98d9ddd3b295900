"""What an adapter returns: :class:`AgentHandle`.

Its own module because the harness accepts handles and the framework integrations build them,
while the harness also reaches each integration's model (``harness.pydantic_ai_model()``):
both import the handle from here, so neither imports the other for it. Its public paths are
``pytest_agent_readiness.AgentHandle`` and ``pytest_agent_readiness.harness.AgentHandle``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AgentHandle:
    """What an adapter returns: how to run the agent, and which tools it really has.

    ``tools`` maps each tool the agent can call to benign sample arguments the scripted model
    uses when it asks for that tool (the probes need calls the tool accepts). ``close`` runs
    after each session.
    """

    run: Callable[[str], Any]
    tools: Mapping[str, Mapping[str, object]] | None = None
    close: Callable[[], None] | None = None
