"""The agent-readiness command line, run as a real subprocess: exit codes scripts rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import READY_EXAMPLE, TODAY, Project, registry, run_cli
from pytest_agent_readiness.cli import main
from pytest_agent_readiness.manifest import load_manifest
from pytest_agent_readiness.scorecard import build_scorecard, dumps
from pytest_agent_readiness.scoring import assess


def test_validate_accepts_a_valid_manifest() -> None:
    result = run_cli("validate", cwd=READY_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "agent-readiness.yaml: valid (1 agent)\n"


def test_validate_rejects_an_invalid_manifest_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "agent-readiness.yaml").write_text(
        "version: 1\nagents:\n  bot:\n    stage: pilot\n    stage: scaling\n"
    )
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "agent-readiness.yaml:5:5" in result.stderr
    assert "duplicate key 'stage'" in result.stderr


def test_validate_missing_file_is_invalid_input(tmp_path: Path) -> None:
    result = run_cli("validate", "nope.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.yaml: no such manifest" in result.stderr


def test_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert run_cli("frobnicate", cwd=tmp_path).returncode == 2
    assert run_cli("report", cwd=tmp_path).returncode == 2


def test_init_writes_a_valid_manifest_that_is_not_ready(tmp_path: Path) -> None:
    repo = tmp_path / "refund-helper"
    repo.mkdir()
    result = run_cli("init", cwd=repo)
    assert result.returncode == 0, result.stderr
    manifest_path = repo / "agent-readiness.yaml"
    assert "TO DO 1-5" in result.stdout
    manifest = load_manifest(manifest_path)
    assert list(manifest.agents) == ["refund-helper-agent"]
    assert "# yaml-language-server: $schema=" in manifest_path.read_text()
    assessment = assess(manifest, registry(), [], today=TODAY)
    assert not assessment.verdict.ready
    results = {r.check.id: r for r in assessment.agents["refund-helper-agent"].results}
    assert not results["GOV-001"].passed
    assert not results["GOV-003"].passed
    assert run_cli("validate", cwd=repo).returncode == 0


def test_init_writes_a_stub_adapter_the_probes_fail_on(tmp_path: Path) -> None:
    repo = tmp_path / "helper"
    repo.mkdir()
    (repo / "agent.py").write_text("from pydantic_ai import Agent\n")
    result = run_cli("init", cwd=repo)
    assert result.returncode == 0, result.stderr
    stub = (repo / "conftest.py").read_text()
    assert '@adapter("helper_agent")' in stub
    assert "harness.pydantic_ai_model()" in stub
    assert "(pydantic-ai: a stub to fill in" in result.stdout
    gate = subprocess.run(
        [sys.executable, "-m", "pytest", "--readiness", "-p", "no:randomly", "-k", "kill"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert gate.returncode == 1
    assert "adapter 'helper_agent' raised NotImplementedError" in gate.stdout


def test_init_keeps_an_existing_conftest(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("# mine\n")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "conftest.py").read_text() == "# mine\n"
    assert "@adapter(" in (tmp_path / "readiness_adapter.py").read_text()
    assert 'add pytest_plugins = ["readiness_adapter"]' in result.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    (tmp_path / "agent-readiness.yaml").write_text("mine\n")
    refused = run_cli("init", cwd=tmp_path)
    assert refused.returncode == 2
    assert "already exists; pass --force" in refused.stderr
    assert (tmp_path / "agent-readiness.yaml").read_text() == "mine\n"
    assert run_cli("init", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "agent-readiness.yaml").read_text() != "mine\n"


def write_scorecard(project: Project, path: Path, *, ready: bool) -> None:
    from conftest import agent_of, ready_data

    data = ready_data()
    if not ready:
        del agent_of(data)["kill_switch"]
    assessment = assess(project.load(data), registry(), [], today=TODAY)
    if ready:
        from test_scoring import RUNTIME, proof

        assessment = assess(project.load(data), registry(), proof(*RUNTIME), today=TODAY)
    path.write_text(dumps(build_scorecard(assessment)))


@pytest.mark.parametrize(("ready", "code"), [(True, 0), (False, 1)])
def test_report_exits_with_the_verdict(
    project: Project, tmp_path: Path, ready: bool, code: int
) -> None:
    card = tmp_path / "card.json"
    write_scorecard(project, card, ready=ready)
    result = run_cli("report", str(card), cwd=tmp_path)
    assert result.returncode == code
    assert ("VERDICT: READY" if ready else "VERDICT: NOT READY") in result.stdout
    as_json = run_cli(
        "report", str(card), "--format", "json", "--output", "copy.json", cwd=tmp_path
    )
    assert as_json.returncode == code
    assert (tmp_path / "copy.json").read_text() == card.read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "not a JSON scorecard"),
        ("[]", "not a valid scorecard"),
        ('{"schema_version": 99}', "schema_version 99"),
        ('{"schema_version": 1, "verdict": "ready"}', "not a valid scorecard"),
    ],
)
def test_report_refuses_what_is_not_a_scorecard(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "card.json").write_text(content)
    result = run_cli("report", "card.json", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def test_report_rejects_a_tampered_verdict(project: Project, tmp_path: Path) -> None:
    card = tmp_path / "card.json"
    write_scorecard(project, card, ready=False)
    document = json.loads(card.read_text())
    document["verdict"] = "maybe"
    card.write_text(json.dumps(document))
    assert run_cli("report", "card.json", cwd=tmp_path).returncode == 2


def test_internal_error_exits_3_and_never_reports_ready(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pytest_agent_readiness.inputs as inputs_module

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    # validate reads through the gate's own input loader (imported when the command runs).
    monkeypatch.setattr(inputs_module, "load_gate_inputs", explode)
    (tmp_path / "m.yaml").write_text("version: 1\n")
    assert main(["validate", str(tmp_path / "m.yaml")]) == 3
    captured = capsys.readouterr()
    assert "internal error" in captured.err and "RuntimeError: boom" in captured.err
    assert "valid" not in captured.out


def test_schema_command_prints_the_shipped_schema(tmp_path: Path) -> None:
    result = run_cli("schema", "--output", "s.json", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads((tmp_path / "s.json").read_text())["title"] == "agent-readiness.yaml"


@pytest.mark.parametrize(
    ("source", "framework", "line"),
    [
        (
            "from pydantic_ai import Agent\n",
            "pydantic-ai",
            "return pydantic_ai_handle(harness, build_agent(model=harness.pydantic_ai_model()))",
        ),
        (
            "from agents import Agent, Runner\n",
            "openai-agents",
            "return openai_agents_handle(harness, "
            "build_agent(model=harness.openai_agents_model()))",
        ),
        (
            "from langgraph.graph import StateGraph\n",
            "langgraph",
            "return langgraph_handle(harness, build_agent(model=harness.langchain_model()))",
        ),
        (
            "from langchain.agents import create_agent\n",
            "langchain",
            "return langgraph_handle(harness, build_agent(model=harness.langchain_model()))",
        ),
    ],
)
def test_init_writes_the_framework_handle_shape(
    tmp_path: Path, source: str, framework: str, line: str
) -> None:
    repo = tmp_path / "helper"
    repo.mkdir()
    (repo / "agent.py").write_text(source)
    result = run_cli("init", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert f"({framework}: a stub to fill in" in result.stdout
    assert line in (repo / "conftest.py").read_text()
