"""Pass rates per agent, suite and prompt version, and the DQ-001 evidence they amount to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..checks import Evidence
from ..model import Agent, Manifest
from .corpus import TAXONOMY, Suite

CaseOutcomeKind = Literal["passed", "failed", "skipped"]
MAX_FAILURES_SHOWN = 10


@dataclass(frozen=True)
class CaseOutcome:
    """One adversarial case (built-in, the team's own marked test, or imported) for an agent."""

    agent: str
    suite: str
    case_id: str
    outcome: CaseOutcomeKind
    message: str = ""
    source: str = "builtin"  # builtin | test | promptfoo | garak


@dataclass(frozen=True)
class ImportedResult:
    """A red-team tool's results counted toward one suite."""

    agent: str
    suite: str
    tool: str
    path: str
    passed: int
    total: int
    prompt_version: str | None
    failures: tuple[str, ...] = ()


@dataclass
class AdversarialSummary:
    """What the run showed of each agent's declared suites."""

    evidence: list[Evidence] = field(default_factory=list)
    rates: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    coverage: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def prompt_version(manifest: Manifest, agent: Agent) -> str:
    """The agent's current prompt version, as the lock names it (``unversioned`` without one)."""
    from ..lock import current_prompt_version

    return current_prompt_version(manifest, agent) or "unversioned"


def summarize(
    manifest: Manifest,
    outcomes: Iterable[CaseOutcome],
    *,
    manifest_nodeid: str,
    suites: Mapping[str, Suite],
    imported: Sequence[ImportedResult] = (),
) -> AdversarialSummary:
    """Pass rates per suite for every agent that declares suites, gated by ``min_pass_rate``.

    A suite that ran zero cases fails; results recorded against another prompt version than
    the current one never count for it.
    """
    summary = AdversarialSummary()
    every = list(outcomes)
    for name in sorted(manifest.agents):
        agent = manifest.agents[name]
        if agent.adversarial is None or not agent.adversarial.suites:
            continue
        version = prompt_version(manifest, agent)
        minimum = agent.adversarial.min_pass_rate
        rates: dict[str, dict[str, Any]] = {}
        for suite in agent.adversarial.suites:
            ran = [
                o for o in every if o.agent == name and o.suite == suite and o.outcome != "skipped"
            ]
            passed = sum(1 for o in ran if o.outcome == "passed")
            total = len(ran)
            failures = [f"{o.case_id}: {o.message}" for o in ran if o.outcome == "failed"]
            sources = sorted({o.source for o in ran})
            for result in imported:
                if result.agent != name or result.suite != suite:
                    continue
                if result.prompt_version != version:
                    summary.warnings.append(
                        f"{result.tool} results in {result.path} were run against prompt "
                        f"version {result.prompt_version or 'unknown'}, not {version}: not counted"
                    )
                    continue
                passed += result.passed
                total += result.total
                failures += [f"{result.tool}: {failure}" for failure in result.failures]
                sources.append(result.tool)
            rate = passed / total if total else 0.0
            held = total > 0 and rate >= minimum
            rates[suite] = {
                "passed": passed,
                "total": total,
                "rate": round(rate, 4),
                "min_pass_rate": minimum,
                "prompt_version": version,
                "sources": sorted(set(sources)),
                "failures": failures[:MAX_FAILURES_SHOWN],
            }
            if total == 0:
                message = f"suite {suite} ran zero cases"
            elif held:
                message = f"suite {suite}: {passed}/{total} passed on {version}"
            else:
                shown = "; ".join(failures[:3]) + (" ..." if len(failures) > 3 else "")
                message = (
                    f"suite {suite}: {passed}/{total} passed (rate {rate:.2f} < "
                    f"min_pass_rate {minimum:g}) on {version}: {shown}"
                )
            summary.evidence.append(
                Evidence(
                    f"{manifest_nodeid}::{name}::adversarial-{suite}",
                    "DQ-001",
                    name,
                    "passed" if held else "failed",
                    "probe",
                    message,
                )
            )
        summary.rates[name] = rates
        summary.coverage[name] = _coverage(name, every, suites, agent.adversarial.suites)
    return summary


def _coverage(
    agent: str,
    outcomes: Sequence[CaseOutcome],
    suites: Mapping[str, Suite],
    declared: Sequence[str],
) -> dict[str, dict[str, int]]:
    """Per taxonomy id, how many of the agent's built-in cases ran and passed (all ids shown,
    so a reviewer sees what was not tested)."""
    by_case = {(o.suite, o.case_id): o.outcome for o in outcomes if o.agent == agent}
    table = {taxonomy_id: {"cases": 0, "passed": 0} for taxonomy_id in TAXONOMY}
    for suite in declared:
        for case in suites[suite].cases if suite in suites else ():
            outcome = by_case.get((suite, case.id))
            if outcome not in ("passed", "failed"):
                continue
            for taxonomy_id in case.taxonomy:
                entry = table.setdefault(taxonomy_id, {"cases": 0, "passed": 0})
                entry["cases"] += 1
                entry["passed"] += outcome == "passed"
    return table
