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
