"""Benchmarks of pytest-agent-readiness: one command, inputs built in a scratch directory.

    python bench/run.py                 # every benchmark, full size (under 5 minutes, 2 cores)
    python bench/run.py --quick         # small inputs, few repeats: a smoke run
    python bench/run.py --only overhead,manifest

Each comparison runs its two sides as subprocesses of this Python, back to back and interleaved
(A B, B A, ...) after one warm-up run each, so drift in machine load hits both sides alike. It
prints the median wall time of each side, their ratio, the target and PASS or MISS, and the peak
RSS of each side (``os.wait4``: the largest resident set of the process or any child it reaped,
so for ``-n 2`` the largest single process, not the sum of the workers).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: it runs from a checkout, next to inputs.py.
import inputs

TargetKind = Literal["ratio_at_most", "seconds_at_most", "speedup_at_least", "reference"]
BENCHMARKS = ("overhead", "manifest", "adversarial", "xdist", "xdist-bare")
AS_OF = f"--readiness-as-of={inputs.AS_OF}"
# pytest exit codes a benchmark side may end with: 0 passed, 1 tests failed (a fleet that is
# not ready fails its gate). 2 interrupted, 3 internal error, 4 usage error, 5 no tests: broken.
ACCEPTED_EXIT_CODES = frozenset({0, 1})


class BenchError(Exception):
    """A benchmark side could not be measured (it crashed, or ran past its time limit)."""


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a command run in a directory."""

    label: str
    argv: tuple[str, ...]
    cwd: Path


@dataclass(frozen=True)
class Sample:
    """One run of one side."""

    seconds: float
    peak_rss_mb: float
    exit_code: int


@dataclass(frozen=True)
class Target:
    """What the comparison must reach; ``limit`` is a ratio, seconds or a speedup."""

    kind: TargetKind
    limit: float

    def describe(self) -> str:
        """The target as printed, e.g. ``ratio <= 1.02``."""
        return {
            "ratio_at_most": f"ratio <= {self.limit:g}",
            "seconds_at_most": f"median < {self.limit:g} s",
            "speedup_at_least": f"speedup >= {self.limit:g}",
            "reference": "none (for reference)",
        }[self.kind]


@dataclass(frozen=True)
class Comparison:
    """A subject measured against a baseline."""

    name: str
    title: str
    subject: Side
    baseline: Side
    target: Target
    # The slowest comparison runs fewer times, so the whole run stays under 5 minutes.
    max_repeats: int | None = None
    # Tests the subject must have run (from its summary line), so it cannot pass by running
    # nothing.
    min_items: int = 0


@dataclass(frozen=True)
class Outcome:
    """The measured result of one comparison."""

    comparison: Comparison
    subject: tuple[Sample, ...]
    baseline: tuple[Sample, ...]
    subject_said: str = ""

    @property
    def subject_median(self) -> float:
        return statistics.median(s.seconds for s in self.subject)

    @property
    def baseline_median(self) -> float:
        return statistics.median(s.seconds for s in self.baseline)

    @property
    def ratio(self) -> float:
        """Subject time over baseline time (for xdist: parallel over serial)."""
        return self.subject_median / self.baseline_median

    @property
    def passed(self) -> bool:
        target = self.comparison.target
        if target.kind == "ratio_at_most":
            return self.ratio <= target.limit
        if target.kind == "seconds_at_most":
            return self.subject_median < target.limit
        if target.kind == "reference":
            return True
        return 1 / self.ratio >= target.limit


@dataclass(frozen=True)
class Settings:
    """Sizes, repeats and limits of one benchmark run."""

    sizes: inputs.Sizes
    repeats: int
    timeout_s: float
    workdir: Path


def run_once(side: Side, timeout_s: float, log: Path) -> Sample:
    """Run ``side`` once; its wall time, peak RSS and exit code. Output goes to ``log``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    killed = threading.Event()
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(side.argv, cwd=side.cwd, stdout=out, stderr=out, env=env)

        def kill() -> None:
            killed.set()
            process.kill()

        # A blocking wait4 (timed to the exit, no polling) and a timer that kills a runaway.
        timer = threading.Timer(timeout_s, kill)
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
        raise BenchError(f"{side.label}: still running after {timeout_s:g} s (killed); see {log}")
    if exit_code not in ACCEPTED_EXIT_CODES:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise BenchError(
            f"{side.label}: exit code {exit_code}, expected 0 or 1; last lines of {log}:\n"
            + "\n".join(f"    {line}" for line in tail)
        )
    # ru_maxrss is kilobytes on Linux and bytes on macOS.
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return Sample(seconds, usage.ru_maxrss / scale, exit_code)


def measure(comparison: Comparison, settings: Settings) -> Outcome:
    """One warm-up run per side, then ``repeats`` interleaved runs of each (A B, B A, ...)."""
    logs = settings.workdir / "logs"
    logs.mkdir(exist_ok=True)
    sides = {"subject": comparison.subject, "baseline": comparison.baseline}
    samples: dict[str, list[Sample]] = {"subject": [], "baseline": []}
    for key, side in sides.items():
        run_once(side, settings.timeout_s, logs / f"{comparison.name}-{key}-warmup.log")
    repeats = min(settings.repeats, comparison.max_repeats or settings.repeats)
    for repeat in range(repeats):
        order = ("subject", "baseline") if repeat % 2 == 0 else ("baseline", "subject")
        for key in order:
            log = logs / f"{comparison.name}-{key}.log"
            samples[key].append(run_once(sides[key], settings.timeout_s, log))
    said = last_line(logs / f"{comparison.name}-subject.log")
    ran = sum(int(n) for n in re.findall(r"(\d+) (?:passed|failed|skipped|xfailed|xpassed)", said))
    if ran < comparison.min_items:
        raise BenchError(f"the subject ran {ran} tests, expected at least {comparison.min_items}")
    return Outcome(comparison, tuple(samples["subject"]), tuple(samples["baseline"]), said)


def last_line(log: Path) -> str:
    """The last non-blank line of a run's output (pytest's summary: what actually ran)."""
    lines = [line.strip("= ") for line in log.read_text(errors="replace").splitlines()]
    return next((line for line in reversed(lines) if line), "")


def pytest_argv(*args: str) -> tuple[str, ...]:
    """``python -m pytest -q`` with this interpreter."""
    return (sys.executable, "-m", "pytest", "-q", *args)


# -- the comparisons ------------------------------------------------------------------------


def overhead(settings: Settings) -> Comparison:
    """Plugin installed but not enabled vs disabled with ``-p no:agent_readiness``."""
    project = inputs.write_project(settings.workdir / "overhead")
    inputs.write_trivial_tests(project, settings.sizes.trivial_tests)
    return Comparison(
        name="overhead",
        title=f"{settings.sizes.trivial_tests:,} trivial tests: plugin installed, not enabled "
        "vs -p no:agent_readiness",
        subject=Side("installed, not enabled", pytest_argv(), project),
        baseline=Side("-p no:agent_readiness", pytest_argv("-p", "no:agent_readiness"), project),
        target=Target("ratio_at_most", 1.02),
    )


def manifest(settings: Settings) -> Comparison:
    """``pytest --readiness`` on a generated fleet (static checks) vs ``yaml.safe_load``."""
    sizes = settings.sizes
    project = inputs.write_project(settings.workdir / "manifest")
    path = inputs.write_manifest(project, sizes.agents, sizes.tools_per_agent)
    load = "import sys, yaml; yaml.safe_load(open(sys.argv[1], encoding='utf-8'))"
    return Comparison(
        name="manifest",
        title=f"pytest --readiness, {sizes.agents} agents x {sizes.tools_per_agent} tools "
        "(static checks only) vs yaml.safe_load of the same file",
        subject=Side("pytest --readiness", pytest_argv("--readiness", AS_OF), project),
        baseline=Side("yaml.safe_load", (sys.executable, "-c", load, str(path)), project),
        target=Target("seconds_at_most", 2.0),
    )


# The stub ignores the run-time probes' scripted sessions, so the kill-switch probe waits out its
# deadline; a 1 s deadline keeps that artifact from dominating the comparison.
ADVERSARIAL_SUBJECT_ARGS = ("--readiness", AS_OF, "--readiness-probe-timeout=1")


def stub_label(settings: Settings) -> str:
    """The stub agent as the titles name it."""
    work = settings.sizes.stub_work_ms
    return f"stub agent doing {work:g} ms of CPU work per call" if work > 0 else "stub agent"


def xdist(settings: Settings) -> Comparison:
    """The guardrail-mode adversarial run with ``-n 2`` vs serial (``-n 0``)."""
    return _xdist_comparison(settings, bare=False)


def xdist_bare(settings: Settings) -> Comparison:
    """What pytest-xdist itself gains on the same cases as bare parametrized tests: the ceiling
    to read the plugin's own speedup against (no target of its own)."""
    return _xdist_comparison(settings, bare=True)


def _xdist_comparison(settings: Settings, *, bare: bool) -> Comparison:
    count = settings.sizes.adversarial_cases
    readiness, bare_project = inputs.write_adversarial_projects(
        settings.workdir / "adversarial", count, settings.sizes.stub_work_ms
    )
    args: tuple[str, ...] = ()
    if bare:
        name, project, target = "xdist-bare", bare_project, Target("reference", 0)
        what = f"for reference, {count:,} bare parametrized tests of the same call to the"
    else:
        name, args, project = "xdist", ADVERSARIAL_SUBJECT_ARGS, readiness
        target = Target("speedup_at_least", 1.6)
        what = f"pytest --readiness, {count:,} adversarial cases in guardrail mode against the"
    return Comparison(
        name=name,
        title=f"{what} {stub_label(settings)}: -n 2 vs serial (-n 0)",
        subject=Side("-n 2", pytest_argv(*args, "-n", "2"), project),
        baseline=Side("serial", pytest_argv(*args, "-n", "0"), project),
        target=target,
        max_repeats=2,
        min_items=count,
    )


def adversarial(settings: Settings) -> Comparison:
    """Guardrail-mode suites against a stub agent vs bare parametrized tests of the same call."""
    count = settings.sizes.adversarial_cases
    readiness, bare = inputs.write_adversarial_projects(
        settings.workdir / "adversarial", count, settings.sizes.stub_work_ms
    )
    return Comparison(
        name="adversarial",
        title=f"{count:,} adversarial cases, guardrail mode, {stub_label(settings)} vs "
        f"{count:,} bare parametrized tests doing the same call",
        subject=Side(
            "pytest --readiness (guardrail)", pytest_argv(*ADVERSARIAL_SUBJECT_ARGS), readiness
        ),
        baseline=Side("bare parametrized", pytest_argv(), bare),
        target=Target("ratio_at_most", 1.5),
        max_repeats=3,
        min_items=count,
    )


BUILDERS: dict[str, Callable[[Settings], Comparison]] = {
    "overhead": overhead,
    "manifest": manifest,
    "adversarial": adversarial,
    "xdist": xdist,
    "xdist-bare": xdist_bare,
}


# -- output ---------------------------------------------------------------------------------


def _side_line(label: str, samples: Sequence[Sample]) -> str:
    median = statistics.median(s.seconds for s in samples)
    spread = f"{min(s.seconds for s in samples):.3f}-{max(s.seconds for s in samples):.3f}"
    rss = max(s.peak_rss_mb for s in samples)
    codes = ",".join(str(code) for code in sorted({s.exit_code for s in samples}))
    return (
        f"  {label:<32} median {median:7.3f} s  (range {spread} s)  "
        f"peak RSS {rss:6.1f} MB  exit {codes}"
    )


def report(outcome: Outcome) -> list[str]:
    """The lines printed for one comparison, ending with its ratio line."""
    comparison = outcome.comparison
    verdict = "PASS" if outcome.passed else "MISS"
    if comparison.target.kind == "reference":
        verdict = "-"
    if comparison.target.kind in ("speedup_at_least", "reference"):
        figure = f"speedup {1 / outcome.ratio:.2f} (serial/parallel)"
    else:
        figure = f"ratio {outcome.ratio:.3f}"
        if comparison.target.kind == "seconds_at_most":
            figure += f", absolute median {outcome.subject_median:.3f} s"
    return [
        f"[{comparison.name}] {comparison.title}",
        _side_line(comparison.subject.label, outcome.subject),
        _side_line(comparison.baseline.label, outcome.baseline),
        f"  subject's last line: {outcome.subject_said}",
        f"  ratio line: {figure}; target {comparison.target.describe()}: {verdict}"
        f"  [{len(outcome.subject)} interleaved runs per side]",
    ]


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
    parser.add_argument("--agents", type=int, default=None, help="agents in the manifest")
    parser.add_argument("--cases", type=int, default=None, help="adversarial cases")
    parser.add_argument(
        "--stub-work-ms",
        type=float,
        default=0.0,
        help="CPU milliseconds the stub agent spends per call (default 0, the issue's stub)",
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds one run may take (default 60)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="build inputs here and keep them")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only.split(",")) - set(BENCHMARKS))
    if unknown:
        parser.error(f"--only: unknown benchmark {unknown[0]!r} (expected {', '.join(BENCHMARKS)})")
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
    )
    repeats = args.repeat if args.repeat is not None else (2 if args.quick else 5)
    timeout = args.timeout if args.timeout is not None else (30.0 if args.quick else 60.0)
    return Settings(sizes=sizes, repeats=max(1, repeats), timeout_s=timeout, workdir=workdir)


def run(args: argparse.Namespace, workdir: Path) -> int:
    """Every selected benchmark in order; 0 when all measured ones reach their targets."""
    settings = settings_from(args, workdir)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {settings.repeats} runs per "
        f"side after a warm-up, inputs in {workdir}",
        flush=True,
    )
    summary: list[str] = []
    missed = False
    for name in BENCHMARKS:
        if name not in args.only.split(","):
            continue
        started = time.perf_counter()
        try:
            outcome = measure(BUILDERS[name](settings), settings)
        except BenchError as error:
            print(f"[{name}] MISS: could not measure: {error}", flush=True)
            summary.append(f"  {name:<12} MISS (not measured: see above)")
            missed = True
            continue
        for line in report(outcome):
            print(line, flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s for this benchmark)", flush=True)
        summary.append(f"  {name:<12} {report(outcome)[-1].split(': ', 1)[1]}")
        missed = missed or not outcome.passed
    print("summary:")
    for line in summary:
        print(line)
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python bench/run.py``."""
    args = parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="readiness-bench-") as scratch:
        return run(args, Path(scratch))


if __name__ == "__main__":
    sys.exit(main())
