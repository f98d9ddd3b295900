"""`python bench/run.py` runs from a checkout; its figures are printed, never asserted here."""

from __future__ import annotations

import re
import subprocess
import sys

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


def test_quick_overhead_benchmark_prints_its_ratio_line() -> None:
    result = bench("--quick", "--only", "overhead", "--tests", "20")
    assert re.search(
        r"^  ratio line: ratio \d+\.\d{3}; target ratio <= 1\.02: (PASS|MISS)",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert "20 passed" in result.stdout


def test_quick_xdist_benchmarks_print_speedups_with_a_working_stub() -> None:
    result = bench("--only", "xdist,xdist-bare", "--cases", "20", "--stub-work-ms", "1")
    assert "stub agent doing 1 ms of CPU work per call" in result.stdout
    assert re.search(
        r"^  ratio line: speedup \d+\.\d{2} \(serial/parallel\); target speedup >= 1\.6: "
        r"(PASS|MISS)",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    assert re.search(r"target none \(for reference\): -", result.stdout), result.stdout
    # Both subjects ran every case (the bench refuses a subject that ran fewer).
    assert "could not measure" not in result.stdout
