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
        # import_module, not `from . import harness`: it goes by sys.modules, so a re-imported
        # harness (pytester's in-process runs restore sys.modules) is never mixed with an old one.
        from importlib import import_module

        return getattr(import_module(f"{__name__}.harness"), name)
    raise AttributeError(f"module 'pytest_agent_readiness' has no attribute {name!r}")
