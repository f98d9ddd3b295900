"""pytest-agent-readiness: a release gate for LLM-agent projects.

``__all__`` is the public API: these names, and the module paths they come from, stay stable
across minor versions (README, "Public API"). Everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Each public name and the module that defines it.
_PUBLIC = {
    "AgentHandle": "handle",
    "Harness": "harness",
    "adapter": "harness",
    "Check": "checks",
    "CheckContext": "checks",
    "Finding": "checks",
    "ModelContext": "scripted",
    "Raise": "scripted",
    "ScriptedModel": "scripted",
    "TextReply": "scripted",
    "ToolCallRequest": "scripted",
    "ToolResult": "scripted",
    "TurnUsage": "scripted",
    "SpanCapture": "spans",
    "Trace": "spans",
    "ManifestError": "manifest",
    "load_manifest": "manifest",
    "FIXTURES": "names",
    "HOOK_CHECKS": "names",
}

__all__ = [
    "FIXTURES",
    "HOOK_CHECKS",
    "AgentHandle",
    "Check",
    "CheckContext",
    "Finding",
    "Harness",
    "ManifestError",
    "ModelContext",
    "Raise",
    "ScriptedModel",
    "SpanCapture",
    "TextReply",
    "ToolCallRequest",
    "ToolResult",
    "Trace",
    "TurnUsage",
    "__version__",
    "adapter",
    "load_manifest",
]

if TYPE_CHECKING:
    from .checks import Check, CheckContext, Finding
    from .handle import AgentHandle
    from .harness import Harness, adapter
    from .manifest import ManifestError, load_manifest
    from .names import FIXTURES, HOOK_CHECKS
    from .scripted import (
        ModelContext,
        Raise,
        ScriptedModel,
        TextReply,
        ToolCallRequest,
        ToolResult,
        TurnUsage,
    )
    from .spans import SpanCapture, Trace


def __getattr__(name: str) -> Any:
    # Each name is imported on first use, so `import pytest_agent_readiness` (and a pytest run
    # without --readiness) stays cheap: the harness, spans and YAML load only when asked for.
    module = _PUBLIC.get(name)
    if module is not None:
        # import_module, not `from . import harness`: it goes by sys.modules, so a re-imported
        # module (pytester's in-process runs restore sys.modules) is never mixed with an old one.
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module 'pytest_agent_readiness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
