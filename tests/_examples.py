"""Run a bundled example the way a user runs it (`pytest --readiness` in its folder), optionally
after a small edit of its code, and read the scorecard it wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
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
    workdir = tmp_path / name
    shutil.copytree(EXAMPLES / name, workdir, ignore=shutil.ignore_patterns("__pycache__"))
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
