"""Readiness items in pytest's run: the hooks they go through, and the per-case benchmark."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import READY_EXAMPLE, REPO, copy_example

AS_OF = "--readiness-as-of=2026-11-25"
RECORDER = """
def pytest_runtest_setup(item):
    with open({record!r}, "a", encoding="utf-8") as out:
        out.write({where!r} + " " + item.nodeid + "\\n")
"""


def test_readiness_items_go_through_the_conftests_of_the_manifests_directory_only(
    pytester: pytest.Pytester,
) -> None:
    """Readiness items share one hook relay per run: a conftest above the manifest still sees
    them, one in a subfolder (``tests/conftest.py``, next to the adapter) still does not."""
    copy_example(pytester, READY_EXAMPLE)
    record = str(pytester.path / "setups.txt")
    below = pytester.path / "tests" / "conftest.py"
    below.write_text(
        below.read_text(encoding="utf-8") + RECORDER.format(record=record, where="tests"),
        encoding="utf-8",
    )
    (pytester.path / "conftest.py").write_text(
        RECORDER.format(record=record, where="root"), encoding="utf-8"
    )
    result = pytester.runpytest_subprocess("--readiness", AS_OF, "-p", "no:randomly")
    assert result.ret == 0, result.stdout.str()
    seen = [line.split(" ", 1) for line in (pytester.path / "setups.txt").read_text().splitlines()]
    readiness = {nodeid for where, nodeid in seen if nodeid.startswith("agent-readiness.yaml::")}
    assert any("::adversarial-" in nodeid for nodeid in readiness)
    assert any("::probe-" in nodeid for nodeid in readiness)
    assert {nodeid for where, nodeid in seen if where == "root"} >= readiness
    assert not {nodeid for where, nodeid in seen if where == "tests"} & readiness
    # The project's own tests go through both.
    assert any(where == "tests" and nodeid.startswith("tests/") for where, nodeid in seen)


def test_per_case_benchmark_prints_both_sides_and_their_ratio(tmp_path: object) -> None:
    """``python bench/per_case.py`` runs from a checkout; figures are printed, never asserted."""
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "per_case.py"), "--cases", "5", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 1 is a MISS on a busy machine: timings are reported, not tested.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert re.search(
        r"^  per case: plugin -?\d+\.\d{3} ms CPU, floor -?\d+\.\d{3} ms CPU; "
        r"ratio (-?\d+\.\d{2}|n/a \(the floor's per-case cost is noise\)); "
        r"target <= 1\.5: (PASS|MISS)$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
