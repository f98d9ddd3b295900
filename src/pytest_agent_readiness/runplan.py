"""What a readiness run is expected to contain, and why a run that lacks some of it is incomplete.

Plain data, no pytest: the pytest session asks it which node ids to expect and which share a
shard runs, and hands it the run's counts at the end to learn why the run cannot certify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .alert_probes import alert_probes
from .checks import Check, CheckRegistry
from .model import Manifest
from .probes import Probe, probes_for
from .scoring import applicable

if TYPE_CHECKING:
    from .adversarial import Case, Suite

Shard = tuple[int, int]  # (index, count): this run is shard index of count, 1-based


def planned_checks(manifest: Manifest, registry: CheckRegistry) -> list[tuple[str, Check]]:
    """(agent, check) pairs, one readiness item each, in report order."""
    return [
        (name, check)
        for name in sorted(manifest.agents)
        for check in registry.ordered()
        if applicable(check, manifest.agents[name])
    ]


def planned_probes(manifest: Manifest) -> list[tuple[str, Probe]]:
    """(agent, probe) pairs, one probe item each, for agents that declare an adapter: the
    control probes, then one per declared alert (which build on the control probes' helpers)."""
    return [
        (name, probe)
        for name in sorted(manifest.agents)
        for probes in (probes_for, alert_probes)
        for probe in probes(manifest.agents[name])
    ]


def planned_cases(manifest: Manifest, suites: Mapping[str, Suite]) -> list[tuple[str, str, Case]]:
    """(agent, suite, case): the declared suites' cases, for agents with an adapter."""
    planned: list[tuple[str, str, Case]] = []
    for name in sorted(manifest.agents):
        agent = manifest.agents[name]
        if agent.adapter is None or agent.adversarial is None:
            continue
        for suite in agent.adversarial.suites:
            planned.extend((name, suite, case) for case in suites[suite].cases)
    return planned


def in_shard(nodeids: Iterable[str], shard: Shard | None) -> set[str]:
    """The share of probe and case items a shard runs: every N-th in node-id order."""
    if shard is None:
        return set(nodeids)
    index, count = shard
    return {nodeid for k, nodeid in enumerate(sorted(nodeids)) if k % count == index - 1}


@dataclass(frozen=True)
class RunPlan:
    """The items a run of one manifest collects, named by the manifest's node id."""

    manifest: Manifest
    registry: CheckRegistry
    suites: Mapping[str, Suite]
    manifest_nodeid: str

    def driven_agents(self) -> dict[str, str]:
        """The node id of every item that drives the agent (probes and adversarial cases: what
        shards share), with the agent it drives."""
        base = self.manifest_nodeid
        driven = {
            f"{base}::{agent}::probe-{probe.name}": agent
            for agent, probe in planned_probes(self.manifest)
        }
        driven.update(
            (f"{base}::{agent}::adversarial-{suite}::{case.id}", agent)
            for agent, suite, case in planned_cases(self.manifest, self.suites)
        )
        return driven

    def driven_nodeids(self) -> set[str]:
        """The items that drive the agent (probes and adversarial cases): what shards share."""
        return set(self.driven_agents())

    def expected_nodeids(self, shard: Shard | None) -> set[str]:
        """Every item the run (or this shard of it) must report for a complete result."""
        if shard is not None:
            return in_shard(sorted(self.driven_nodeids()), shard)
        base = self.manifest_nodeid
        checks = {
            f"{base}::{agent}::{check.id}"
            for agent, check in planned_checks(self.manifest, self.registry)
        }
        return checks | self.driven_nodeids() | {f"{base}::gate"}


@dataclass(frozen=True)
class RunCounts:
    """What the pytest session saw go wrong or go missing in a run."""

    worker_crashes: Sequence[str] = ()
    timed_out: Sequence[str] = ()
    interrupted: bool = False
    internal_error: bool = False
    collection_errors: int = 0
    deselected: int = 0
    evidence_deselected: int = 0
    missing: frozenset[str] = frozenset()


def incomplete_reasons(manifest: Manifest, manifest_file: Path, counts: RunCounts) -> list[str]:
    """Why the run cannot certify readiness, in the order the scorecard lists them."""
    reasons: list[str] = []
    try:
        current = hashlib.sha256(manifest_file.read_bytes()).hexdigest()
    except OSError:
        current = None
    if current != manifest.sha256:
        reasons.append(f"the manifest {manifest.path} changed during the run")
    reasons.extend(counts.worker_crashes)
    reasons.extend(sorted(counts.timed_out))
    if counts.interrupted:
        reasons.append("the run was interrupted")
    if counts.internal_error:
        reasons.append("pytest hit an internal error")
    if counts.collection_errors:
        reasons.append(f"{counts.collection_errors} collection error(s)")
    if counts.deselected:
        reasons.append(
            f"{counts.deselected} readiness check(s) deselected (-k/-m): a filtered run "
            "cannot certify readiness"
        )
    if counts.evidence_deselected:
        reasons.append(
            f"{counts.evidence_deselected} evidence test(s) deselected (-k/-m): a filtered run "
            "cannot certify readiness"
        )
    if counts.missing and not counts.deselected:
        reasons.append(
            f"{len(counts.missing)} readiness check(s) did not run "
            f"(e.g. {sorted(counts.missing)[0]})"
        )
    return reasons
