"""Adversarial suites: attack cases as data, and oracles that decide them without a human."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .corpus import (
    BUILTIN_SUITES,
    PLACEHOLDERS,
    TAXONOMY,
    AttackStep,
    Case,
    CorpusError,
    OracleSpec,
    ResolvedAttack,
    ResolvedStep,
    SourceLocation,
    Suite,
    SuiteCatalogue,
    ToolResult,
    ToolSpec,
    builtin_case_ids,
    builtin_index_text,
    combine_suites,
    coverage,
    load_builtin_suite,
    load_builtin_suites,
    load_suite_dir,
    load_suite_file,
    resolve_attack,
    resolve_tool,
    with_builtin_suites,
)

if TYPE_CHECKING:
    from .oracles import (
        CaseResult,
        Escalation,
        Observation,
        ToolCall,
        evaluate,
        plant_system_prompt_canaries,
    )

# The oracles decide cases as they run: a run that drives no case (no adapter, no suites) reads
# the suites without loading them.
_ORACLE_NAMES = frozenset(
    {
        "CaseResult",
        "Escalation",
        "Observation",
        "ToolCall",
        "evaluate",
        "plant_system_prompt_canaries",
    }
)

__all__ = [
    "BUILTIN_SUITES",
    "PLACEHOLDERS",
    "TAXONOMY",
    "AttackStep",
    "Case",
    "CaseResult",
    "CorpusError",
    "Escalation",
    "Observation",
    "OracleSpec",
    "ResolvedAttack",
    "ResolvedStep",
    "SourceLocation",
    "Suite",
    "SuiteCatalogue",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "builtin_case_ids",
    "builtin_index_text",
    "combine_suites",
    "coverage",
    "evaluate",
    "load_builtin_suite",
    "load_builtin_suites",
    "load_suite_dir",
    "load_suite_file",
    "plant_system_prompt_canaries",
    "resolve_attack",
    "resolve_tool",
    "with_builtin_suites",
]


def __getattr__(name: str) -> Any:
    if name in _ORACLE_NAMES:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.oracles"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
