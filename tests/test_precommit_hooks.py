"""The shipped ``.pre-commit-hooks.yaml``: each hook's entry, run as pre-commit runs it (from the
repository root, no file names passed), on a real project; and ``lock --check`` itself."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import READY_EXAMPLE, REPO

HOOKS = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
# The console script installed beside this interpreter: what pre-commit's hook venv runs.
BIN = Path(sys.executable).parent


def run_hook(hook_id: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    hook = HOOKS[hook_id]
    command, *arguments = shlex.split(hook["entry"])
    return subprocess.run(
        [str(BIN / command), *arguments, *hook.get("args", [])],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The ready example as a repository of its own (a ``.git`` marks its root)."""
    root = tmp_path / "repo"
    shutil.copytree(READY_EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".git").mkdir()
    return root


def test_the_hooks_file_declares_two_python_hooks_that_take_no_file_names() -> None:
    assert sorted(HOOKS) == ["agent-readiness-lock", "agent-readiness-validate"]
    for hook in HOOKS.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert (hook["language"], hook["pass_filenames"]) == ("python", False)
    assert HOOKS["agent-readiness-lock"]["always_run"] is True


def test_validate_hook_passes_a_declared_project_and_fails_an_undeclared_agent(repo: Path) -> None:
    passed = run_hook("agent-readiness-validate", repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    (repo / "billing.py").write_text(
        "from pydantic_ai import Agent\n\nbilling = Agent('openai:gpt-4o')\n", encoding="utf-8"
    )
    failed = run_hook("agent-readiness-validate", repo)
    assert failed.returncode == 1
    assert "billing.py:3: error: GOV-010 PydanticAI Agent(...) 'billing'" in failed.stdout


def test_lock_hook_fails_on_a_prompt_changed_without_lock_and_never_writes(repo: Path) -> None:
    lock = repo / "agent-readiness.lock"
    before = lock.read_bytes()
    current = run_hook("agent-readiness-lock", repo)
    assert (current.returncode, current.stdout) == (0, "agent-readiness.lock: current\n")

    prompt = repo / "prompts" / "triage.md"
    prompt.write_text(prompt.read_text(encoding="utf-8") + "\nNever promise refunds.\n", "utf-8")
    changed = run_hook("agent-readiness-lock", repo)
    assert changed.returncode == 1
    assert changed.stdout.startswith("agent-readiness.yaml:46: error: prompts/triage.md changed")
    assert "run `agent-readiness lock`" in changed.stdout
    assert lock.read_bytes() == before

    lock.unlink()
    missing = run_hook("agent-readiness-lock", repo)
    assert missing.returncode == 1
    assert "no prompt lock at agent-readiness.lock" in missing.stdout
    assert not lock.exists()


def edit_manifest(repo: Path, old: str, new: str) -> None:
    manifest = repo / "agent-readiness.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert text.count(old) == 1
    manifest.write_text(text.replace(old, new), encoding="utf-8")


def test_lock_check_after_a_version_bump_asks_for_lock_then_passes(repo: Path) -> None:
    edit_manifest(repo, "version: 3.2.0, rollback_to: 3.1.0", "version: 3.3.0, rollback_to: 3.2.0")
    prompt = repo / "prompts" / "triage.md"
    prompt.write_text(prompt.read_text(encoding="utf-8") + "\nBe brief.\n", "utf-8")
    bumped = run_hook("agent-readiness-lock", repo)
    assert bumped.returncode == 1
    assert "at 3.3.0 in the manifest, newer than the lock's 3.2.0" in bumped.stdout
    written = subprocess.run(
        [str(BIN / "agent-readiness"), "lock"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    assert run_hook("agent-readiness-lock", repo).returncode == 0


def test_lock_check_names_a_pin_the_manifest_dropped(repo: Path) -> None:
    lock = repo / "agent-readiness.lock"
    document: dict[str, Any] = yaml.safe_load(lock.read_text(encoding="utf-8"))
    entry = next(iter(document["prompts"].values()))
    document["prompts"]["prompts/old.md"] = entry
    lock.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    result = run_hook("agent-readiness-lock", repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == (
        "agent-readiness.lock: error: pins prompts no longer declared: prompts/old.md; run "
        "`agent-readiness lock` and commit the lock\n"
    )


def test_lock_check_with_record_is_a_usage_error(repo: Path) -> None:
    result = subprocess.run(
        [str(BIN / "agent-readiness"), "lock", "--check", "--record", "p@1.0.0=f"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--check never writes the lock" in result.stderr


def test_lock_check_without_prompts_has_nothing_to_pin(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "agent-readiness.yaml").write_text(
        "version: 1\nagents:\n  bot:\n    owner: {name: Dana Reyes, email: dana@example.com}\n"
        "    stage: pilot\n",
        encoding="utf-8",
    )
    result = run_hook("agent-readiness-lock", tmp_path)
    assert (result.returncode, result.stdout) == (0, "no prompts declared: nothing to pin\n")
    assert not (tmp_path / "agent-readiness.lock").exists()
