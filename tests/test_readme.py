"""The README stays true: its generated sections match the code, its commands match CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO
from pytest_agent_readiness.reference import SECTIONS, section_pattern, update

README = REPO / "README.md"


@pytest.mark.parametrize("name", SECTIONS)
def test_generated_sections_are_current(name: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert section_pattern(name).search(text), f"README lost its {name} markers"
    assert update(text) == text, (
        "README is stale: run `python -m pytest_agent_readiness.reference README.md`"
    )


def test_every_manifest_key_is_documented() -> None:
    text = README.read_text(encoding="utf-8")
    for key in (
        "agents.NAME.kill_switch.halt_within_s",
        "agents.NAME.budgets.tokens_per_session",
        "waivers[].expires",
        "gate.min_total",
    ):
        assert f"`{key}`" in text


def test_ci_runs_the_readme_test_command() -> None:
    readme = README.read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python -m pip install")]
    assert len(commands) == 2, commands
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci
    assert "cd examples/support-triage && python -m pytest --readiness" in commands[0]


def test_examples_have_their_manifests() -> None:
    for example in ("support-triage", "unready-pilot"):
        assert Path(REPO, "examples", example, "agent-readiness.yaml").is_file()


def test_ci_runs_the_test_command_before_anything_else_enters_its_environment() -> None:
    # A fresh clone has only what '.[test]' brings: anything installed into the environment
    # before the README's test command (an extra for lint, say) would hide a missing dependency.
    readme = README.read_text(encoding="utf-8")
    command = [line for line in readme.splitlines() if line.startswith("python -m pip install")][1]
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    fresh = lines.index(". .venv-ci/bin/activate")
    tests = next(i for i, line in enumerate(lines) if command in line)
    installs = [
        line for line in lines[fresh:tests] if "pip install" in line and "--upgrade pip" not in line
    ]
    assert fresh < tests and not installs, installs
    assert any("pip install" in line and "pydantic-ai" in line for line in lines[tests:])
