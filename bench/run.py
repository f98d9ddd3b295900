"""Benchmarks of pytest-agent-readiness against their floors: one command, inputs built in a
scratch directory.

    python bench/run.py                 # every benchmark, full size (about 8 minutes, 2 cores)
    python bench/run.py --quick         # small inputs, few repeats: a smoke run
    python bench/run.py --only startup,adversarial

Every row measures the plugin against its floor, the cheapest way a user could get the same
answer, in the same run: the sides of a row run as subprocesses of this Python, one warm-up
each, then in rounds whose order rotates (A B C D, B C D A, ...), so drift in the load of a
shared machine hits every side alike. Times are CPU seconds (user + system, from ``os.wait4``:
the process and every child it reaped), which another process on the machine disturbs far less
than wall time; the xdist rows, about parallelism, use wall time. Each side's figure is the
median of its runs.

- ``overhead``: the plugin installed but not enabled vs ``-p no:agent_readiness``.
- ``manifest``: ``pytest --readiness`` on a fleet of N agents vs parsing the same file with
  libyaml (``yaml.CSafeLoader``, which the plugin uses too); per agent = (T_N - T_1) / (N - 1).
- ``startup``: the fixed cost of ``pytest --readiness`` on a one-case project over bare pytest
  (``-p no:agent_readiness``) running the same case as an inline parametrized test.
- ``adversarial``: per case = (T_N - T_1) / (N - 1) of ``pytest --readiness`` in guardrail mode
  vs bare parametrized tests with the cases inline (a Python literal: nothing parsed at run
  time), each making the same stub call.
- ``xdist``, ``xdist-bare``: ``-n 2`` vs serial, for the plugin and, for reference, bare tests,
  on cases that do real work (``--xdist-work-ms``, default 20 ms of CPU a call; a do-nothing
  case costs less than pytest-xdist's own hand-over of its reports, so nothing scales on it).

The sides run in this environment with every installed pytest plugin other than this one and
pytest-xdist disabled (``-p no:NAME``, listed in the header). Before measuring, the bench
compiles this package's modules to bytecode, as pip does when it installs the wheel (pytest and
the other installed packages of the floor side have theirs): an editable install of a checkout
has none, and where ``PYTHONDONTWRITEBYTECODE`` is set (as many container images set it) every
run would compile every module it imports again. ``--no-compile`` leaves the package's bytecode as
it finds it.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: it runs from a checkout, next to inputs.py.
import inputs

BENCHMARKS = ("overhead", "manifest", "startup", "adversarial", "xdist", "xdist-bare")
AS_OF = f"--readiness-as-of={inputs.AS_OF}"
# pytest exit codes a benchmark side may end with: 0 passed, 1 tests failed (a fleet that is
# not ready fails its gate). 2 interrupted, 3 internal error, 4 usage error, 5 no tests: broken.
ACCEPTED_EXIT_CODES = frozenset({0, 1})
# The counts in pytest's summary line that are tests it ran.
RAN = re.compile(r"(\d+) (?:passed|failed|skipped|xfailed|xpassed)")
# The plugin side and the floor side of a row, at the row's full size N and at 1.
SUBJECT, FLOOR = "subject", "floor"

TargetKind = Literal[
    "ratio_at_most", "seconds_at_most", "fixed_at_most", "speedup_at_least", "reference"
]


class BenchError(Exception):
    """A benchmark side could not be measured (it crashed, or ran past its time limit)."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a command run in a directory, and how many tests it must run
    (from its summary line), so it cannot look cheap by running nothing."""

    label: str
    argv: tuple[str, ...]
    cwd: Path
    min_items: int = 0


@dataclass(frozen=True)
class Sample:
    """One run of one side."""

    cpu_s: float
    wall_s: float
    peak_rss_mb: float
    exit_code: int


@dataclass(frozen=True)
class Target:
    """What a row must reach: a ratio, CPU seconds, extra CPU seconds or a speedup."""

    kind: TargetKind
    limit: float

    def describe(self) -> str:
        """The target as printed, e.g. ``ratio <= 1.02``."""
        return {
            "ratio_at_most": f"ratio <= {self.limit:g}",
            "seconds_at_most": f"median < {self.limit:g} s CPU",
            "fixed_at_most": f"<= +{self.limit:g} s CPU",
            "speedup_at_least": f"speedup >= {self.limit:g}",
            "reference": "none (for reference)",
        }[self.kind]

    def met_by(self, figure: float) -> bool:
        """Whether ``figure`` (the row's figure in this target's unit) reaches the target."""
        if self.kind == "ratio_at_most":
            return figure <= self.limit
        if self.kind == "seconds_at_most":
            return figure < self.limit
        if self.kind == "fixed_at_most":
            return figure <= self.limit
        if self.kind == "speedup_at_least":
            return figure >= self.limit
        return True


RowKind = Literal["ratio", "per_unit", "fixed", "speedup"]


@dataclass(frozen=True)
class Row:
    """A measured comparison: its sides (keyed ``subject``/``floor``, with ``@N``/``@1`` for the
    rows that take a difference of two sizes) and the target its figure must reach.

    Rows of one ``group`` share their runs: the start-up row's one-case sides are the
    adversarial row's ``@1`` sides.
    """

    name: str
    title: str
    kind: RowKind
    sides: Mapping[str, Side]
    target: Target
    group: str = ""
    unit: str = ""  # per_unit rows: what one unit is ("case", "agent")
    size: int = 0  # per_unit rows: N
    # The slowest rows run fewer rounds, so the whole run stays under 10 minutes.
    max_repeats: int | None = None


@dataclass(frozen=True)
class Outcome:
    """The samples of a row's sides and what they add up to."""

    row: Row
    samples: Mapping[str, tuple[Sample, ...]]
    said: Mapping[str, str]

    def cpu(self, key: str) -> float:
        """Median CPU seconds of one side."""
        return statistics.median(s.cpu_s for s in self.samples[key])

    def wall(self, key: str) -> float:
        """Median wall seconds of one side."""
        return statistics.median(s.wall_s for s in self.samples[key])

    @property
    def measurable(self) -> bool:
        """False when noise swamped a per-unit floor (it came out zero or negative): too few
        units, or too few rounds, for the difference of two sizes to show them."""
        return self.row.kind != "per_unit" or self.per_unit_ms(FLOOR) > 0

    def per_unit_ms(self, side: str) -> float:
        """(T_N - T_1) / (N - 1) of ``side`` in CPU milliseconds."""
        size = self.row.size
        return (self.cpu(f"{side}@{size}") - self.cpu(f"{side}@1")) / (size - 1) * 1000

    @property
    def figure(self) -> float:
        """The number the target judges, in the target's unit (NaN when noise swamped it)."""
        kind = self.row.kind
        if kind == "ratio":
            return self.cpu(SUBJECT) / self.cpu(FLOOR)
        if kind == "fixed":
            return self.cpu(f"{SUBJECT}@1") - self.cpu(f"{FLOOR}@1")
        if kind == "speedup":
            return self.wall(FLOOR) / self.wall(SUBJECT)
        if self.row.target.kind == "seconds_at_most":
            return self.cpu(f"{SUBJECT}@{self.row.size}")
        return self.per_unit_ratio

    @property
    def per_unit_ratio(self) -> float:
        """The plugin's per-unit CPU over the floor's (NaN when the floor's is not above 0)."""
        if not self.measurable:
            return float("nan")
        return self.per_unit_ms(SUBJECT) / self.per_unit_ms(FLOOR)

    @property
    def passed(self) -> bool:
        # NaN compares false, so an unmeasurable ratio never passes.
        return self.row.target.met_by(self.figure)


@dataclass(frozen=True)
class Settings:
    """Sizes, repeats and limits of one benchmark run."""

    sizes: inputs.Sizes
    repeats: int
    timeout_s: float
    workdir: Path


def run_once(side: Side, settings: Settings, log: Path) -> Sample:
    """Run ``side`` once; its CPU and wall time, peak RSS and exit code. Output goes to ``log``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    killed = threading.Event()
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(side.argv, cwd=side.cwd, stdout=out, stderr=out, env=env)

        def kill() -> None:
            killed.set()
            process.kill()

        # A blocking wait4 (timed to the exit, no polling) and a timer that kills a runaway.
        timer = threading.Timer(settings.timeout_s, kill)
        timer.start()
        try:
            # wait4, not wait: it returns this child's own resource usage, which includes
            # the children it reaped (xdist workers), and nothing of earlier runs.
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    exit_code = os.waitstatus_to_exitcode(status)
    process.returncode = exit_code  # reaped here, so Popen must not wait for it again
    if killed.is_set():
        raise BenchError(
            f"{side.label}: still running after {settings.timeout_s:g} s (killed); see {log}"
        )
    if exit_code not in ACCEPTED_EXIT_CODES:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise BenchError(
            f"{side.label}: exit code {exit_code}, expected 0 or 1; last lines of {log}:\n"
            + "\n".join(f"    {line}" for line in tail)
        )
    # ru_maxrss is kilobytes on Linux and bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(cpu, seconds, usage.ru_maxrss / scale, exit_code)


def measure(rows: Sequence[Row], settings: Settings) -> list[Outcome]:
    """Measure the sides of ``rows`` (one group) together: a warm-up run each, then
    ``repeats`` rounds over every side, the order rotating by one each round."""
    logs = settings.workdir / "logs"
    logs.mkdir(exist_ok=True)
    sides: dict[str, Side] = {}
    for row in rows:
        for key, side in row.sides.items():
            if sides.setdefault(key, side) != side:
                raise ValueError(f"rows of group {row.group!r} disagree on side {key!r}")
    group = rows[0].group or rows[0].name
    names = list(sides)
    for key in names:
        run_once(sides[key], settings, logs / f"{group}-{key}-warmup.log")
    caps = [row.max_repeats for row in rows if row.max_repeats is not None]
    repeats = min([settings.repeats, *caps])
    samples: dict[str, list[Sample]] = {key: [] for key in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for key in names[shift:] + names[:shift]:
            samples[key].append(run_once(sides[key], settings, logs / f"{group}-{key}.log"))
    said: dict[str, str] = {}
    for key, side in sides.items():
        said[key] = last_line(logs / f"{group}-{key}.log")
        ran = sum(
            int(n)
            for n in re.findall(r"(\d+) (?:passed|failed|skipped|xfailed|xpassed)", said[key])
        )
        if ran < side.min_items:
            raise BenchError(f"{side.label} ran {ran} tests, expected at least {side.min_items}")
    frozen = {key: tuple(values) for key, values in samples.items()}
    return [
        Outcome(row, {key: frozen[key] for key in row.sides}, {key: said[key] for key in row.sides})
        for row in rows
    ]


def last_line(log: Path) -> str:
    """The last non-blank line of a run's output (pytest's summary: what actually ran)."""
    lines = [line.strip("= ") for line in log.read_text(errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def counted(count: int, noun: str) -> str:
    """``1 case``, ``5,000 cases``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def pytest_argv(*args: str) -> tuple[str, ...]:
    """``python -m pytest -q`` with this interpreter, other installed plugins disabled."""
    return (sys.executable, "-m", "pytest", "-q", *inputs.other_plugins_off(), *args)


# -- the rows -------------------------------------------------------------------------------


def overhead(settings: Settings) -> Row:
    """Plugin installed but not enabled vs disabled with ``-p no:agent_readiness``."""
    count = settings.sizes.trivial_tests
    project = inputs.write_project(settings.workdir / "overhead")
    inputs.write_trivial_tests(project, count)
    return Row(
        name="overhead",
        title=f"{count:,} trivial tests: plugin installed, not enabled vs -p no:agent_readiness",
        kind="ratio",
        sides={
            SUBJECT: Side("installed, not enabled", pytest_argv(), project, count),
            FLOOR: Side(
                "-p no:agent_readiness", pytest_argv("-p", "no:agent_readiness"), project, count
            ),
        },
        target=Target("ratio_at_most", 1.02),
    )


# The floor of reading a manifest: parsing it with libyaml, as the plugin does.
LIBYAML_LOAD = (
    "import sys, yaml; yaml.load(open(sys.argv[1], encoding='utf-8'), Loader=yaml.CSafeLoader)"
)


def manifest(settings: Settings) -> Row:
    """``pytest --readiness`` on a generated fleet (static checks) vs libyaml parsing it."""
    agents, tools = settings.sizes.agents, settings.sizes.tools_per_agent
    sides: dict[str, Side] = {}
    for size in (agents, 1):
        project = inputs.write_project(settings.workdir / "manifest" / f"agents-{size}")
        path = inputs.write_manifest(project, size, tools)
        sides[f"{SUBJECT}@{size}"] = Side(
            f"pytest --readiness, {counted(size, 'agent')}",
            pytest_argv("--readiness", AS_OF),
            project,
        )
        sides[f"{FLOOR}@{size}"] = Side(
            f"yaml.CSafeLoader, {counted(size, 'agent')}",
            (sys.executable, "-c", LIBYAML_LOAD, str(path)),
            project,
        )
    return Row(
        name="manifest",
        title=f"pytest --readiness, {agents} agents x {tools} tools (static checks only) vs "
        "libyaml (yaml.CSafeLoader) parsing the same file",
        kind="per_unit",
        sides=sides,
        target=Target("seconds_at_most", 2.0),
        unit="agent",
        size=agents,
    )


# The stub ignores the run-time probes' scripted sessions, so the kill-switch probe waits out its
# deadline; a 1 s deadline keeps that artifact from dominating the comparison.
ADVERSARIAL_SUBJECT_ARGS = ("--readiness", AS_OF, "--readiness-probe-timeout=1")


def stub_label(work: float) -> str:
    """The stub agent doing ``work`` ms of CPU work a call, as the titles name it."""
    return f"stub agent doing {work:g} ms of CPU work per call" if work > 0 else "stub agent"


def case_sides(settings: Settings, sizes: Sequence[int]) -> dict[str, Side]:
    """The plugin in guardrail mode and its floor (bare tests, cases inline) at each size."""
    sides: dict[str, Side] = {}
    for size in sizes:
        readiness, bare = inputs.write_adversarial_projects(
            settings.workdir / "adversarial" / f"cases-{size}", size, settings.sizes.stub_work_ms
        )
        sides[f"{SUBJECT}@{size}"] = Side(
            f"pytest --readiness, {counted(size, 'case')}",
            pytest_argv(*ADVERSARIAL_SUBJECT_ARGS),
            readiness,
            size,
        )
        sides[f"{FLOOR}@{size}"] = Side(
            f"bare pytest, {counted(size, 'inline case')}",
            pytest_argv("-p", "no:agent_readiness"),
            bare,
            size,
        )
    return sides


def startup(settings: Settings) -> Row:
    """The fixed cost: ``pytest --readiness`` on one case over bare pytest on the same case."""
    return Row(
        name="startup",
        title="fixed cost: pytest --readiness on a one-case project "
        f"({stub_label(settings.sizes.stub_work_ms)}, with its probes and static checks) over "
        "bare pytest running the case inline",
        kind="fixed",
        sides=case_sides(settings, (1,)),
        target=Target("fixed_at_most", 0.15),
        group="cases",
    )


def adversarial(settings: Settings) -> Row:
    """Per case: guardrail-mode suites against a stub agent vs bare inline parametrized tests."""
    count = settings.sizes.adversarial_cases
    return Row(
        name="adversarial",
        title=f"per case, {count:,} adversarial cases in guardrail mode against the "
        f"{stub_label(settings.sizes.stub_work_ms)} vs bare parametrized tests with the cases "
        "inline",
        kind="per_unit",
        sides=case_sides(settings, (count, 1)),
        target=Target("ratio_at_most", 1.5),
        group="cases",
        unit="case",
        size=count,
        max_repeats=5,
    )


def xdist(settings: Settings) -> Row:
    """The guardrail-mode adversarial run with ``-n 2`` vs serial (``-n 0``)."""
    return _xdist_row(settings, bare=False)


def xdist_bare(settings: Settings) -> Row:
    """What pytest-xdist itself gains on the same cases as bare parametrized tests: the ceiling
    to read the plugin's own speedup against (no target of its own)."""
    return _xdist_row(settings, bare=True)


def _xdist_row(settings: Settings, *, bare: bool) -> Row:
    count, work = settings.sizes.xdist_cases, settings.sizes.xdist_work_ms
    readiness, bare_project = inputs.write_adversarial_projects(
        settings.workdir / "xdist" / f"cases-{count}", count, work
    )
    args: tuple[str, ...] = ()
    if bare:
        name, project, target = "xdist-bare", bare_project, Target("reference", 0)
        what = f"for reference, {count:,} bare parametrized tests of the same call to the"
    else:
        name, args, project = "xdist", ADVERSARIAL_SUBJECT_ARGS, readiness
        target = Target("speedup_at_least", 1.6)
        what = f"pytest --readiness, {count:,} adversarial cases in guardrail mode against the"
    return Row(
        name=name,
        title=f"{what} {stub_label(work)}: -n 2 vs serial (-n 0), wall time",
        kind="speedup",
        sides={
            SUBJECT: Side("-n 2", pytest_argv(*args, "-n", "2"), project, count),
            FLOOR: Side("serial", pytest_argv(*args, "-n", "0"), project, count),
        },
        target=target,
        max_repeats=2,
    )


BUILDERS: dict[str, Callable[[Settings], Row]] = {
    "overhead": overhead,
    "manifest": manifest,
    "startup": startup,
    "adversarial": adversarial,
    "xdist": xdist,
    "xdist-bare": xdist_bare,
}


# -- output ---------------------------------------------------------------------------------


def _side_line(label: str, samples: Sequence[Sample]) -> str:
    cpu = statistics.median(s.cpu_s for s in samples)
    wall = statistics.median(s.wall_s for s in samples)
    spread = f"{min(s.cpu_s for s in samples):.3f}-{max(s.cpu_s for s in samples):.3f}"
    rss = max(s.peak_rss_mb for s in samples)
    codes = ",".join(str(code) for code in sorted({s.exit_code for s in samples}))
    return (
        f"  {label:<36} CPU {cpu:7.3f} s (range {spread})  wall {wall:7.3f} s  "
        f"peak RSS {rss:6.1f} MB  exit {codes}"
    )


def verdict_text(outcome: Outcome) -> str:
    """The row's figure, target and verdict: the text after ``ratio line: ``."""
    row, figure = outcome.row, outcome.figure
    verdict = "-" if row.target.kind == "reference" else "PASS" if outcome.passed else "MISS"
    if row.kind == "speedup":
        text = f"speedup {figure:.2f} (serial/parallel)"
    elif row.kind == "fixed":
        text = f"fixed cost {figure:+.3f} s CPU over bare pytest"
    elif row.kind == "per_unit":
        text = (
            f"per-{row.unit} ratio {outcome.per_unit_ratio:.2f}"
            if outcome.measurable
            else f"per-{row.unit} floor not above zero: noise, measure more {row.unit}s or rounds"
        )
        if row.target.kind == "seconds_at_most":
            text = f"median {figure:.3f} s CPU at {row.size:,} {row.unit}s, {text}"
    else:
        text = f"ratio {figure:.3f}"
    return f"{text}; target {row.target.describe()}: {verdict}"


def report(outcome: Outcome) -> list[str]:
    """The lines printed for one row, ending with its ratio line."""
    row = outcome.row
    lines = [f"[{row.name}] {row.title}"]
    lines += [_side_line(side.label, outcome.samples[key]) for key, side in row.sides.items()]
    subject = next(key for key in row.sides if key.startswith(SUBJECT))
    if outcome.said[subject]:
        lines.append(f"  {row.sides[subject].label}, last line: {outcome.said[subject]}")
    if row.kind == "per_unit":
        lines.append(
            f"  per {row.unit}: plugin {outcome.per_unit_ms(SUBJECT):.3f} ms CPU, floor "
            f"{outcome.per_unit_ms(FLOOR):.3f} ms CPU ((T_{row.size} - T_1) / {row.size - 1})"
        )
    if row.kind == "fixed":
        lines.append(
            f"  one case: plugin {outcome.cpu(f'{SUBJECT}@1'):.3f} s CPU, floor "
            f"{outcome.cpu(f'{FLOOR}@1'):.3f} s CPU"
        )
    runs = len(next(iter(outcome.samples.values())))
    lines.append(f"  ratio line: {verdict_text(outcome)}  [{runs} interleaved runs per side]")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small inputs, 2 repeats")
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated subset of: {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--repeat", type=int, default=None, help="runs per side (after warm-up)")
    parser.add_argument("--tests", type=int, default=None, help="number of trivial tests")
    parser.add_argument("--agents", type=int, default=None, help="agents in the manifest (>= 2)")
    parser.add_argument("--cases", type=int, default=None, help="adversarial cases (>= 2)")
    parser.add_argument(
        "--stub-work-ms",
        type=float,
        default=0.0,
        help="CPU milliseconds the stub agent spends per call in the startup and adversarial "
        "rows (default 0, the issue's stub)",
    )
    parser.add_argument(
        "--xdist-cases", type=int, default=None, help="cases of the xdist rows (default 600)"
    )
    parser.add_argument(
        "--xdist-work-ms",
        type=float,
        default=None,
        help="CPU milliseconds the stub agent spends per call in the xdist rows (default 20: "
        "cases that do real work)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds one run may take (default 60)"
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="leave this package's bytecode as it is (none in a fresh editable checkout)",
    )
    parser.add_argument("--keep", type=Path, default=None, help="build inputs here and keep them")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only.split(",")) - set(BENCHMARKS))
    if unknown:
        parser.error(f"--only: unknown benchmark {unknown[0]!r} (expected {', '.join(BENCHMARKS)})")
    for option in ("agents", "cases", "xdist_cases"):
        value = getattr(args, option)
        if value is not None and value < 2:
            # A per-unit figure is a difference between N and 1.
            parser.error(f"--{option.replace('_', '-')}: expected at least 2, got {value}")
    return args


def settings_from(args: argparse.Namespace, workdir: Path) -> Settings:
    """Sizes and repeats from the command line: ``--quick`` defaults, then explicit overrides."""
    base = inputs.QUICK if args.quick else inputs.FULL
    sizes = dataclasses.replace(
        base,
        trivial_tests=args.tests if args.tests is not None else base.trivial_tests,
        agents=args.agents if args.agents is not None else base.agents,
        adversarial_cases=args.cases if args.cases is not None else base.adversarial_cases,
        stub_work_ms=args.stub_work_ms,
        xdist_cases=args.xdist_cases if args.xdist_cases is not None else base.xdist_cases,
        xdist_work_ms=args.xdist_work_ms if args.xdist_work_ms is not None else base.xdist_work_ms,
    )
    repeats = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    timeout = args.timeout if args.timeout is not None else (30.0 if args.quick else 60.0)
    return Settings(sizes=sizes, repeats=max(1, repeats), timeout_s=timeout, workdir=workdir)


def compile_package() -> str:
    """Compile this package's modules to bytecode in place, as installing its wheel does; what
    the header says about it."""
    spec = importlib.util.find_spec("pytest_agent_readiness")
    if spec is None or not spec.submodule_search_locations:
        return "package not found"
    folder = Path(next(iter(spec.submodule_search_locations)))
    if not compileall.compile_dir(folder, quiet=1):
        return f"package bytecode could not be written in {folder}"
    return "package bytecode compiled (as installing the wheel does)"


def load_text() -> str:
    """The machine's load averages (1, 5, 15 minutes), where the platform has them."""
    try:
        return "load " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "load unknown"


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Every selected benchmark in order; 0 when all measured ones reach their targets."""
    settings = settings_from(args, workdir)
    cache = "not written (PYTHONDONTWRITEBYTECODE)" if sys.dont_write_bytecode else "written"
    compiled = "package bytecode left as it is (--no-compile)"
    if not args.no_compile:
        compiled = compile_package()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {load_text()}, bytecode "
        f"{cache}, {compiled}, {settings.repeats} rounds after a warm-up, inputs in {workdir}",
        flush=True,
    )
    print(
        f"other pytest plugins disabled on both sides: {', '.join(inputs.other_plugins()) or '-'}"
    )
    selected = [name for name in BENCHMARKS if name in args.only.split(",")]
    rows = {name: BUILDERS[name](settings) for name in selected}
    groups: dict[str, list[Row]] = {}
    for row in rows.values():
        groups.setdefault(row.group or row.name, []).append(row)
    outcomes: dict[str, Outcome | BenchError] = {}
    for group in groups.values():
        started = time.perf_counter()
        try:
            for outcome in measure(group, settings):
                outcomes[outcome.row.name] = outcome
        except BenchError as error:
            for row in group:
                outcomes[row.name] = error
        took = time.perf_counter() - started
        for row in group:
            result = outcomes[row.name]
            if isinstance(result, BenchError):
                print(f"[{row.name}] MISS: could not measure: {result}", flush=True)
                continue
            for line in report(result):
                print(line, flush=True)
        print(f"  ({took:.0f} s for {', '.join(row.name for row in group)})", flush=True)
    print(f"summary ({load_text()}):")
    missed = False
    for name in selected:
        result = outcomes[name]
        if isinstance(result, BenchError):
            print(f"  {name:<12} MISS (not measured: see above)")
            missed = True
        else:
            print(f"  {name:<12} {verdict_text(result)}")
            missed = missed or not result.passed
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python bench/run.py``."""
    args = parse_args(argv)
    return inputs.in_workdir(args.keep, "readiness-bench-", lambda workdir: run(args, workdir))


if __name__ == "__main__":
    sys.exit(main())
