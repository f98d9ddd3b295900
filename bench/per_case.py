"""CPU per adversarial case: the plugin's guardrail run against its floor, side by side.

    python bench/per_case.py                    # N=500 vs N=1, 5 interleaved rounds
    python bench/per_case.py --cases 2000 --repeat 3
    python bench/per_case.py --profile out.prof # one cProfile run of the plugin side at N
    git archive COMMIT src | tar -x -C /tmp/old && \
    python bench/per_case.py --compare-src /tmp/old/src  # that commit's plugin, same rounds

Per case = (T_N - T_1) / (N - 1), T the CPU time (user + sys, ``os.wait4``: the process and
the children it reaped) of a whole ``pytest`` process, so start-up cancels out and only what
grows with the cases counts. Two sides, built from ``inputs.py`` like ``run.py``'s adversarial
row (same stub agent, same renumbered built-in cases):

- plugin: ``pytest --readiness`` in guardrail mode, the cases in suite files;
- floor: bare pytest, the same cases written inline in the test module as a literal list and
  parametrized over, each test making the same stub call and canary check (no YAML parsed per
  run: the cheapest a pytest test per case can be).

The four runs (plugin N, plugin 1, floor N, floor 1) go round-robin, the order rotating each
round, so load on the shared machine hits every side alike; the script prints each side's
median per-case CPU and their ratio (target <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# bench/ is not a package: it runs from a checkout, next to inputs.py.
import inputs

SUBJECT_ARGS = ("--readiness", f"--readiness-as-of={inputs.AS_OF}", "--readiness-probe-timeout=1")
TARGET = 1.5

Side = tuple[tuple[str, ...], Path, dict[str, str]]  # argv, directory, extra environment


def cpu_seconds(argv: Sequence[str], cwd: Path, log: Path, extra_env: dict[str, str]) -> float:
    """User + sys CPU of one run of ``argv`` (and any child it reaped, e.g. xdist workers)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env.update(extra_env)
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=out, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"{' '.join(argv)} in {cwd}: exit {code}\n" + "\n".join(tail))
    return usage.ru_utime + usage.ru_stime


def _ratio(subject: float, floor: float) -> float:
    """``subject / floor``; infinite when noise left the floor no cost per case to divide by."""
    return subject / floor if floor > 0 else float("inf")


def _shown(ratio: float) -> str:
    """A ratio for the printout: noise that left the floor no per-case cost is said as such."""
    return f"{ratio:.2f}" if ratio != float("inf") else "n/a (the floor's per-case cost is noise)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python bench/per_case.py``."""
    args = parse_args(argv)
    return inputs.in_workdir(args.keep, "readiness-per-case-", lambda workdir: run(args, workdir))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=500, help="N (default 500)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds after a warm-up")
    parser.add_argument("--stub-work-ms", type=float, default=0.0)
    parser.add_argument("--keep", type=Path, default=None, help="build inputs here and keep them")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile the plugin at N")
    parser.add_argument("--pytest-args", default="", help="extra args for both sides, e.g. -n 2")
    parser.add_argument(
        "--compare-src",
        type=Path,
        default=None,
        help="also measure the plugin imported from this src/ folder (e.g. an older commit's, "
        "from git archive), as a third side in the same rounds",
    )
    args = parser.parse_args(argv)
    if args.cases < 2:
        parser.error("--cases: at least 2")
    return args


def run(args: argparse.Namespace, root: Path) -> int:
    """Build the inputs under ``root``, measure, print; 0 when the ratio meets the target."""
    extra = tuple(args.pytest_args.split())
    python = (sys.executable, "-m")
    sides: dict[str, Side] = {}
    compared = {} if args.compare_src is None else {"PYTHONPATH": str(args.compare_src.resolve())}
    for n in (args.cases, 1):
        # The floor: the bare project, its cases inline (nothing parsed at run time).
        plugin, floor = inputs.write_adversarial_projects(root / f"n{n}", n, args.stub_work_ms)
        pytest_q = (*python, "pytest", "-q", *inputs.other_plugins_off())
        subject = (*pytest_q, *SUBJECT_ARGS, *extra)
        sides[f"plugin@{n}"] = (subject, plugin, {})
        sides[f"floor@{n}"] = ((*pytest_q, *extra), floor, {})
        if compared:
            sides[f"compared@{n}"] = (subject, plugin, compared)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    if args.profile is not None:
        argv_, cwd, _ = sides[f"plugin@{args.cases}"]
        profiled = (sys.executable, "-m", "cProfile", "-o", str(args.profile.resolve()), *argv_[1:])
        print(
            f"{cpu_seconds(profiled, cwd, logs / 'profile.log', {}):.3f} s CPU, profile in "
            f"{args.profile}"
        )
        return 0
    names = list(sides)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm-up: imports compiled, files in the page cache
        argv_, cwd, env = sides[name]
        cpu_seconds(argv_, cwd, logs / f"{name}-warmup.log", env)
    for round_ in range(args.repeat):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            argv_, cwd, env = sides[name]
            samples[name].append(cpu_seconds(argv_, cwd, logs / f"{name}.log", env))
    median = {name: statistics.median(values) for name, values in samples.items()}
    per_case = {
        side: (median[f"{side}@{args.cases}"] - median[f"{side}@1"]) / (args.cases - 1) * 1000
        for side in ("plugin", "floor", *(("compared",) if compared else ()))
    }
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, N={args.cases}, "
        f"{args.repeat} interleaved rounds, inputs in {root}"
    )
    for name in names:
        spread = ", ".join(f"{v:.3f}" for v in samples[name])
        print(f"  {name:<14} median CPU {median[name]:7.3f} s  ({spread})")
    ratio = _ratio(per_case["plugin"], per_case["floor"])
    # The same figure within each round (its four runs ran back to back): less exposed to
    # load that changed between rounds.
    paired = statistics.median(
        _ratio(
            samples[f"plugin@{args.cases}"][r] - samples["plugin@1"][r],
            samples[f"floor@{args.cases}"][r] - samples["floor@1"][r],
        )
        for r in range(args.repeat)
    )
    met = 0 < ratio <= TARGET  # a negative figure is noise, not a pass
    verdict = "PASS" if met else "MISS"
    print(
        f"  per case: plugin {per_case['plugin']:.3f} ms CPU, floor {per_case['floor']:.3f} ms "
        f"CPU; ratio {_shown(ratio)}; target <= {TARGET:g}: {verdict}"
    )
    print(f"  ratio within each round, median: {_shown(paired)}")
    if compared:
        print(
            f"  compared ({args.compare_src}): {per_case['compared']:.3f} ms CPU per case; "
            f"ratio to the floor {_shown(_ratio(per_case['compared'], per_case['floor']))}"
        )
    fixed = median["plugin@1"] - median["floor@1"]
    print(f"  fixed cost (1 case): plugin - floor = {fixed:+.3f} s CPU")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
