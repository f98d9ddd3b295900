"""From declarations and evidence to check results, dimension scores and the gate's verdict."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from .checks import Check, CheckContext, CheckRegistry, CheckResult, Evidence, Finding, Level
from .model import DIMENSIONS, Agent, Dimension, Manifest, Waiver, next_stage, stage_index
from .waivers import waiver_problem
from .yamlsource import format_doc_path

WAIVER_WARNING_DAYS = 14
CRITICAL_CAP = 2

WaiverStatus = Literal["applied", "expiring", "expired", "stale", "invalid", "not_applicable"]


@dataclass(frozen=True)
class WaiverOutcome:
    """What became of one waiver in this run."""

    waiver: Waiver
    status: WaiverStatus
    note: str
    manifest_line: int | None


@dataclass(frozen=True)
class AgentScore:
    """One agent's results and scores."""

    agent: Agent
    results: tuple[CheckResult, ...]
    dimensions: Mapping[Dimension, int]
    promotion_blockers: tuple[CheckResult, ...]

    @property
    def total(self) -> int:
        return sum(self.dimensions.values())


@dataclass(frozen=True)
class Verdict:
    """The gate's decision over the whole project."""

    ready: bool
    total: int
    dimensions: Mapping[Dimension, int]
    failures: tuple[str, ...]
    incomplete_reasons: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    """Everything one run concluded: the input to the scorecard document."""

    manifest: Manifest
    today: date
    agents: Mapping[str, AgentScore]
    waivers: tuple[WaiverOutcome, ...]
    verdict: Verdict
    warnings: tuple[str, ...]


def applicable(check: Check, agent: Agent) -> bool:
    """Whether ``check`` is asked of ``agent`` at its current stage."""
    return stage_index(agent.stage) >= stage_index(check.min_stage)


def _evidence_index(
    evidence: Iterable[Evidence],
) -> Mapping[tuple[str, str], Sequence[Evidence]]:
    index: dict[tuple[str, str], list[Evidence]] = defaultdict(list)
    for item in evidence:
        index[(item.check, item.agent)].append(item)
    return index


def _failures(failed: Sequence[Evidence]) -> str:
    """Every distinct piece of failing evidence once, with the node ids that saw it, in a stable
    order (the scorecard is the same bytes on every run, serial or distributed)."""
    seen_by: dict[str, set[str]] = defaultdict(set)
    for item in failed:
        seen_by[item.message].add(item.nodeid)
    pieces = sorted((sorted(nodeids), message) for message, nodeids in seen_by.items())
    return "; ".join(
        f"{', '.join(nodeids)} failed" + (f": {message}" if message else "")
        for nodeids, message in pieces
    )


def _unproven(evidence: Sequence[Evidence]) -> str:
    """Why a probe that ran proved nothing (its control holds by construction), once each."""
    notes = sorted(
        {(e.nodeid, e.message) for e in evidence if e.outcome == "skipped" and e.source == "probe"}
    )
    return "".join(f"; {nodeid} skipped: {message}" for nodeid, message in notes if message)


def _judge(
    check: Check,
    agent: Agent,
    finding: Finding,
    evidence: Sequence[Evidence],
    manifest: Manifest,
) -> CheckResult:
    # Built once with its final fields (no dataclasses.replace): this runs for every check of
    # every agent, twice (the agent's stage and the next), so a fleet pays it thousands of times.
    passed_tests = tuple(sorted({e.nodeid for e in evidence if e.outcome == "passed"}))
    failed = [e for e in evidence if e.outcome == "failed"]
    level: Level = "declared"
    passed = True
    if not finding.declared:
        level, passed = "missing", False
        reason = finding.reason
        if passed_tests:
            reason += f" (a passing test cannot prove an undeclared control: {passed_tests[0]})"
        if failed:
            # The run's evidence still says what broke: never dropped for a manifest finding.
            reason += f"; and at run time {_failures(failed)}"
    else:
        notes = _unproven(evidence) if evidence else ""
        if failed:
            passed = False
            reason = f"{finding.reason}; but {_failures(failed)}{notes}"
        elif passed_tests:
            level = "proven"
            more = f" and {len(passed_tests) - 1} more" if len(passed_tests) > 1 else ""
            reason = f"{finding.reason}; proven by {passed_tests[0]}{more}{notes}"
        elif check.proof == "runtime":
            reason = (
                f"{finding.reason}{notes}; declared, not proven: add a passing test marked "
                f"@pytest.mark.readiness('{check.id}', agent='{agent.name}')"
            )
        else:
            reason = finding.reason + notes
    return CheckResult(
        check=check,
        agent=agent.name,
        level=level,
        passed=passed,
        reason=reason,
        line=manifest.line_of(*finding.path) if finding.path else None,
        document_path=format_doc_path(finding.path),
        evidence=passed_tests,
        failed_evidence=tuple(sorted({e.nodeid for e in failed})),
        evidence_sources={e.nodeid: e.source for e in sorted(evidence, key=lambda e: e.nodeid)},
    )


def _apply_waivers(
    results: list[CheckResult],
    agent: Agent,
    manifest: Manifest,
    today: date,
    outcomes: list[WaiverOutcome],
) -> None:
    for waiver in manifest.waivers:
        if waiver.agent != agent.name:
            continue
        line = manifest.line_of("waivers", waiver.index)
        position = next((i for i, r in enumerate(results) if r.check.id == waiver.check), None)
        problem = waiver_problem(waiver.approved_by, waiver.reason, waiver.expires, today)
        if problem is not None:
            status: WaiverStatus = "expired" if problem.startswith("expired") else "invalid"
            outcomes.append(WaiverOutcome(waiver, status, problem, line))
            continue
        if position is None:
            outcomes.append(
                WaiverOutcome(
                    waiver,
                    "not_applicable",
                    f"{waiver.check} is not asked of {agent.name} at stage {agent.stage}",
                    line,
                )
            )
            continue
        result = results[position]
        if result.passed:
            outcomes.append(
                WaiverOutcome(
                    waiver,
                    "stale",
                    f"{waiver.check} now passes for {agent.name}: remove the waiver",
                    line,
                )
            )
            continue
        if result.check.severity == "critical" and stage_index(agent.stage) > stage_index(
            "stabilization"
        ):
            outcomes.append(
                WaiverOutcome(
                    waiver,
                    "not_applicable",
                    f"no waiver lifts critical check {waiver.check} past stabilization "
                    f"({agent.name} is at {agent.stage})",
                    line,
                )
            )
            continue
        days_left = (date.fromisoformat(waiver.expires) - today).days
        status = "expiring" if days_left <= WAIVER_WARNING_DAYS else "applied"
        note = f"expires {waiver.expires} ({days_left} days)"
        outcomes.append(WaiverOutcome(waiver, status, note, line))
        results[position] = dataclasses.replace(
            result,
            level="declared",
            passed=True,
            reason=f"waived until {waiver.expires} by {waiver.approved_by}: {waiver.reason} "
            f"(was: {result.reason})",
            waiver={
                "approved_by": waiver.approved_by,
                "expires": waiver.expires,
                "reason": waiver.reason,
            },
        )


def dimension_scores(results: Sequence[CheckResult]) -> dict[Dimension, int]:
    """1 + 4 x earned/possible, rounded down; a failing critical check caps its dimension at 2."""
    scores: dict[Dimension, int] = {}
    for dimension in DIMENSIONS:
        own = [r for r in results if r.check.dimension == dimension]
        possible = sum(r.check.max_points for r in own)
        earned = sum(r.points for r in own)
        score = 1 + (4 * earned) // possible if possible else 1
        if any(r.check.severity == "critical" and not r.passed for r in own):
            score = min(score, CRITICAL_CAP)
        scores[dimension] = max(1, min(5, score))
    return scores


def _evaluate(
    checks: Sequence[Check],
    agent: Agent,
    context: CheckContext,
    evidence: Mapping[tuple[str, str], Sequence[Evidence]],
    crashed: list[str],
) -> list[CheckResult]:
    return [
        _judge(
            check,
            agent,
            _finding(check, agent, context, crashed),
            evidence.get((check.id, agent.name), ()),
            context.manifest,
        )
        for check in checks
        if applicable(check, agent)
    ]


def _finding(check: Check, agent: Agent, context: CheckContext, crashed: list[str]) -> Finding:
    """The check's finding; a check that raises (a policy pack's bug) fails, and so does the run:
    nothing it was meant to catch can be ruled out."""
    try:
        return check.evaluate(agent, context)
    except Exception as error:
        what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        reason = f"check {check.id} raised {what} for {agent.name}"
        if reason not in crashed:
            crashed.append(reason)
        return Finding.missing(f"the check raised {what}; fix the check (a policy pack's bug)")


def assess(
    manifest: Manifest,
    registry: CheckRegistry,
    evidence: Iterable[Evidence],
    *,
    today: date,
    incomplete_reasons: Sequence[str] = (),
) -> Assessment:
    """Judge every agent against every check and decide the gate. Pure: same inputs, same result."""
    context = CheckContext(manifest=manifest, today=today)
    index = _evidence_index(evidence)
    checks = registry.ordered()
    waiver_outcomes: list[WaiverOutcome] = []
    agents: dict[str, AgentScore] = {}
    crashed: list[str] = []
    for name in sorted(manifest.agents):
        agent = manifest.agents[name]
        results = _evaluate(checks, agent, context, index, crashed)
        _apply_waivers(results, agent, manifest, today, waiver_outcomes)
        upcoming = next_stage(agent.stage)
        blockers: tuple[CheckResult, ...] = ()
        if upcoming is not None:
            promoted = dataclasses.replace(agent, stage=upcoming)
            promoted_results = _evaluate(checks, promoted, context, index, crashed)
            blockers = tuple(r for r in promoted_results if not r.passed)
        agents[name] = AgentScore(agent, tuple(results), dimension_scores(results), blockers)
    warnings = [
        f"waiver for {o.waiver.check} on {o.waiver.agent}: {o.note}"
        for o in waiver_outcomes
        if o.status in ("expiring", "stale", "not_applicable", "invalid")
    ]
    if "source_scan" in vars(context):  # only when a check scanned the code (GOV-010)
        warnings.extend(f"not scanned for agents: {skip}" for skip in context.source_scan.skipped)
    incomplete = (*incomplete_reasons, *crashed)
    verdict = _decide(manifest, agents, waiver_outcomes, incomplete, warnings)
    return Assessment(manifest, today, agents, tuple(waiver_outcomes), verdict, tuple(warnings))


def _behind(scores: Iterable[AgentScore], dimension: Dimension) -> str:
    named: list[str] = []
    for score in scores:
        for result in score.results:
            if result.check.dimension != dimension or result.points == result.check.max_points:
                continue
            state = "failed" if not result.passed else result.level
            named.append(f"{score.agent.name} {result.check.id} ({state})")
    return ", ".join(named) if named else "no single check"


def _decide(
    manifest: Manifest,
    agents: Mapping[str, AgentScore],
    waivers: Sequence[WaiverOutcome],
    incomplete: tuple[str, ...],
    warnings: list[str],
) -> Verdict:
    gated = [score for score in agents.values() if score.agent.gated]
    if not gated:
        warnings.append("every agent is a pilot: scored and shown, never a release blocker")
    pool = gated or list(agents.values())
    dimensions: dict[Dimension, int] = {
        dimension: min(score.dimensions[dimension] for score in pool) for dimension in DIMENSIONS
    }
    total = sum(dimensions.values())
    failures: list[str] = []
    if gated:
        gate = manifest.gate
        if total < gate.min_total:
            low = sorted(dimensions, key=lambda d: (dimensions[d], DIMENSIONS.index(d)))[0]
            failures.append(
                f"total {total} is under min_total {gate.min_total} "
                f"(lowest: {low} {dimensions[low]}: {_behind(gated, low)})"
            )
        for dimension in DIMENSIONS:
            if dimensions[dimension] < gate.min_dimension:
                low_agents = [s for s in gated if s.dimensions[dimension] < gate.min_dimension]
                failures.append(
                    f"{dimension} {dimensions[dimension]} is under min_dimension "
                    f"{gate.min_dimension}: {_behind(low_agents, dimension)}"
                )
        for outcome in waivers:
            if outcome.status == "expired" and agents[outcome.waiver.agent].agent.gated:
                failures.append(
                    f"waiver for {outcome.waiver.check} on {outcome.waiver.agent} "
                    f"{outcome.note}: renew or remove it"
                )
    for reason in incomplete:
        failures.append(f"the run is incomplete: {reason}")
    return Verdict(
        ready=not failures,
        total=total,
        dimensions=dimensions,
        failures=tuple(failures),
        incomplete_reasons=incomplete,
    )
