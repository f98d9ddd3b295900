"""Shared helpers: real manifests on disk, built from the ready example and mutated per test."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_agent_readiness.catalogue import BUILTIN_CHECKS
from pytest_agent_readiness.checks import CheckRegistry, Evidence
from pytest_agent_readiness.manifest import load_manifest
from pytest_agent_readiness.model import Manifest
from pytest_agent_readiness.scoring import Assessment, assess

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
READY_EXAMPLE = EXAMPLES / "support-triage"
UNREADY_EXAMPLE = EXAMPLES / "unready-pilot"
TODAY = date(2026, 11, 25)


def ready_data() -> dict[str, Any]:
    """The ready example's manifest as data (dates as ISO strings)."""
    text = (READY_EXAMPLE / "agent-readiness.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.load(text, Loader=_StringDates)
    return data


class _StringDates(yaml.SafeLoader):
    """safe_load, but dates stay the strings they were written as."""


_StringDates.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def registry() -> CheckRegistry:
    checks = CheckRegistry()
    checks.extend(BUILTIN_CHECKS)
    return checks


@dataclass
class Project:
    """A project directory with the ready example's prompts and a manifest written per test."""

    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / "agent-readiness.yaml"

    def write(self, data: dict[str, Any]) -> Path:
        self.manifest_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return self.manifest_path

    def write_text(self, text: str) -> Path:
        self.manifest_path.write_text(text, encoding="utf-8")
        return self.manifest_path

    def load(self, data: dict[str, Any] | None = None) -> Manifest:
        if data is not None:
            self.write(data)
        return load_manifest(self.manifest_path, display="agent-readiness.yaml")

    def assess(
        self,
        data: dict[str, Any] | None = None,
        *,
        evidence: list[Evidence] | None = None,
        today: date = TODAY,
    ) -> Assessment:
        return assess(self.load(data), registry(), evidence or [], today=today)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    shutil.copytree(READY_EXAMPLE / "prompts", tmp_path / "prompts")
    shutil.copy(READY_EXAMPLE / "agent-readiness.yaml", tmp_path / "agent-readiness.yaml")
    shutil.copy(READY_EXAMPLE / "agent-readiness.lock", tmp_path / "agent-readiness.lock")
    return Project(tmp_path)


@pytest.fixture
def data() -> dict[str, Any]:
    """A fresh copy of the ready manifest's data, for a test to mutate."""
    return copy.deepcopy(ready_data())


Mutation = Callable[[dict[str, Any]], None]


def agent_of(data: dict[str, Any], name: str = "triage-bot") -> dict[str, Any]:
    agent: dict[str, Any] = data["agents"][name]
    return agent


# A test module that proves every run-time control of the ready manifest and runs one case of
# each declared suite: with it (and no adapter) the ready example is ready on marked tests alone.
PROOF_TESTS = """
import pytest

SUITES = ["prompt_injection", "indirect_injection", "jailbreak", "data_exfiltration",
          "tool_misuse", "system_prompt_leak", "unbounded_consumption"]


@pytest.mark.readiness("GOV-003")
@pytest.mark.readiness("GOV-004")
@pytest.mark.readiness("GOV-006")
@pytest.mark.readiness("GOV-009")
@pytest.mark.readiness("INF-001")
@pytest.mark.readiness("INF-002")
@pytest.mark.readiness("INF-004")
@pytest.mark.readiness("OBS-001")
@pytest.mark.readiness("DQ-001")
def test_controls_hold():
    pass


@pytest.mark.parametrize(
    "suite", [pytest.param(s, marks=pytest.mark.adversarial(suite=s)) for s in SUITES]
)
def test_case(suite):
    pass
"""


def copy_example(pytester: pytest.Pytester, example: Path) -> None:
    """An example's files (not its caches) into a pytester project."""
    for entry in example.iterdir():
        if entry.name in ("__pycache__", ".pytest_cache"):
            continue
        target = pytester.path / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(entry, target)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``agent-readiness ARGS`` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_waiver(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``data`` with one waiver for DQ-002 on triage-bot (approved, 36 days left), or ``fields``."""
    entry = {
        "check": "DQ-002",
        "agent": "triage-bot",
        "reason": "drift tooling lands in Q1",
        "approved_by": "Dana Reyes",
        "expires": "2026-12-31",
        **fields,
    }
    data["waivers"] = [entry]
    return data
