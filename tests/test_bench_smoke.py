"""`python bench/run.py` runs from a checkout; its figures are printed, never asserted here."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from conftest import REPO


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    """``python bench/run.py ARGS`` from the checkout, one measured run per side."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--repeat", "1", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 1 is a MISS on a busy machine: timings are reported, not tested.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result


def ratio_line(row: str, stdout: str) -> str:
    """The figure, target and verdict the summary prints for ``row``."""
    match = re.search(rf"^  {re.escape(row)} +(.+)$", stdout.split("\nsummary", 1)[1], re.M)
    assert match, stdout
    return match.group(1)


def test_quick_overhead_benchmark_prints_its_ratio_line() -> None:
    result = bench("--quick", "--only", "overhead", "--tests", "20")
    assert re.search(
        r"^  ratio line: ratio \d+\.\d{3}; target ratio <= 1\.02: (PASS|MISS)",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert "20 passed" in result.stdout
    # Neither side pays for the other plugins installed here (pytest-cov, pytest-randomly, ...).
    others = {ep.name for ep in entry_points(group="pytest11")}
    others -= {"agent_readiness", "xdist", "xdist.looponfail"}
    assert {"pytest_cov", "randomly"} <= others
    assert f"other pytest plugins disabled on both sides: {', '.join(sorted(others))}\n" in (
        result.stdout
    )


def test_floor_rows_measure_the_plugin_against_inline_cases_and_libyaml(tmp_path: Path) -> None:
    # The bench compiles the package's modules first, as installing its wheel does.
    spec = importlib.util.find_spec("pytest_agent_readiness")
    assert spec is not None and spec.origin is not None
    compiled = Path(importlib.util.cache_from_source(str(Path(spec.origin).parent / "runplan.py")))
    compiled.unlink(missing_ok=True)
    result = bench(
        "--quick",
        *("--only", "manifest,startup,adversarial", "--cases", "5", "--agents", "2"),
        *("--keep", str(tmp_path)),
    )
    out = result.stdout
    assert "package bytecode compiled (as installing the wheel does)" in out.splitlines()[0]
    assert compiled.is_file()
    # Every side ran every test it had to (the bench refuses a side that ran fewer).
    assert "could not measure" not in out, out
    for side in (
        "pytest --readiness, 5 cases",
        "pytest --readiness, 1 case",
        "bare pytest, 5 inline cases",
        "bare pytest, 1 inline case",
        "pytest --readiness, 2 agents",
        "yaml.CSafeLoader, 2 agents",
        "yaml.CSafeLoader, 1 agent",
    ):
        assert re.search(rf"^  {re.escape(side)} +CPU +\d+\.\d{{3}} s", out, re.M), side
    number = r"-?\d+\.\d{3}"
    for unit, size in (("case", 5), ("agent", 2)):
        assert re.search(
            rf"^  per {unit}: plugin {number} ms CPU, floor {number} ms CPU "
            rf"\(\(T_{size} - T_1\) / {size - 1}\)$",
            out,
            re.M,
        ), out
    assert re.fullmatch(
        r"fixed cost [+-]\d+\.\d{3} s CPU over bare pytest; target <= \+0\.15 s CPU: "
        r"(PASS|MISS)",
        ratio_line("startup", out),
    )
    # Five cases are too few for a stable difference: the floor may come out at or below zero,
    # and the row says so instead of printing a meaningless ratio.
    assert re.fullmatch(
        r"(per-case ratio -?\d+\.\d{2}|per-case floor not above zero: noise, measure more "
        r"cases or rounds); target ratio <= 1\.5: (PASS|MISS)",
        ratio_line("adversarial", out),
    )
    assert re.fullmatch(
        r"median \d+\.\d{3} s CPU at 2 agents, (per-agent ratio -?\d+\.\d{2}|"
        r"per-agent floor not above zero: noise, measure more agents or rounds); "
        r"target median < 2 s CPU: (PASS|MISS)",
        ratio_line("manifest", out),
    )
    # The floor has its cases inline: a literal in the test module, no YAML read at run time.
    floor = tmp_path / "adversarial" / "cases-5" / "bare-cases" / "tests" / "test_cases.py"
    text = floor.read_text(encoding="utf-8")
    assert "yaml" not in text
    assert all(f"'BENCH-{n:05d}'" in text for n in range(5))


def test_quick_xdist_benchmarks_print_speedups_on_cases_that_do_work() -> None:
    result = bench("--quick", "--only", "xdist,xdist-bare", "--xdist-cases", "20")
    # Their own workload: cases that do real work (--xdist-work-ms), not the do-nothing stub.
    assert "20 adversarial cases in guardrail mode against the stub agent doing 5 ms" in (
        result.stdout
    )
    assert re.search(
        r"^  ratio line: speedup \d+\.\d{2} \(serial/parallel\); target speedup >= 1\.6: "
        r"(PASS|MISS)",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert re.search(r"target none \(for reference\): -", result.stdout), result.stdout
    # Both subjects ran every case (the bench refuses a subject that ran fewer).
    assert "could not measure" not in result.stdout
