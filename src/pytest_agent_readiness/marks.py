"""What a ``@pytest.mark.readiness`` or ``@pytest.mark.adversarial`` mark may say.

Plain data, no pytest: the session passes a mark's arguments and gets back what is wrong with
them, in words the user can act on, or None.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from .model import Manifest


def agents_declaring(manifest: Manifest, suite: str) -> list[str]:
    """The agents whose manifest entry declares the adversarial ``suite``."""
    return sorted(
        name
        for name, agent in manifest.agents.items()
        if agent.adversarial is not None and suite in agent.adversarial.suites
    )


def readiness_mark_problem(
    args: Sequence[Any], kwargs: Mapping[str, Any], checks: Collection[str], manifest: Manifest
) -> str | None:
    """What is wrong with a readiness mark's arguments, or None."""
    if len(args) != 1 or not isinstance(args[0], str):
        return "expected @pytest.mark.readiness('CHECK-ID', agent='name')"
    extra = sorted(set(kwargs) - {"agent"})
    if extra:
        return f"unexpected argument {extra[0]!r}; expected only agent="
    check_id = args[0]
    if check_id not in checks:
        return f"unknown check '{check_id}' (valid: {', '.join(sorted(checks))})"
    agent = kwargs.get("agent")
    if agent is not None and agent not in manifest.agents:
        return f"unknown agent '{agent}' (valid: {', '.join(sorted(manifest.agents))})"
    return None


def adversarial_mark_problem(
    args: Sequence[Any], kwargs: Mapping[str, Any], suites: Collection[str], manifest: Manifest
) -> str | None:
    """What is wrong with an adversarial mark's arguments, or None."""
    if args or "suite" not in kwargs:
        return "expected @pytest.mark.adversarial(suite='name', agent='name')"
    extra = sorted(set(kwargs) - {"suite", "agent"})
    if extra:
        return f"unexpected argument {extra[0]!r}; expected suite= and agent="
    suite = kwargs["suite"]
    if suite not in suites:
        return f"unknown suite '{suite}' (valid: {', '.join(sorted(suites))})"
    agent = kwargs.get("agent")
    if agent is not None and agent not in manifest.agents:
        return f"unknown agent '{agent}' (valid: {', '.join(sorted(manifest.agents))})"
    if agent is None and not agents_declaring(manifest, suite):
        return f"no agent declares suite '{suite}'"
    return None
