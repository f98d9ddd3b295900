"""Readiness checks as pytest items, so -k, -v, --junitxml and IDEs see each one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from .names import (
    CASE_PROPERTY,
    EVIDENCE_PROPERTY,
    FINDING_PROPERTY,
    INCOMPLETE_PROPERTY,
    MESSAGE_PROPERTY,
    TOOLS_PROPERTY,
    case_claim,
    claim,
    finding_claim,
)

if TYPE_CHECKING:
    import pluggy

    from ._pytest_compat import TerminalRepr
    from .adversarial import Case
    from .checks import Check, CheckResult
    from .probes import Breach, Probe, ProbeContext
    from .session import ReadinessSession

# Per run, the hook relay of each path readiness items have (see ReadinessItem.ihook).
_HOOK_RELAYS = pytest.StashKey[dict[Path, "pluggy.HookRelay"]]()


def describe_check_failure(result: CheckResult, manifest: str) -> str:
    """What a failed check item shows: the check, where in the manifest, why, and the fix."""
    check = result.check
    where = manifest + (f":{result.line}" if result.line else "")
    return (
        f"{check.id} {check.title} [{check.severity}, {check.dimension}] for {result.agent}\n"
        f"  {where}: {result.reason}\n"
        f"  level: {result.level}\n"
        f"  fix: {check.remediation}"
    )


def describe_gate_failure(failures: Sequence[str], total: int) -> str:
    """What the failed gate item shows: every failing rule."""
    lines = [f"readiness gate: NOT READY (total {total}/20)"]
    lines.extend(f"  - {failure}" for failure in failures)
    return "\n".join(lines)


class ManifestFile(pytest.File):
    """The manifest as a pytest node: one child per agent."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        # Readiness items are added by the readiness session, not found by directory walking.
        return iter(())

    def collect_items(self, readiness: ReadinessSession) -> list[pytest.Item]:
        """Per agent its probes and one item per applicable check, then the gate."""
        items: list[pytest.Item] = []
        agents: dict[str, AgentNode] = {}

        def node(agent: str) -> AgentNode:
            if agent not in agents:
                agents[agent] = AgentNode.from_parent(self, name=agent)
            return agents[agent]

        for agent, probe in readiness.planned_probes():
            items.append(
                ProbeItem.from_parent(
                    node(agent),
                    name=f"probe-{probe.name}",
                    readiness=readiness,
                    agent=agent,
                    probe=probe,
                )
            )
        suites: dict[tuple[str, str], SuiteNode] = {}
        for agent, suite, case in readiness.planned_cases():
            if (agent, suite) not in suites:
                suites[(agent, suite)] = SuiteNode.from_parent(
                    node(agent), name=f"adversarial-{suite}"
                )
            items.append(
                CaseItem.from_parent(
                    suites[(agent, suite)],
                    name=case.id,
                    readiness=readiness,
                    agent=agent,
                    suite=suite,
                    case=case,
                )
            )
        for agent, check in readiness.planned():
            items.append(
                CheckItem.from_parent(
                    node(agent), name=check.id, readiness=readiness, agent=agent, check=check
                )
            )
        items.append(GateItem.from_parent(self, name="gate", readiness=readiness))
        return items


class AgentNode(pytest.Collector):
    """Groups one agent's check items (node id ``manifest::agent``)."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        return iter(())


class SuiteNode(pytest.Collector):
    """Groups one agent's cases of one adversarial suite."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        return iter(())


class ReadinessItem(pytest.Item):
    """Base of the items the readiness session adds; they run after every other test."""

    run_order = 2

    def __init__(self, *, readiness: ReadinessSession, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.readiness = readiness

    @cached_property
    def ihook(self) -> pluggy.HookRelay:
        """pytest's hooks as seen from the manifest's path, worked out once per run (and kept
        by the item: its protocol asks six times).

        pytest asks which conftest files apply to a node's path on every hook call, and when
        some do not (a ``tests/conftest.py`` next to a manifest at the root) builds a new
        filtered relay each time: for thousands of cases that was a tenth of each one's cost.
        Readiness items exist only once collection is done, so the conftest files are known.
        """
        relays = self.session.stash.setdefault(_HOOK_RELAYS, {})
        relay = relays.get(self.path)
        if relay is None:
            relay = relays[self.path] = self.session.gethookproxy(self.path)
        return relay

    @cached_property
    def location(self) -> tuple[str, int | None, str]:
        # pytest's own makes the path absolute and relative again for every item, a tenth of
        # what reporting 4,000 check items cost; they share a few paths (the manifest's, and
        # each suite file's for its cases).
        path, line, name = self.reportinfo()
        return (self.readiness.location_path(str(path)), line, name)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, (Judged, ProbeFailed, CaseFailed)):
            return excinfo.value.describe()
        return super().repr_failure(excinfo, style=style)


class CheckItem(ReadinessItem):
    """Passes when the check passes for the agent; fails when it fails and blocks the gate.

    A failing check that does not block is an xfail with its reason: every check of a pilot,
    and every check when the verdict is ready (unless ``--readiness-strict``)."""

    def __init__(self, *, agent: str, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agent = agent
        self.check = check

    def runtest(self) -> None:
        _raise_judgement(judge(self.readiness, self.nodeid))

    def reportinfo(self) -> tuple[str, int | None, str]:
        line = self.readiness.manifest.line_of("agents", self.agent)
        return (
            self.readiness.manifest.path,
            line - 1 if line else None,
            f"{self.agent} {self.check.id} {self.check.title}",
        )


class ProbeFailed(Exception):
    """A built-in probe saw a declared control fail to hold."""

    def __init__(self, check: str, agent: str, reason: str) -> None:
        self.check = check
        self.agent = agent
        super().__init__(reason)

    def describe(self) -> str:
        return f"{self.check} run-time probe for {self.agent} failed:\n  {self}"


def _report_breaches(item: pytest.Item, agent: str, breaches: Iterable[Breach]) -> None:
    """Send each breach to the check it breaks, whichever item saw it (a report property, so
    it reaches the xdist controller and a shard's partial evidence)."""
    for breach in breaches:
        item.user_properties.append(
            (FINDING_PROPERTY, finding_claim(breach.check, agent, breach.evidence))
        )


class ProbeItem(ReadinessItem):
    """Drives the real agent through its adapter; evidence (source ``probe``) for one check."""

    run_order = 1

    def __init__(self, *, agent: str, probe: Probe, **kwargs: Any) -> None:

        super().__init__(**kwargs)
        self.agent = agent
        self.probe = probe
        self.user_properties.append((EVIDENCE_PROPERTY, claim(probe.check, agent, "probe")))

    def runtest(self) -> None:
        from .probes import run_probe

        context = self.readiness.probe_context(self.agent)
        outcome = run_probe(self.probe, context)
        _report_session_facts(self, context)
        _report_breaches(self, self.agent, outcome.breaches)
        if outcome.skipped:
            self.user_properties.append((MESSAGE_PROPERTY, outcome.reason))
            pytest.skip(outcome.reason)
        if not outcome.passed:
            self.user_properties.append((MESSAGE_PROPERTY, outcome.reason))
            raise ProbeFailed(self.probe.check, self.agent, outcome.reason)

    def reportinfo(self) -> tuple[str, int | None, str]:
        line = self.readiness.manifest.line_of("agents", self.agent, "adapter")
        return (
            self.readiness.manifest.path,
            line - 1 if line else None,
            f"{self.agent} probe {self.probe.name} ({self.probe.check})",
        )


class CaseFailed(Exception):
    """An adversarial case's oracles saw the attack get through."""

    def __init__(self, case_id: str, agent: str, failures: tuple[str, ...]) -> None:
        self.case_id = case_id
        self.agent = agent
        self.failures = failures
        super().__init__("; ".join(failures))

    def describe(self) -> str:
        lines = [f"adversarial case {self.case_id} got through {self.agent}'s guardrails:"]
        lines.extend(f"  - {failure}" for failure in self.failures)
        return "\n".join(lines)


class CaseItem(ReadinessItem):
    """One adversarial case against the agent; counts toward its suite's pass rate (DQ-001)."""

    run_order = 1

    def __init__(self, *, agent: str, suite: str, case: Case, **kwargs: Any) -> None:

        super().__init__(**kwargs)
        self.agent = agent
        self.suite = suite
        self.case = case
        self.user_properties.append((CASE_PROPERTY, case_claim(agent, suite, case.id, "builtin")))

    def runtest(self) -> None:
        from .adversarial.runner import run_case

        context = self.readiness.probe_context(self.agent)
        target = self.readiness.case_target(self.agent)
        run = run_case(self.case, context, live=self.readiness.live, target=target)
        _report_session_facts(self, context)
        # A budget, approval or tracing breach the case showed fails that control, not DQ-001.
        _report_breaches(self, self.agent, run.breaches)
        result = run.result
        if result.not_applicable is not None:
            pytest.skip(f"not applicable to {self.agent}: {result.not_applicable}")
        if not result.passed:
            self.user_properties.append((MESSAGE_PROPERTY, "; ".join(result.failures)))
            raise CaseFailed(self.case.id, self.agent, result.failures)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return (
            self.case.location.file,
            self.case.location.line - 1,
            f"{self.agent} {self.suite} {self.case.id}: {self.case.title}",
        )


class GateItem(ReadinessItem):
    """Fails when the project is not ready, naming each failing rule."""

    run_order = 3

    def runtest(self) -> None:
        _raise_judgement(judge(self.readiness, self.nodeid))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return (self.readiness.manifest.path, 0, "readiness gate")


class Judged(Exception):
    """A check or the gate did not pass; carries the text its report shows."""

    def describe(self) -> str:
        return str(self)


NOT_BLOCKING = "not blocking, the verdict is ready (--readiness-strict fails on it)"

Judgement = tuple[Literal["passed", "failed", "skipped"], "str | None", "str | None"]


def judge(readiness: ReadinessSession, nodeid: str) -> Judgement:
    """(outcome, failure text, xfail reason) of the check or gate item ``nodeid``.

    One function for both places a judgement happens: the item itself in a serial run, and the
    controller after every xdist worker finished.
    """
    if nodeid.endswith("::gate"):
        verdict = readiness.assessment().verdict
        if verdict.ready:
            return "passed", None, None
        return "failed", describe_gate_failure(verdict.failures, verdict.total), None
    agent, check_id = nodeid.rsplit("::", 2)[-2:]
    result = readiness.result_for(agent, check_id)
    if result.passed:
        return "passed", None, None
    if not readiness.manifest.agents[agent].gated:
        return "skipped", None, f"pilot, not gated: {check_id}: {result.reason}"
    if not readiness.strict and readiness.assessment().verdict.ready:
        # The exit status is the verdict: a failing check the gate can bear is shown, not
        # fatal. Check items run after every probe and test, so the verdict is known here; a
        # run found incomplete later still fails at session finish.
        return "skipped", None, f"{NOT_BLOCKING}: {check_id}: {result.reason}"
    return "failed", describe_check_failure(result, readiness.manifest.path), None


def _raise_judgement(judgement: Judgement) -> None:
    outcome, text, xfail_reason = judgement
    if xfail_reason is not None:
        pytest.xfail(xfail_reason)
    if outcome == "failed":
        raise Judged(text or "failed")


def _report_session_facts(item: ReadinessItem, context: ProbeContext) -> None:
    """What the item's sessions showed beyond its verdict, as report properties (so they reach
    the controller under xdist): the tools the agent used, and whether a session hung."""

    if context.tools_seen:
        tools = ",".join(sorted(context.tools_seen))
        item.user_properties.append((TOOLS_PROPERTY, f"{context.agent.name} {tools}"))
    if context.hung:
        item.user_properties.append(
            (INCOMPLETE_PROPERTY, f"{item.nodeid} timed out after {context.deadline_s:g}s")
        )
