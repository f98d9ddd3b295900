"""The state of one ``pytest --readiness`` run: manifest, evidence, items and the scorecard."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .spans import SpanCaptureRegistry

from .checks import (
    Check,
    CheckRegistry,
    CheckResult,
    DuplicateCheck,
    Evidence,
    EvidenceSource,
    Outcome,
)
from .harness import find_adapters
from .manifest import MANIFEST_NAME, ManifestError, load_manifest
from .model import Manifest
from .plugin import MARKER_READINESS
from .probes import SESSION_DEADLINE_S, Probe, ProbeContext, probes_for
from .scoring import Assessment, applicable, assess

EVIDENCE_PROPERTY = "agent_readiness"
MESSAGE_PROPERTY = "agent_readiness_message"


def claim(check_id: str, agent: str, source: EvidenceSource) -> str:
    """How an item says which check it is evidence for (a report property, so it crosses xdist)."""
    return f"{check_id} {agent} {source}"


def parse_claim(text: str) -> tuple[str, str, EvidenceSource]:
    """The (check, agent, source) of a :func:`claim`."""
    check_id, agent, source = [*text.split(" "), "test"][:3]
    return check_id, agent, "probe" if source == "probe" else "test"


def _as_of(config: pytest.Config) -> date:
    text = config.getoption("readiness_as_of") or config.getini("readiness_as_of")
    if not text:
        return date.today()
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise pytest.UsageError(
            f"--readiness-as-of / readiness_as_of: expected a date YYYY-MM-DD, got {text!r}"
        ) from None


def _probe_timeout(config: pytest.Config) -> float:
    text = config.getoption("readiness_probe_timeout") or config.getini("readiness_probe_timeout")
    if not text:
        return SESSION_DEADLINE_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise pytest.UsageError(
            f"--readiness-probe-timeout / readiness_probe_timeout: expected seconds between 0 "
            f"and 3600, got {text!r}"
        )
    return value


def _path_option(config: pytest.Config, name: str) -> Path | None:
    """An option's path relative to the invocation dir, or its ini twin's relative to the ini."""
    value = config.getoption(name)
    if value:
        return Path(config.invocation_params.dir, value)
    ini = config.getini(name)
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return Path(base, str(ini))
    return None


def display_path(path: Path, rootdir: Path) -> str:
    """``path`` relative to ``rootdir`` with '/' separators when inside it, else absolute."""
    try:
        return path.resolve().relative_to(rootdir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def build_registry(config: pytest.Config) -> CheckRegistry:
    """Every check the installed plugins register through ``pytest_readiness_checks``."""
    registry = CheckRegistry()
    try:
        for checks in reversed(config.hook.pytest_readiness_checks(config=config)):
            registry.extend(checks)
    except (DuplicateCheck, ValueError) as error:
        raise pytest.UsageError(f"readiness checks: {error}") from None
    return registry


@dataclass
class _TestRecord:
    claims: tuple[tuple[str, str, EvidenceSource], ...]
    outcome: Outcome = "passed"
    message: str = ""
    seen: bool = False


@dataclass(eq=False)  # a plugin object: hashed by identity
class ReadinessSession:
    """Registered as a plugin for one ``--readiness`` run; owns all of the run's readiness state."""

    config: pytest.Config
    manifest: Manifest
    registry: CheckRegistry
    today: date
    json_path: Path | None
    manifest_file: Path
    manifest_nodeid: str
    is_worker: bool
    probe_timeout_s: float = SESSION_DEADLINE_S
    expected: frozenset[str] = frozenset()
    records: dict[str, _TestRecord] = field(default_factory=dict)
    ran: set[str] = field(default_factory=set)
    deselected: int = 0
    collection_errors: int = 0
    scorecard: dict[str, Any] | None = None
    span_registry: SpanCaptureRegistry | None = None
    adapters: dict[str, Any] | None = None
    tools_seen: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: pytest.Config) -> ReadinessSession:
        """Validate options, remove a stale scorecard, load the manifest and the checks."""
        is_worker = hasattr(config, "workerinput")
        json_path = _path_option(config, "readiness_json")
        if json_path is not None and not is_worker:
            # A scorecard from an earlier run must never be mistaken for this run's result.
            json_path.unlink(missing_ok=True)
        manifest_path = _path_option(config, "readiness_manifest") or Path(
            config.rootpath, MANIFEST_NAME
        )
        shown = display_path(manifest_path, config.rootpath)
        if not manifest_path.is_file():
            raise pytest.UsageError(
                f"no readiness manifest at {shown}: write one with `agent-readiness init`, "
                "or point --readiness-manifest at it"
            )
        try:
            manifest = load_manifest(manifest_path, display=shown)
        except ManifestError as error:
            raise pytest.UsageError(str(error)) from None
        registry = build_registry(config)
        unknown = [w for w in manifest.waivers if w.check not in registry.checks]
        if unknown:
            waiver = unknown[0]
            raise pytest.UsageError(
                f"{shown}:{manifest.line_of('waivers', waiver.index, 'check')}: waivers"
                f"[{waiver.index}].check: unknown check '{waiver.check}' (expected one of: "
                f"{', '.join(sorted(registry.checks))})"
            )
        session = cls(
            config=config,
            manifest=manifest,
            registry=registry,
            today=_as_of(config),
            json_path=json_path,
            manifest_file=manifest_path.resolve(),
            manifest_nodeid=shown,
            is_worker=is_worker,
            probe_timeout_s=_probe_timeout(config),
        )
        session.expected = frozenset(session.expected_nodeids())
        return session

    # -- what the run is expected to contain ------------------------------------------------
    def planned(self) -> list[tuple[str, Check]]:
        """(agent, check) pairs, one readiness item each, in report order."""
        return [
            (name, check)
            for name in sorted(self.manifest.agents)
            for check in self.registry.ordered()
            if applicable(check, self.manifest.agents[name])
        ]

    def planned_probes(self) -> list[tuple[str, Probe]]:
        """(agent, probe) pairs, one probe item each, for agents that declare an adapter."""
        return [
            (name, probe)
            for name in sorted(self.manifest.agents)
            for probe in probes_for(self.manifest.agents[name])
        ]

    def expected_nodeids(self) -> set[str]:
        base = self.manifest_nodeid
        checks = {f"{base}::{agent}::{check.id}" for agent, check in self.planned()}
        probes = {f"{base}::{agent}::probe-{probe.name}" for agent, probe in self.planned_probes()}
        return checks | probes | {f"{base}::gate"}

    # -- run-time probes ----------------------------------------------------------------------
    def spans(self) -> SpanCaptureRegistry:
        """The session's span-capture registry (one per run: the global provider is set once)."""
        from .spans import SpanCaptureRegistry

        if self.span_registry is None:
            self.span_registry = SpanCaptureRegistry()
        return self.span_registry

    def probe_context(self, agent_name: str) -> ProbeContext:
        """Everything a probe of ``agent_name`` needs, with the adapter the project registered."""
        if self.adapters is None:
            self.adapters = find_adapters(self.config.pluginmanager.get_plugins())
        agent = self.manifest.agents[agent_name]
        assert agent.adapter is not None
        return ProbeContext(
            agent=agent,
            adapter_name=agent.adapter,
            factory=self.adapters.get(agent.adapter),
            spans=self.spans(),
            base_dir=Path(self.manifest.base_dir),
            deadline_s=self.probe_timeout_s,
            tools_seen=self.tools_seen.setdefault(agent_name, set()),
        )

    # -- hooks --------------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> str:
        agents = len(self.manifest.agents)
        return (
            f"agent-readiness: {self.manifest.path}, {agents} agent{'s' * (agents != 1)}, "
            f"{len(self.registry.checks)} checks, as of {self.today.isoformat()}"
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        from .nodes import ManifestFile, ReadinessItem

        # Added before the other plugins run, so -k/-m can deselect readiness items (and that
        # deselection is then reported as an incomplete run, never silently ignored).
        self._claim_evidence(items)
        manifest_file = ManifestFile.from_parent(session, path=self.manifest_file)
        items.extend(manifest_file.collect_items(self))
        result = yield
        # Readiness items judge the evidence of every other test, so they run last, whatever
        # order other plugins (pytest-randomly) chose.
        items.sort(key=lambda item: item.run_order if isinstance(item, ReadinessItem) else 0)
        return result

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        from .nodes import ReadinessItem

        self.deselected += sum(1 for item in items if isinstance(item, ReadinessItem))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1

    def _claim_evidence(self, items: Iterable[pytest.Item]) -> None:
        problems: list[str] = []
        for item in items:
            claims: list[tuple[str, str]] = []
            for mark in item.iter_markers(MARKER_READINESS):
                problem = self._mark_problem(mark)
                if problem:
                    path, line, _ = item.location
                    problems.append(f"{path}:{(line or 0) + 1}: {item.nodeid}: {problem}")
                    continue
                check_id: str = mark.args[0]
                agent = mark.kwargs.get("agent")
                agents = [agent] if agent else sorted(self.manifest.agents)
                claims.extend((check_id, name) for name in agents)
            for check_id, agent in sorted(set(claims)):
                item.user_properties.append((EVIDENCE_PROPERTY, claim(check_id, agent, "test")))
        if problems:
            raise pytest.UsageError(
                "invalid @pytest.mark.readiness marks:\n" + "\n".join(f"  {p}" for p in problems)
            )

    def _mark_problem(self, mark: pytest.Mark) -> str | None:
        if len(mark.args) != 1 or not isinstance(mark.args[0], str):
            return "expected @pytest.mark.readiness('CHECK-ID', agent='name')"
        extra = sorted(set(mark.kwargs) - {"agent"})
        if extra:
            return f"unexpected argument {extra[0]!r}; expected only agent="
        check_id = mark.args[0]
        if check_id not in self.registry.checks:
            return f"unknown check '{check_id}' (valid: {', '.join(sorted(self.registry.checks))})"
        agent = mark.kwargs.get("agent")
        if agent is not None and agent not in self.manifest.agents:
            return f"unknown agent '{agent}' (valid: {', '.join(sorted(self.manifest.agents))})"
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self.expected and (report.when == "call" or report.outcome != "passed"):
            self.ran.add(report.nodeid)
        claims = tuple(
            parse_claim(str(value))
            for key, value in report.user_properties
            if key == EVIDENCE_PROPERTY
        )
        if not claims:
            return
        record = self.records.setdefault(report.nodeid, _TestRecord(claims=claims))
        record.seen = True
        if report.failed and record.outcome != "failed":
            record.outcome = "failed"
            told = [str(v) for k, v in report.user_properties if k == MESSAGE_PROPERTY]
            crash = getattr(report.longrepr, "reprcrash", None)
            crashed = str(getattr(crash, "message", "") or "").splitlines()
            record.message = told[0] if told else (crashed[0] if crashed else "")
        elif (report.skipped and record.outcome == "passed") or (
            hasattr(report, "wasxfail") and record.outcome == "passed"
        ):
            record.outcome = "skipped"

    def evidence(self) -> list[Evidence]:
        """Evidence from every marked test that reported so far."""
        collected: list[Evidence] = []
        for nodeid, record in sorted(self.records.items()):
            if not record.seen:
                continue
            for check_id, agent, source in record.claims:
                collected.append(
                    Evidence(nodeid, check_id, agent, record.outcome, source, record.message)
                )
        return collected

    def assessment(self, incomplete: Sequence[str] = ()) -> Assessment:
        """Judge the run on the evidence gathered so far."""
        return assess(
            self.manifest,
            self.registry,
            self.evidence(),
            today=self.today,
            incomplete_reasons=incomplete,
        )

    def result_for(self, agent: str, check_id: str) -> CheckResult:
        """The current result of one check for one agent."""
        score = self.assessment().agents[agent]
        return next(r for r in score.results if r.check.id == check_id)

    def _incomplete_reasons(self, exitstatus: int | pytest.ExitCode) -> list[str]:
        reasons: list[str] = []
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            reasons.append("the run was interrupted")
        if exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            reasons.append("pytest hit an internal error")
        if self.collection_errors:
            reasons.append(f"{self.collection_errors} collection error(s)")
        if self.deselected:
            reasons.append(
                f"{self.deselected} readiness check(s) deselected (-k/-m): a filtered run "
                "cannot certify readiness"
            )
        missing = self.expected - self.ran
        if missing and not self.deselected:
            reasons.append(
                f"{len(missing)} readiness check(s) did not run (e.g. {sorted(missing)[0]})"
            )
        return reasons

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.span_registry is not None:
            self.span_registry.close()
        if self.is_worker:
            return
        from .scorecard import build_scorecard, dumps, write_atomic

        assessment = self.assessment(self._incomplete_reasons(exitstatus))
        run = {
            key: os.environ[env]
            for key, env in (
                ("github_run_id", "GITHUB_RUN_ID"),
                ("github_run_attempt", "GITHUB_RUN_ATTEMPT"),
            )
            if os.environ.get(env)
        }
        self.scorecard = build_scorecard(assessment, run=run)
        if self.json_path is not None:
            write_atomic(self.json_path, dumps(self.scorecard))
        if not assessment.verdict.ready and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.scorecard is None:
            return
        from .reports.terminal import render_text

        ready = self.scorecard["verdict"] == "ready"
        terminalreporter.write_sep("=", "agent readiness", green=ready, red=not ready, bold=True)
        for line in render_text(self.scorecard).splitlines():
            if line.startswith("VERDICT"):
                terminalreporter.write_line(line, green=ready, red=not ready, bold=True)
            else:
                terminalreporter.write_line(line)
        if self.json_path is not None:
            terminalreporter.write_line(f"scorecard written to {self.json_path}")
