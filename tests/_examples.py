"""Run a bundled example the way a user runs it (`pytest --readiness` in its folder), optionally
after a small edit of its code, and read the scorecard it wrote."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import EXAMPLES

AS_OF = "--readiness-as-of=2026-11-25"

Edit = tuple[str, str, str]
"""(file inside the example, text to replace, replacement): one small change a developer makes."""


def apply_edits(workdir: Path, edits: Sequence[Edit]) -> None:
    """Apply each edit to the copied example; the text must occur exactly once, so an edit
    that no longer matches the example fails loudly instead of testing the good agent."""
    for relative, old, new in edits:
        path = workdir / relative
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{relative}: the edit's text occurs {text.count(old)} times"
        path.write_text(text.replace(old, new), encoding="utf-8")


def run_example(
    name: str, tmp_path: Path, edits: Sequence[Edit] = (), *extra_args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `examples/NAME` in a copy under ``tmp_path``."""
    return run_project(EXAMPLES / name, tmp_path, edits, *extra_args)


def run_project(
    source: Path,
    tmp_path: Path,
    edits: Sequence[Edit] = (),
    *extra_args: str,
    moves: Mapping[str, str] | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the project at ``source`` in a copy under ``tmp_path``. ``moves`` renames files in
    the copy (a project kept inside this repository's tests stores its `conftest.py` under
    another name, so this suite does not load it)."""
    workdir = tmp_path / source.name
    shutil.copytree(source, workdir, ignore=shutil.ignore_patterns("__pycache__"))
    for origin, target in (moves or {}).items():
        (workdir / target).parent.mkdir(parents=True, exist_ok=True)
        (workdir / origin).rename(workdir / target)
    apply_edits(workdir, edits)
    card = tmp_path / "card.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--readiness",
            f"--readiness-json={card}",
            AS_OF,
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            *extra_args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert card.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    return result, json.loads(card.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Variant:
    """One realistic breakage: the edits that make it, the check it breaks, and regular
    expressions the failing check's reason must match (the evidence it names)."""

    check: str
    edits: tuple[Edit, ...]
    evidence: tuple[str, ...]


def checks_of(card: Mapping[str, Any], agent: str) -> dict[str, dict[str, Any]]:
    return {check["id"]: check for check in card["agents"][agent]["checks"]}


def assert_fails_its_own_check_only(
    variant: Variant, checks: Mapping[str, Mapping[str, Any]], twin: Mapping[str, Mapping[str, Any]]
) -> None:
    """The variant's check fails naming its evidence; every other check keeps the level and
    outcome it has in the good twin's scorecard."""
    own = checks[variant.check]
    assert own["passed"] is False, own["reason"]
    for pattern in variant.evidence:
        assert re.search(pattern, own["reason"]), (pattern, own["reason"])
    moved = {
        check_id: (twin[check_id]["level"], check["level"], check["reason"])
        for check_id, check in checks.items()
        if check_id != variant.check
        and (check["level"], check["passed"]) != (twin[check_id]["level"], twin[check_id]["passed"])
    }
    assert moved == {}, moved
