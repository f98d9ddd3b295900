"""The state of one ``pytest --readiness`` run: manifest, evidence, items and the scorecard."""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._pytest_compat import bestrelpath, determine_setup_from

if TYPE_CHECKING:
    from .adversarial import Case, Suite
    from .adversarial.results import ImportedResult
    from .adversarial.runner import CaseTarget
    from .spans import SpanCaptureRegistry

from .checks import Check, CheckRegistry, CheckResult
from .evidence import CaseClaim, Claim, Judge, RunEvidence
from .harness import find_adapters
from .inputs import (
    GateInputError,
    check_waivers_name_known_checks,
    load_gate_inputs,
    registry_of,
)
from .manifest import MANIFEST_NAME
from .marks import adversarial_mark_problem, agents_declaring, readiness_mark_problem
from .model import Manifest
from .names import (
    CASE_PROPERTY,
    DESELECTED_OUTPUT,
    EVIDENCE_PROPERTY,
    FINDING_PROPERTY,
    INCOMPLETE_PROPERTY,
    JUDGED_LOCATIONS,
    JUDGED_OUTPUT,
    LOADED_INPUT,
    MARKER_ADVERSARIAL,
    MARKER_READINESS,
    MESSAGE_PROPERTY,
    OPTION_AS_OF,
    OPTION_JSON,
    OPTION_LIVE,
    OPTION_MANIFEST,
    OPTION_PROBE_TIMEOUT,
    OPTION_REPORT,
    OPTION_SESSION_THREADS,
    OPTION_SHARD,
    OPTION_STRICT,
    TOOLS_PROPERTY,
    case_claim,
    claim,
    parse_case_claim,
    parse_claim,
    parse_finding_claim,
)
from .paths import OutsideRepository, declared_at, repository_root, resolve_inside
from .probes import SESSION_DEADLINE_S, Probe, ProbeContext
from .runplan import (
    RunCounts,
    RunPlan,
    in_shard,
    incomplete_reasons,
    planned_cases,
    planned_checks,
    planned_probes,
)
from .scoring import Assessment
from .yamlsource import collector_paused


def _as_of(config: pytest.Config) -> date:
    text = config.getoption(OPTION_AS_OF) or config.getini(OPTION_AS_OF)
    if not text:
        return date.today()
    try:
        return date.fromisoformat(str(text))
    except ValueError:
        raise pytest.UsageError(
            f"--readiness-as-of / readiness_as_of: expected a date YYYY-MM-DD, got {text!r}"
        ) from None


def _shard(config: pytest.Config) -> tuple[int, int] | None:
    text = config.getoption(OPTION_SHARD) or config.getini(OPTION_SHARD)
    if not text:
        return None
    index, _, count = str(text).partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise pytest.UsageError(
            f"--readiness-shard / readiness_shard: expected I/N with 1 <= I <= N, got {text!r}"
        )
    return int(index), int(count)


def _probe_timeout(config: pytest.Config) -> float:
    text = config.getoption(OPTION_PROBE_TIMEOUT) or config.getini(OPTION_PROBE_TIMEOUT)
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
    """An option's path relative to the invocation dir, or its ini twin's relative to the ini
    (and inside the ini's repository)."""
    value = config.getoption(name)
    if value:
        return Path(config.invocation_params.dir, value)
    ini = config.getini(name)
    if ini:
        return _ini_path(config, name, str(ini))
    return None


# Options whose value is a path that may exist when the run starts.
_PATH_OPTIONS = ("--readiness-json", "--readiness-manifest")


def _space_form_problem(config: pytest.Config) -> str | None:
    """Refuse ``--readiness-json PATH`` (a space, not ``=``) when PATH misled pytest's setup.

    pytest finds its rootdir and ini file before it loads this plugin, so it does not yet
    know these options take a value: a value written after a space that names an existing
    file is taken for a test path there, and the rootdir and ini file are found from it. The
    first run writes the scorecard; the next one starts from the wrong directory. When that
    changed the rootdir or ini file, say so and how to write it; otherwise it did no harm.
    """
    args = list(config.invocation_params.args)
    base = config.invocation_params.dir
    taken = [
        (option, value)
        for option, value in itertools.pairwise(args)
        if option in _PATH_OPTIONS and Path(base, value).exists()
    ]
    if not taken:
        return None
    intended = _setup_without_plugin_values(config)
    if intended is None or intended == (config.rootpath, config.inipath):
        return None
    option, value = taken[0]
    if intended[0] != config.rootpath:
        effect = f"the rootdir is {config.rootpath}, not {intended[0]}"
    else:
        effect = f"the ini file is {config.inipath or 'none'}, not {intended[1] or 'none'}"
    return (
        f"{option} {value}: written with a space, an existing path is read by pytest as a test "
        f"path while it looks for its rootdir and ini file, before it knows {option} takes a "
        f"value (so {effect}); write {option}={value}"
    )


def _setup_without_plugin_values(config: pytest.Config) -> tuple[Path, Path | None] | None:
    """The rootdir and ini file pytest finds from the run's real test paths alone.

    pytest has no public API for this (see :mod:`._pytest_compat`); when its private function
    cannot be called, nothing is refused.
    """
    return determine_setup_from(
        {
            "inifile": config.option.inifilename,
            "override_ini": config.option.override_ini,
            "args": list(config.option.file_or_dir or []),
            "rootdir_cmd_arg": config.option.rootdir or None,
            "invocation_dir": config.invocation_params.dir,
        }
    )


def _output_path_problem(option: str, path: Path) -> str | None:
    """Why the run could not write a report to ``path``: found before the run, not after."""
    if path.is_dir():
        return f"{option} {path}: is a directory; name a file to write, e.g. {path / 'x.json'}"
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"{option} {path}: {parent} is a file, not a directory"
            break
    return None


def _ini_path(config: pytest.Config, name: str, value: str, shown: str | None = None) -> Path:
    """An ini value's path, relative to the ini file and resolved inside its repository.

    The ini file is the repository's content, not the user's choice: a pull request must not
    point the plugin at a file elsewhere (it deletes and rewrites its outputs). The command-line
    twin may name any path.
    """
    base = config.inipath.parent if config.inipath else config.rootpath
    try:
        return resolve_inside(repository_root(base), base, value)
    except OutsideRepository as error:
        where = _ini_location(config.inipath, name)
        option = "--" + name.replace("_", "-")
        raise pytest.UsageError(
            f"{where}: {name} = {shown or value}: {error}; paths in the ini file must stay "
            f"inside the repository (pass {option} on the command line to write elsewhere)"
        ) from None


def _ini_location(inipath: Path | None, name: str) -> str:
    """``FILE:LINE`` where the ini file sets ``name`` (pytest keeps no line numbers)."""
    if inipath is None:
        return "the ini file"
    try:
        lines = inipath.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return inipath.name
    for number, line in enumerate(lines, start=1):
        key = line.strip().split("=", 1)[0].split(":", 1)[0].strip()
        if key == name:
            return f"{inipath.name}:{number}"
    return inipath.name


def readiness_manifest_path(config: pytest.Config) -> Path:
    """The manifest to read: the option's, the ini's (inside its repository), else the one at
    the rootdir, which must not link out of its repository."""
    named = _path_option(config, OPTION_MANIFEST)
    if named is not None:
        return named
    root = config.rootpath
    try:
        resolve_inside(repository_root(root), root, MANIFEST_NAME)
    except OutsideRepository as error:
        raise pytest.UsageError(
            f"{MANIFEST_NAME}: {error}; expected the manifest inside the repository (name one "
            "elsewhere with --readiness-manifest)"
        ) from None
    return Path(root, MANIFEST_NAME)


def _report_targets(config: pytest.Config, *, remove_stale: bool) -> tuple[tuple[str, Path], ...]:
    """``--readiness-report FORMAT=PATH`` values (or the ini list), checked at configure time."""
    values: list[str] = config.getoption(OPTION_REPORT) or []
    from_ini = not values
    if from_ini:
        values = list(config.getini(OPTION_REPORT) or [])
    if not values:
        return ()
    from .report_formats import REPORT_FORMATS

    targets: list[tuple[str, Path]] = []
    for value in values:
        format, _, target = str(value).partition("=")
        if format not in REPORT_FORMATS or not target:
            raise pytest.UsageError(
                f"--readiness-report / readiness_report: expected FORMAT=PATH with FORMAT one of "
                f"{', '.join(REPORT_FORMATS)}, got {value!r}"
            )
        if from_ini:
            path = _ini_path(config, OPTION_REPORT, target, str(value))
        else:
            path = Path(config.invocation_params.dir, target)
        problem = _output_path_problem("--readiness-report", path)
        if problem:
            raise pytest.UsageError(problem)
        targets.append((format, path))
    if remove_stale:
        # Like the JSON: a report from an earlier run must never pass for this run's.
        for _, path in targets:
            path.unlink(missing_ok=True)
    return tuple(targets)


def display_path(path: Path, rootdir: Path) -> str:
    """``path`` relative to ``rootdir`` with '/' separators, as pytest writes node ids (so a
    manifest outside the rootdir is ``../policy/agent-readiness.yaml``)."""
    return Path(bestrelpath(rootdir.resolve(), path.resolve())).as_posix()


def build_registry(config: pytest.Config) -> CheckRegistry:
    """Every check the installed plugins register through ``pytest_readiness_checks``."""
    try:
        return registry_of(reversed(config.hook.pytest_readiness_checks(config=config)))
    except GateInputError as error:
        raise pytest.UsageError(str(error)) from None


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
    session_threads: bool = False  # every agent session on a thread of its own
    expected: frozenset[str] = frozenset()
    run: RunEvidence = field(default_factory=RunEvidence)
    ran: set[str] = field(default_factory=set)
    deselected: int = 0
    collection_errors: int = 0
    scorecard: dict[str, Any] | None = None
    span_registry: SpanCaptureRegistry | None = None
    adapters: dict[str, Any] | None = None
    judged_remotely: list[str] | None = None  # xdist: check/gate items the workers kept
    judged_locations: dict[str, Any] = field(default_factory=dict)
    _loaded_inputs: bytes | None = None
    driven: Mapping[str, str] = field(default_factory=dict)  # probe/case node id -> agent
    _session: pytest.Session | None = None
    _progress_counted: bool = False  # xdist: the controller's own items are in the total
    _told_judged_here: bool = False  # xdist: the terminal said how many items it judges
    suites: Mapping[str, Suite] = field(default_factory=dict)
    imported: tuple[ImportedResult, ...] = ()
    _judge: Judge | None = None
    shard: tuple[int, int] | None = None  # (index, count): this run is one of count shards
    worker_crashes: list[str] = field(default_factory=list)
    evidence_deselected: int = 0
    timed_out: list[str] = field(default_factory=list)
    live: bool = False
    reports: tuple[tuple[str, Path], ...] = ()
    output_errors: list[str] = field(default_factory=list)
    strict: bool = False  # --readiness-strict: every failing check fails the run
    # Failed reports of probes and cases: their check judges them, so the verdict (not these
    # reports) decides the exit status.
    driven_failures: list[str] = field(default_factory=list)
    not_blocking: tuple[str, ...] = ()  # the failures the verdict let the run pass with
    _location_paths: dict[str, str] = field(default_factory=dict)  # see location_path
    # Held while the check and gate items report (see pytest_runtest_protocol).
    _collector_held: contextlib.ExitStack | None = None
    # Per agent, worked out once: what its adversarial cases share (tools, system prompt), and
    # what every probe and case context shares (adapter, where its kill switch is declared).
    _case_targets: dict[str, CaseTarget] = field(default_factory=dict)
    _probe_contexts: dict[str, ProbeContext] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: pytest.Config) -> ReadinessSession:
        """Validate options, remove a stale scorecard, load the manifest and the checks."""
        is_worker = hasattr(config, "workerinput")
        misled = _space_form_problem(config)
        if misled:
            raise pytest.UsageError(misled)
        json_path = _path_option(config, OPTION_JSON)
        problem = json_path and _output_path_problem("--readiness-json", json_path)
        if problem:
            raise pytest.UsageError(problem)
        if json_path is not None and not is_worker:
            # A scorecard from an earlier run must never be mistaken for this run's result.
            json_path.unlink(missing_ok=True)
        manifest_path = readiness_manifest_path(config)
        shown = display_path(manifest_path, config.rootpath)
        if manifest_path.is_dir():
            inside = display_path(manifest_path / MANIFEST_NAME, config.rootpath)
            raise pytest.UsageError(
                f"readiness manifest {shown} is a directory: point --readiness-manifest at the "
                f"manifest file (e.g. {inside})"
            )
        if not manifest_path.is_file():
            raise pytest.UsageError(
                f"no readiness manifest at {shown}: write one with `agent-readiness init`, "
                "or point --readiness-manifest at it"
            )
        loaded = getattr(config, "workerinput", {}).get(LOADED_INPUT)
        if loaded is not None:
            # A local xdist worker takes what the controller read and validated: the same
            # inputs, without every worker parsing thousands of cases again.
            import pickle  # xdist only: a run without workers does not load it

            manifest, suites, imported = pickle.loads(loaded)
        else:
            try:
                inputs = load_gate_inputs(manifest_path, shown)
            except GateInputError as error:
                raise pytest.UsageError(str(error)) from None
            manifest, suites, imported = inputs.manifest, inputs.suites, inputs.imported
        registry = build_registry(config)
        try:
            check_waivers_name_known_checks(manifest, shown, registry.checks)
        except GateInputError as error:
            raise pytest.UsageError(str(error)) from None
        session = cls(
            config=config,
            manifest=manifest,
            registry=registry,
            today=_as_of(config),
            json_path=json_path,
            suites=suites,
            imported=imported,
            live=bool(config.getoption(OPTION_LIVE) or config.getini(OPTION_LIVE)),
            strict=bool(config.getoption(OPTION_STRICT) or config.getini(OPTION_STRICT)),
            manifest_file=manifest_path.resolve(),
            manifest_nodeid=shown,
            is_worker=is_worker,
            probe_timeout_s=_probe_timeout(config),
            session_threads=bool(
                config.getoption(OPTION_SESSION_THREADS) or config.getini(OPTION_SESSION_THREADS)
            ),
        )
        session.reports = _report_targets(config, remove_stale=not is_worker)
        session.shard = _shard(config)
        return session  # what it expects to run is known once pytest names the manifest node

    def loaded_inputs(self) -> bytes | None:
        """The manifest, suites and imports, pickled once for every local xdist worker (None if
        they cannot be: the workers then read the files themselves)."""
        if self._loaded_inputs is None:
            import pickle

            loaded = (self.manifest, self.suites, self.imported)
            try:
                self._loaded_inputs = pickle.dumps(loaded, protocol=pickle.HIGHEST_PROTOCOL)
            except (pickle.PicklingError, TypeError, AttributeError):
                return None
        return self._loaded_inputs

    # -- what the run is expected to contain ------------------------------------------------
    def planned(self) -> list[tuple[str, Check]]:
        """(agent, check) pairs, one readiness item each, in report order."""
        return planned_checks(self.manifest, self.registry)

    def planned_probes(self) -> list[tuple[str, Probe]]:
        """(agent, probe) pairs, one probe item each, for agents that declare an adapter."""
        return planned_probes(self.manifest)

    def planned_cases(self) -> list[tuple[str, str, Case]]:
        """(agent, suite, case): the declared suites' cases, for agents with an adapter."""
        return planned_cases(self.manifest, self.suites)

    def expected_nodeids(self) -> set[str]:
        return self.plan().expected_nodeids(self.shard)

    def plan(self) -> RunPlan:
        """The items this run of the manifest collects."""
        return RunPlan(self.manifest, self.registry, self.suites, self.manifest_nodeid)

    # -- run-time probes ----------------------------------------------------------------------
    def spans(self) -> SpanCaptureRegistry:
        """The session's span-capture registry (one per run: the global provider is set once)."""
        from .spans import SpanCaptureRegistry

        if self.span_registry is None:
            self.span_registry = SpanCaptureRegistry()
        return self.span_registry

    def probe_context(self, agent_name: str) -> ProbeContext:
        """Everything a probe of ``agent_name`` needs, with the adapter the project registered:
        a context of its own (what its sessions saw), on declarations worked out once a run."""
        shared = self._probe_contexts.get(agent_name)
        if shared is None:
            if self.adapters is None:
                self.adapters = find_adapters(self.config.pluginmanager.get_plugins())
            agent = self.manifest.agents[agent_name]
            assert agent.adapter is not None
            shared = self._probe_contexts[agent_name] = ProbeContext(
                agent=agent,
                adapter_name=agent.adapter,
                factory=self.adapters.get(agent.adapter),
                spans=self.spans(),
                base_dir=Path(self.manifest.base_dir),
                deadline_s=self.probe_timeout_s,
                on_thread=self.session_threads,
                kill_switch_at=declared_at(
                    self.manifest, "agents", agent_name, "kill_switch", "target"
                ),
            )
        return shared.fresh()

    def case_target(self, agent_name: str) -> CaseTarget:
        """What every adversarial case against ``agent_name`` shares, worked out once a run."""
        if agent_name not in self._case_targets:
            from .adversarial.runner import case_target

            agent = self.manifest.agents[agent_name]
            self._case_targets[agent_name] = case_target(agent, Path(self.manifest.base_dir))
        return self._case_targets[agent_name]

    # -- hooks --------------------------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from .nodes import ManifestFile

        # Node ids are pytest's to choose (a manifest outside the rootdir gets an odd one):
        # ask for it instead of guessing, before anything is expected or judged.
        self.manifest_nodeid = ManifestFile.from_parent(session, path=self.manifest_file).nodeid
        self.expected = frozenset(self.expected_nodeids())
        self.driven = self.plan().driven_agents()
        self._session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location: tuple[Any, ...]) -> None:
        """Under xdist, count the check and gate items the controller reports itself in the
        progress total: the workers leave them out of their collection, and the terminal's
        progress would otherwise run past 100%."""
        if self._progress_counted or self._session is None or self.is_worker:
            return
        self._progress_counted = True
        if self.shard is None and self.config.pluginmanager.has_plugin("dsession"):
            judged_here = len(self.planned()) + 1
            self._session.testscollected += judged_here
            terminal = self.config.pluginmanager.get_plugin("terminalreporter")
            if (
                terminal is not None
                and self.config.get_verbosity() >= 0
                and not self._told_judged_here
            ):
                # xdist's "N workers [M items]" counts what the workers run; say what the
                # controller adds, so the count matches what the run reports.
                self._told_judged_here = True
                terminal.write_line(
                    f"agent-readiness: + {judged_here} check and gate items judged after the "
                    f"workers: {self._session.testscollected} items"
                )

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
        from .nodes import CheckItem, GateItem, ManifestFile, ReadinessItem

        # Added before the other plugins run, so -k/-m can deselect readiness items (and that
        # deselection is then reported as an incomplete run, never silently ignored).
        self._claim_evidence(items)
        manifest_file = ManifestFile.from_parent(session, path=self.manifest_file)
        # Thousands of items that all live to the end: the collector's scans free nothing.
        with collector_paused():
            readiness_items = manifest_file.collect_items(self)
        items.extend(readiness_items)
        self._report_collected(session, manifest_file, readiness_items)
        result = yield
        # Readiness items judge the evidence of every other test, so they run last, whatever
        # order other plugins (pytest-randomly) chose.
        items.sort(key=lambda item: item.run_order if isinstance(item, ReadinessItem) else 0)
        if self.shard is not None:
            # A shard runs its share of the probes and cases and writes partial evidence; the
            # checks and the gate are judged by `agent-readiness merge` over every shard.
            driven = [
                i.nodeid
                for i in items
                if isinstance(i, ReadinessItem) and not isinstance(i, (CheckItem, GateItem))
            ]
            mine = in_shard(driven, self.shard)
            items[:] = [
                item
                for item in items
                if not isinstance(item, ReadinessItem)
                or (not isinstance(item, (CheckItem, GateItem)) and item.nodeid in mine)
            ]
        elif self.is_worker:
            # A worker sees only its share of the evidence: checks and the gate are judged once,
            # on the controller, after every worker finished (see pytest_runtestloop). Every
            # worker drops the same items, so xdist's collections still agree.
            judged = [item for item in items if isinstance(item, (CheckItem, GateItem))]
            items[:] = [item for item in items if not isinstance(item, (CheckItem, GateItem))]
            output: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            output[JUDGED_OUTPUT] = [item.nodeid for item in judged]
            output[JUDGED_LOCATIONS] = {item.nodeid: list(item.location) for item in judged}
        if self.is_worker:
            # Deselection happens on workers only; the controller must know of it either way.
            self.config.workeroutput[DESELECTED_OUTPUT] = [  # type: ignore[attr-defined]
                self.deselected,
                self.evidence_deselected,
            ]
        return result

    def _report_collected(
        self, session: pytest.Session, manifest_file: pytest.File, items: list[pytest.Item]
    ) -> None:
        """Report the readiness items as the manifest's collection, so pytest's "collected N
        items" counts them: they come from no file pytest walked, and the terminal counts
        collection reports, not the final item list."""
        from .nodes import CheckItem, GateItem

        if self.shard is not None:
            # A shard runs its share of the probes and cases, and no check or gate item.
            mine = in_shard([i.nodeid for i in items if i.nodeid in self.driven], self.shard)
            items = [i for i in items if i.nodeid in mine]
        elif self.is_worker:
            items = [i for i in items if not isinstance(i, (CheckItem, GateItem))]
        collected: list[pytest.Item | pytest.Collector] = [*items]
        report = pytest.CollectReport(manifest_file.nodeid, "passed", None, collected)
        session.ihook.pytest_collectreport(report=report)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            result = yield
            distributed = self.config.pluginmanager.has_plugin("dsession")
            if distributed and not self.is_worker and self.shard is None:
                with collector_paused():
                    self._judge_after_workers(session)
        finally:
            self._release_collector()
        return result

    def location_path(self, path: str) -> str:
        """``path`` (an item's reportinfo path) as pytest writes it in the item's location:
        absolute, then relative to the rootdir. Worked out once per path, not once per item."""
        found = self._location_paths.get(path)
        if found is None:
            found = bestrelpath(self.config.rootpath, Path(os.path.abspath(path)))
            self._location_paths[path] = found
        return found

    def _hold_collector(self) -> None:
        """Pause the cyclic garbage collector while the check and gate items report.

        They run last, run no test code, and each leaves reports pytest keeps to the end: the
        collector's full scans over them (and everything else alive) free nothing. Released
        when any other item runs and when the run loop ends."""
        if self._collector_held is None:
            self._collector_held = contextlib.ExitStack()
            self._collector_held.enter_context(collector_paused())

    def _release_collector(self) -> None:
        if self._collector_held is not None:
            self._collector_held.close()
            self._collector_held = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        """Report a check or the gate straight from its judgement.

        They run no user code: the judgement reads the manifest and the evidence already in. The
        setup, capture and logging pytest wraps around a test would only cost time (half of what
        4,000 such items took), and the reports are the ones the xdist controller makes for them.
        Probes and adversarial cases drive the agent and take pytest's whole protocol.
        """
        from .nodes import CheckItem, GateItem

        if not isinstance(item, (CheckItem, GateItem)) or self.config.getoption("setuponly", False):
            self._release_collector()
            return None
        self._hold_collector()
        self._report_judgement(item.ihook, item.nodeid, item.location)
        return True

    def _judge_after_workers(self, session: pytest.Session) -> None:
        """Report the check and gate items the workers left to the controller, as if run here."""
        hook = self.config.hook
        for nodeid in self.judged_remotely or []:
            location = tuple(self.judged_locations.get(nodeid, (self.manifest.path, None, nodeid)))
            self._report_judgement(hook, nodeid, location)
            if session.shouldstop:
                break

    def _report_judgement(self, hook: Any, nodeid: str, location: tuple[Any, ...]) -> None:
        """The setup, call and teardown reports of one check or gate item, from its judgement."""
        from .nodes import judge

        outcome, longrepr, xfail_reason = judge(self, nodeid)
        hook.pytest_runtest_logstart(nodeid=nodeid, location=location)
        keywords: dict[str, Any] = {}  # one for the item's three reports
        for when in ("setup", "call", "teardown"):
            report = pytest.TestReport(
                nodeid=nodeid,
                location=location,
                keywords=keywords,
                outcome=outcome if when == "call" else "passed",
                longrepr=longrepr if when == "call" else None,
                when=when,
            )
            if when == "call" and xfail_reason is not None:
                report.wasxfail = xfail_reason
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=nodeid, location=location)

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        from .nodes import ReadinessItem

        self.deselected += sum(1 for item in items if isinstance(item, ReadinessItem))
        # Leaving out a failing evidence test would raise a score: that is no certification.
        self.evidence_deselected += sum(
            1
            for item in items
            if not isinstance(item, ReadinessItem)
            and any(key in (EVIDENCE_PROPERTY, CASE_PROPERTY) for key, _ in item.user_properties)
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors += 1

    def _claim_evidence(self, items: Iterable[pytest.Item]) -> None:
        problems: list[str] = []
        for item in items:
            claims: list[tuple[str, str]] = []
            for mark in item.iter_markers(MARKER_READINESS):
                problem = readiness_mark_problem(
                    mark.args, mark.kwargs, self.registry.checks, self.manifest
                )
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
            for mark in item.iter_markers(MARKER_ADVERSARIAL):
                problem = adversarial_mark_problem(
                    mark.args, mark.kwargs, self.suites, self.manifest
                )
                if problem:
                    path, line, _ = item.location
                    problems.append(f"{path}:{(line or 0) + 1}: {item.nodeid}: {problem}")
                    continue
                suite = mark.kwargs["suite"]
                agent = mark.kwargs.get("agent")
                for name in [agent] if agent else agents_declaring(self.manifest, suite):
                    item.user_properties.append(
                        (
                            CASE_PROPERTY,
                            case_claim(name, suite, item.nodeid.replace(" ", "_"), "test"),
                        )
                    )
        if problems:
            raise pytest.UsageError(
                "invalid @pytest.mark.readiness marks:\n" + "\n".join(f"  {p}" for p in problems)
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            # The controller records every report a worker sends it and judges there; what a
            # worker would record of its own share is never read.
            return
        if report.nodeid in self.expected and (report.when == "call" or report.outcome != "passed"):
            self.ran.add(report.nodeid)
        if report.failed and report.nodeid in self.driven:
            self.driven_failures.append(report.nodeid)
        if not report.user_properties:
            return  # no claim, case, tool use or finding: most reports (every check item's)
        # One pass over the properties: this runs three times for every probe and case.
        claims: list[Claim] = []
        cases: list[CaseClaim] = []
        called = report.when == "call"
        for key, value in report.user_properties:
            if key == CASE_PROPERTY:
                cases.append(parse_case_claim(str(value)))
            elif key == EVIDENCE_PROPERTY:
                claims.append(parse_claim(str(value)))
            elif key == INCOMPLETE_PROPERTY and str(value) not in self.timed_out:
                self.timed_out.append(str(value))
            elif key == TOOLS_PROPERTY and called:
                agent, _, names = str(value).partition(" ")
                for tool in filter(None, names.split(",")):
                    self.run.used(agent, tool, report.nodeid)
            elif key == FINDING_PROPERTY and called:
                self.run.found(report.nodeid, *parse_finding_claim(str(value)))
        if not claims and not cases:
            return
        message = ""
        if report.skipped:
            # A probe says why its control holds without proof (the scorecard shows it).
            told = [str(v) for k, v in report.user_properties if k == MESSAGE_PROPERTY]
            message = told[0] if told else ""
        if report.failed:
            told = [str(v) for k, v in report.user_properties if k == MESSAGE_PROPERTY]
            crash = getattr(report.longrepr, "reprcrash", None)
            crashed = str(getattr(crash, "message", "") or "").splitlines()
            message = told[0] if told else (crashed[0] if crashed else "")
        self.run.record(
            report.nodeid,
            claims,
            cases,
            failed=report.failed,
            skipped=report.skipped or hasattr(report, "wasxfail"),
            message=message,
        )

    @property
    def judge(self) -> Judge:
        """Turns this run's evidence into the assessment and the scorecard."""
        if self._judge is None:
            self._judge = Judge(
                manifest=self.manifest,
                registry=self.registry,
                manifest_nodeid=self.manifest_nodeid,
                today=self.today,
                suites=self.suites,
                imported=self.imported,
                manifest_in_repository=self.manifest_in_repository,
            )
        return self._judge

    @property
    def manifest_in_repository(self) -> str:
        """The manifest file relative to the repository root: where reports point, whatever
        directory pytest ran in (a monorepo's ``working-directory:``)."""
        from .scorecard import repository_path

        return repository_path(self.manifest_file, self.config.rootpath, os.environ)

    def assessment(self, incomplete: Sequence[str] = ()) -> Assessment:
        """Judge the run on the evidence gathered so far."""
        return self.judge.assessment(self.run, incomplete)

    def result_for(self, agent: str, check_id: str) -> CheckResult:
        """The current result of one check for one agent."""
        score = self.assessment().agents[agent]
        return next(r for r in score.results if r.check.id == check_id)

    def _incomplete_reasons(self, exitstatus: int | pytest.ExitCode) -> list[str]:
        counts = RunCounts(
            worker_crashes=self.worker_crashes,
            timed_out=self.timed_out,
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
            internal_error=exitstatus == pytest.ExitCode.INTERNAL_ERROR,
            collection_errors=self.collection_errors,
            deselected=self.deselected,
            evidence_deselected=self.evidence_deselected,
            missing=frozenset(self.expected - self.ran),
        )
        return incomplete_reasons(self.manifest, self.manifest_file, counts)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.span_registry is not None:
            self.span_registry.close()
        if self.is_worker or self.config.option.collectonly:
            # --collect-only lists the readiness items; it judges nothing and writes nothing.
            return
        from .scorecard import dumps

        incomplete = self._incomplete_reasons(exitstatus)
        ci_run = {
            key: os.environ[env]
            for key, env in (
                ("github_run_id", "GITHUB_RUN_ID"),
                ("github_run_attempt", "GITHUB_RUN_ATTEMPT"),
                # The commit and repository judged: what an organisation's inventory shows.
                ("commit", "GITHUB_SHA"),
                ("repository", "GITHUB_REPOSITORY"),
            )
            if os.environ.get(env)
        }
        if self.shard is not None:
            self._write_partial(session, incomplete, ci_run)
            # A shard's verdict is the merge's; its probe and case failures are evidence for it.
            self._exit_with_verdict(session, ready=not incomplete)
            return
        with collector_paused():  # a document of thousands of containers, all kept
            assessment = self.assessment(incomplete)
            self.scorecard = self.judge.scorecard(self.run, incomplete, ci_run)
        if self.json_path is not None:
            self._write_output(session, "--readiness-json", self.json_path, dumps(self.scorecard))
        if self.reports:
            from .report_formats import render_report

            for format, path in self.reports:
                text = render_report(format, self.scorecard)
                self._write_output(session, "--readiness-report", path, text)
        self._exit_with_verdict(session, ready=assessment.verdict.ready)

    def _exit_with_verdict(self, session: pytest.Session, *, ready: bool) -> None:
        """Make the exit status the verdict (pytest returns ``session.exitstatus`` once
        ``pytest_sessionfinish`` is done).

        Not ready fails the run. Ready passes it even when probes or adversarial cases failed,
        as long as they are the only failures: their checks judged them (a failing check that
        blocks would have failed too, and the verdict would not be ready). The project's own
        tests, and anything else that failed the run (pytest-cov's floor counts as a failed
        test), still fail it; so do the probes and cases of gated agents under
        ``--readiness-strict``.
        """
        if not ready:
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        failures = self.driven_failures
        if (
            session.exitstatus != pytest.ExitCode.TESTS_FAILED
            or not failures
            or session.testsfailed != len(failures)
        ):
            return
        if self.strict and any(self.manifest.agents[self.driven[n]].gated for n in failures):
            return
        self.not_blocking = tuple(dict.fromkeys(failures))
        session.exitstatus = pytest.ExitCode.OK

    def _write_output(self, session: pytest.Session, option: str, path: Path, text: str) -> None:
        """Write one of the run's outputs; a path that cannot be written is the user's to fix
        (a usage error naming it), never an internal error and never a silent success."""
        from .files import write_atomic

        try:
            write_atomic(path, text)
        except OSError as error:
            reason = error.strerror or type(error).__name__
            self.output_errors.append(f"{option} {path}: cannot write it: {reason}")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def _write_partial(
        self, session: pytest.Session, incomplete: Sequence[str], ci_run: Mapping[str, str]
    ) -> None:
        from .scorecard import dumps
        from .shards import partial_document

        assert self.shard is not None
        document = partial_document(
            manifest=self.manifest,
            shard=self.shard,
            as_of=self.today,
            run=self.run,
            expected=self.expected,
            ran=self.ran,
            incomplete=incomplete,
            ci_run=ci_run,
            manifest_in_repository=self.manifest_in_repository,
        )
        if self.json_path is not None:
            self._write_output(session, "--readiness-json", self.json_path, dumps(document))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for problem in self.output_errors:
            terminalreporter.write_line(f"ERROR: {problem}", red=True, bold=True)
        if self.shard is not None and not self.is_worker:
            index, count = self.shard
            terminalreporter.write_sep("=", f"agent readiness: shard {index}/{count}")
            terminalreporter.write_line(
                f"ran {len(self.ran)} of {len(self.expected)} probes and cases in this shard; "
                "the verdict comes from `agent-readiness merge` over every shard"
                + (
                    f" (partial evidence in {self.json_path})"
                    if self.json_path
                    else " (pass --readiness-json to keep the partial evidence)"
                )
            )
            self._write_not_blocking(terminalreporter, "their checks are judged by the merge")
            return
        if self.scorecard is None:
            return
        from .reports._text import view
        from .reports.terminal import render_text

        ready = self.scorecard["verdict"] == "ready"
        card = view(self.scorecard)  # read once for the summary and the to-do list
        terminalreporter.write_sep("=", "agent readiness", green=ready, red=not ready, bold=True)
        for line in render_text(card).splitlines():
            if line.startswith("VERDICT"):
                terminalreporter.write_line(line, green=ready, red=not ready, bold=True)
            else:
                terminalreporter.write_line(line)
        if self.json_path is not None:
            terminalreporter.write_line(f"scorecard written to {self.json_path}")
        self._write_not_blocking(terminalreporter, "the verdict is READY")
        from .reports.todo import render_todo

        for line in render_todo(card).splitlines():
            terminalreporter.write_line(line, bold=line.startswith("to do"))

    def _write_not_blocking(self, terminalreporter: Any, why: str) -> None:
        """Say why a run with failed items exits 0, naming each of them."""
        if not self.not_blocking:
            return
        count = len(self.not_blocking)
        remedy = (
            "a pilot never blocks" if self.strict else "--readiness-strict fails the run on them"
        )
        terminalreporter.write_line(
            f"exit status 0: {why}; {count} failed probe/case item{'s' * (count != 1)} "
            f"did not block the gate ({remedy}):",
            yellow=True,
            bold=True,
        )
        for nodeid in self.not_blocking:
            terminalreporter.write_line(f"  not blocking: {nodeid}", yellow=True)

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Let go of the run's judgements and evidence once everything is reported.

        pytest keeps every item, and through them this session, until the process exits, and
        the interpreter's last garbage collections walk all that is still reachable: releasing
        the assessment here saves a quarter of a second at the exit of a 200-agent run.
        """
        self._judge = None
        self.run = RunEvidence()
        self.scorecard = None
        self.suites = {}
        self.imported = ()
        self._loaded_inputs = None
        self.adapters = None
        self._probe_contexts = {}
        self.driven = {}


class XdistHooks:
    """pytest-xdist's hooks, registered only when xdist is installed."""

    def __init__(self, readiness: ReadinessSession) -> None:
        self.readiness = readiness

    def pytest_configure_node(self, node: Any) -> None:
        """Hand a local worker the inputs the controller loaded (a remote one reads its own)."""
        spec = getattr(getattr(node, "gateway", None), "spec", None)
        if getattr(spec, "popen", False) and not getattr(spec, "via", None):
            loaded = self.readiness.loaded_inputs()
            if loaded is not None:
                node.workerinput[LOADED_INPUT] = loaded

    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        # Each worker's collection resets the progress total (a worker started to replace a
        # crashed one too): count the controller's own items again.
        self.readiness._progress_counted = False

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        if error:
            name = getattr(getattr(node, "gateway", None), "id", "a worker")
            self.readiness.worker_crashes.append(
                f"pytest-xdist worker {name} crashed: {str(error).splitlines()[0][:200]}"
            )
        output = getattr(node, "workeroutput", {}) or {}
        if JUDGED_OUTPUT in output and self.readiness.judged_remotely is None:
            self.readiness.judged_remotely = list(output[JUDGED_OUTPUT])
            self.readiness.judged_locations = dict(output.get(JUDGED_LOCATIONS, {}))
        if DESELECTED_OUTPUT in output:
            deselected, evidence_deselected = output[DESELECTED_OUTPUT]
            self.readiness.deselected = max(self.readiness.deselected, int(deselected))
            self.readiness.evidence_deselected = max(
                self.readiness.evidence_deselected, int(evidence_deselected)
            )
