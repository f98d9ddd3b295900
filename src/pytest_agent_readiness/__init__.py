"""pytest-agent-readiness: a release gate for LLM-agent projects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["AgentHandle", "Harness", "__version__", "adapter"]

if TYPE_CHECKING:
    from .harness import AgentHandle, Harness, adapter


def __getattr__(name: str) -> Any:
    # The harness is imported on first use, so `import pytest_agent_readiness` (and a pytest run
    # without --readiness) stays cheap.
    if name in ("AgentHandle", "Harness", "adapter"):
        from . import harness

        return getattr(harness, name)
    raise AttributeError(f"module 'pytest_agent_readiness' has no attribute {name!r}")
