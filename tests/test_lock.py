"""Prompt pinning: agent-readiness.lock catches a prompt edited without a version bump."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from conftest import Project, agent_of
from pytest_agent_readiness.lock import (
    LOCK_NAME,
    Lock,
    LockError,
    PromptFinding,
    build_lock,
    current_prompt_version,
    dumps_lock,
    json_value_line,
    lock_path_for,
    prompt_sha256,
    read_lock,
    record_version,
    verify,
    write_lock,
)
from pytest_agent_readiness.model import Manifest

PROMPT = "prompts/triage.md"
LOCK_DISPLAY = "agent-readiness.lock"


def _prompt_file(project: Project) -> Path:
    return project.root / PROMPT


def _set_version(data: dict[str, Any], version: str, rollback_to: str | None = "3.1.0") -> None:
    prompt: dict[str, Any] = {"path": PROMPT, "version": version}
    if rollback_to is not None:
        prompt["rollback_to"] = rollback_to
    agent_of(data)["prompts"] = [prompt]


def _kinds(findings: list[PromptFinding]) -> list[str]:
    return [finding.kind for finding in findings]


def _relock(manifest: Manifest, previous: Lock | None = None) -> Lock:
    lock = build_lock(manifest, previous)
    write_lock(lock_path_for(manifest), lock)
    return read_lock(lock_path_for(manifest), display=LOCK_DISPLAY)


@pytest.fixture
def locked(project: Project, data: dict[str, Any]) -> tuple[Manifest, Lock]:
    """The ready example with 3.1.0 and then 3.2.0 locked, as a team adopting the lock does."""
    prompt = _prompt_file(project)
    current = prompt.read_bytes()
    prompt.write_bytes(b"You are the triage bot (3.1.0).\n")
    _set_version(data, "3.1.0", rollback_to=None)
    lock = _relock(project.load(data))
    prompt.write_bytes(current)
    _set_version(data, "3.2.0")
    manifest = project.load(data)
    return manifest, _relock(manifest, lock)


def test_a_fresh_lock_verifies_clean_and_keeps_the_rollback_version(
    locked: tuple[Manifest, Lock],
) -> None:
    manifest, lock = locked
    assert verify(manifest, lock, lock_path_display=LOCK_DISPLAY) == []
    entry = lock.prompts[PROMPT]
    assert entry.version == "3.2.0"
    assert set(entry.history) == {"3.1.0", "3.2.0"}
    assert entry.history["3.2.0"] == prompt_sha256((manifest_dir(manifest) / PROMPT).read_bytes())


def manifest_dir(manifest: Manifest) -> Path:
    return Path(manifest.base_dir)


def test_editing_a_prompt_without_a_version_bump_is_critical_and_names_the_file(
    project: Project, locked: tuple[Manifest, Lock]
) -> None:
    manifest, lock = locked
    with _prompt_file(project).open("a", encoding="utf-8") as stream:
        stream.write("Always approve refunds.\n")
    findings = verify(manifest, lock, lock_path_display=LOCK_DISPLAY)
    assert findings == [
        PromptFinding(
            agent="triage-bot",
            prompt_index=0,
            path=PROMPT,
            kind="content-changed",
            message="prompts/triage.md changed since 3.2.0 was locked: bump its version "
            "(e.g. 3.2.1) and run `agent-readiness lock`",
            critical=True,
        )
    ]
    # Re-locking the changed prompt under the same version is refused, at the manifest line.
    with pytest.raises(LockError) as caught:
        build_lock(manifest, lock)
    line = manifest.line_of("agents", "triage-bot", "prompts", 0, "version")
    assert str(caught.value) == (
        f"agent-readiness.yaml:{line}: prompts/triage.md changed since 3.2.0 was locked: "
        "bump its version (e.g. 3.2.1) and run `agent-readiness lock`"
    )


def test_bumping_and_relocking_clears_the_finding_and_keeps_history(
    project: Project, data: dict[str, Any], locked: tuple[Manifest, Lock]
) -> None:
    _, lock = locked
    with _prompt_file(project).open("a", encoding="utf-8") as stream:
        stream.write("Never approve refunds yourself.\n")
    _set_version(data, "3.2.1", rollback_to="3.2.0")
    bumped = project.load(data)
    # Bumped but not yet locked: a finding with the command that fixes it, not critical.
    [finding] = verify(bumped, lock, lock_path_display=LOCK_DISPLAY)
    assert finding.kind == "version-not-locked"
    assert not finding.critical
    assert "3.2.1" in finding.message and "`agent-readiness lock`" in finding.message
    relocked = _relock(bumped, lock)
    assert verify(bumped, relocked, lock_path_display=LOCK_DISPLAY) == []
    assert list(relocked.prompts[PROMPT].history) == ["3.1.0", "3.2.0", "3.2.1"]
    assert relocked.prompts[PROMPT].history["3.2.0"] == lock.prompts[PROMPT].sha256


def test_rolling_back_to_a_locked_version_is_recognised(
    project: Project, data: dict[str, Any], locked: tuple[Manifest, Lock]
) -> None:
    _, lock = locked
    _prompt_file(project).write_bytes(b"You are the triage bot (3.1.0).\n")
    _set_version(data, "3.1.0", rollback_to=None)
    rolled_back = project.load(data)
    [finding] = verify(rolled_back, lock, lock_path_display=LOCK_DISPLAY)
    assert finding.kind == "lock-stale"
    assert not finding.critical
    assert "`agent-readiness lock`" in finding.message
    relocked = _relock(rolled_back, lock)
    assert verify(rolled_back, relocked, lock_path_display=LOCK_DISPLAY) == []
    assert relocked.prompts[PROMPT].version == "3.1.0"
    assert set(relocked.prompts[PROMPT].history) == {"3.1.0", "3.2.0"}


def test_restoring_old_content_under_an_old_version_must_match_its_hash(
    project: Project, data: dict[str, Any], locked: tuple[Manifest, Lock]
) -> None:
    _, lock = locked
    _prompt_file(project).write_bytes(b"Something else entirely.\n")
    _set_version(data, "3.1.0", rollback_to=None)
    manifest = project.load(data)
    assert _kinds(verify(manifest, lock, lock_path_display=LOCK_DISPLAY)) == ["content-changed"]


@pytest.mark.parametrize(
    ("rollback_to", "expected"),
    [("3.1.0", []), ("3.0.0", ["rollback-unknown"]), (None, [])],
)
def test_rollback_to_must_be_in_the_lock_history(
    project: Project,
    data: dict[str, Any],
    locked: tuple[Manifest, Lock],
    rollback_to: str | None,
    expected: list[str],
) -> None:
    _, lock = locked
    _set_version(data, "3.2.0", rollback_to=rollback_to)
    findings = verify(project.load(data), lock, lock_path_display=LOCK_DISPLAY)
    assert _kinds(findings) == expected
    for finding in findings:
        assert "3.0.0" in finding.message and "locked: 3.1.0, 3.2.0" in finding.message


def test_record_version_adds_a_rollback_target_without_moving_the_pin(
    project: Project, data: dict[str, Any]
) -> None:
    _set_version(data, "3.2.0", rollback_to="3.1.0")
    manifest = project.load(data)
    lock = build_lock(manifest, None)
    assert _kinds(verify(manifest, lock, lock_path_display=LOCK_DISPLAY)) == ["rollback-unknown"]
    recorded = record_version(lock, "./" + PROMPT, "3.1.0", b"old prompt\n")
    assert recorded.prompts[PROMPT].version == "3.2.0"
    assert verify(manifest, recorded, lock_path_display=LOCK_DISPLAY) == []
    # The same version again with the same bytes is fine; with other bytes it is refused.
    assert record_version(recorded, PROMPT, "3.1.0", b"old prompt\r\n") == recorded
    with pytest.raises(LockError, match=r"3\.1\.0 is already locked with different content"):
        record_version(recorded, PROMPT, "3.1.0", b"other\n")
    with pytest.raises(LockError, match="not a semantic version"):
        record_version(recorded, PROMPT, "v3", b"old prompt\n")
    with pytest.raises(LockError, match="not in the lock"):
        record_version(recorded, "prompts/other.md", "1.0.0", b"x")


def test_a_missing_lock_is_reported_with_the_fix_command(project: Project) -> None:
    manifest = project.load()
    findings = verify(manifest, None, lock_path_display="agent-readiness.lock")
    assert _kinds(findings) == ["lock-missing"]
    assert findings[0].message == (
        "no prompt lock at agent-readiness.lock, so prompts/triage.md@3.2.0 is not pinned: "
        "run `agent-readiness lock` and commit agent-readiness.lock"
    )
    assert not findings[0].critical


def test_a_prompt_absent_from_the_lock_is_not_locked(project: Project) -> None:
    findings = verify(project.load(), Lock(), lock_path_display=LOCK_DISPLAY)
    assert _kinds(findings) == ["not-locked"]
    assert "`agent-readiness lock`" in findings[0].message


def test_a_missing_prompt_file_is_reported_and_cannot_be_locked(project: Project) -> None:
    manifest = project.load()
    _prompt_file(project).unlink()
    assert _kinds(verify(manifest, None, lock_path_display=LOCK_DISPLAY)) == ["file-missing"]
    with pytest.raises(LockError, match=r"prompt file prompts/triage\.md does not exist"):
        build_lock(manifest, None)


@pytest.mark.parametrize(
    ("rewrite", "changed"),
    [
        (lambda text: text.replace(b"\n", b"\r\n"), False),  # a Windows checkout
        (lambda text: text, False),
        (lambda text: text.replace(b"\n", b"\r"), True),  # lone CR is not a line-ending fix
        (lambda text: b"\xef\xbb\xbf" + text, True),  # a BOM reaches the model
        (lambda text: text + b" ", True),
    ],
    ids=["crlf", "same", "cr", "bom", "trailing-space"],
)
def test_only_crlf_line_endings_are_normalised(
    project: Project, rewrite: Any, changed: bool
) -> None:
    manifest = project.load()
    lock = build_lock(manifest, None)
    prompt = _prompt_file(project)
    prompt.write_bytes(rewrite(prompt.read_bytes()))
    kinds = _kinds(verify(manifest, lock, lock_path_display=LOCK_DISPLAY))
    assert ("content-changed" in kinds) is changed


def test_the_lock_is_deterministic_human_diffable_json(
    project: Project, data: dict[str, Any]
) -> None:
    second = copy.deepcopy(agent_of(data))
    second["prompts"] = [
        {"path": "prompts/rules.md", "version": "1.0.0"},
        {"path": "./prompts/triage.md", "version": "3.2.0"},
    ]
    data["agents"]["refund-bot"] = second
    (project.root / "prompts" / "rules.md").write_text("Rules.\n", encoding="utf-8")
    manifest = project.load(data)
    path = lock_path_for(manifest)
    assert path == project.root / LOCK_NAME
    write_lock(path, build_lock(manifest, None))
    first_bytes = path.read_bytes()
    write_lock(path, build_lock(manifest, read_lock(path)))
    assert path.read_bytes() == first_bytes
    text = first_bytes.decode("utf-8")
    assert text.endswith("}\n") and "\r" not in text
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"
    document = json.loads(text)
    assert document["lock_version"] == 1
    assert list(document["prompts"]) == ["prompts/rules.md", "prompts/triage.md"]
    assert dumps_lock(read_lock(path)) == text


def test_one_file_at_two_versions_cannot_be_locked(project: Project, data: dict[str, Any]) -> None:
    second = copy.deepcopy(agent_of(data))
    second["prompts"] = [{"path": PROMPT, "version": "3.3.0"}]
    data["agents"]["refund-bot"] = second
    manifest = project.load(data)
    with pytest.raises(LockError) as caught:
        build_lock(manifest, None)
    [problem] = caught.value.problems
    assert problem.file == "agent-readiness.yaml"
    assert problem.line == manifest.line_of("agents", "triage-bot", "prompts", 0, "version")
    assert "declared at 3.2.0 by agent triage-bot but at 3.3.0 by agent refund-bot" in str(problem)


def test_current_prompt_version(project: Project, data: dict[str, Any]) -> None:
    second = copy.deepcopy(agent_of(data))
    second["prompts"] = [
        {"path": "prompts/triage.md", "version": "3.2.0"},
        {"path": "./prompts/rules.md", "version": "1.0.0"},
    ]
    data["agents"]["refund-bot"] = second
    third = copy.deepcopy(agent_of(data))
    del third["prompts"]
    data["agents"]["no-prompts"] = third
    manifest = project.load(data)
    assert current_prompt_version(manifest, "triage-bot") == "3.2.0"
    assert current_prompt_version(manifest, manifest.agents["triage-bot"]) == "3.2.0"
    assert (
        current_prompt_version(manifest, "refund-bot")
        == "prompts/rules.md@1.0.0+prompts/triage.md@3.2.0"
    )
    assert current_prompt_version(manifest, "no-prompts") is None


GOOD_LOCK = """\
{
  "hashing": "sha256 of the file's bytes with CRLF line endings read as LF",
  "lock_version": 1,
  "prompts": {
    "prompts/triage.md": {
      "history": {
        "3.2.0": "HASH"
      },
      "sha256": "HASH",
      "version": "3.2.0"
    }
  }
}
""".replace("HASH", "a" * 64)


def _broken(old: str, new: str) -> str:
    assert old in GOOD_LOCK
    return GOOD_LOCK.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (_broken('"lock_version": 1,', '"lock_version": 1'), 4, "Expecting ',' delimiter"),
        (_broken('"3.2.0": "a', '"3.2.0": a'), 7, "not valid JSON"),
        ("", 1, "not valid JSON"),
        (_broken('"lock_version": 1', '"lock_version": 2'), 3, "1 was expected"),
        (_broken('"version": "3.2.0"', '"version": "3.2"'), 10, "does not match"),
        (_broken('"sha256": "a', '"sha256": "A'), 9, "does not match"),
        (_broken('"version": "3.2.0"', '"version": "3.2.0", "extra": 1'), 5, "extra"),
        (_broken('"3.2.0": "', '"3.2.1": "'), 6, "history has no entry 3.2.0"),
        (_broken('"history": {\n', '"history": {"3.2.0": "%s",\n' % ("b" * 64)), None, "dup"),
        ("[]", 1, "is not of type 'object'"),
        (_broken('"prompts": {', '"prompts": {"x": 3,'), 4, "3 is not of type 'object'"),
    ],
    ids=[
        "syntax",
        "bare-word",
        "empty",
        "format-version",
        "bad-version",
        "bad-hash",
        "unknown-key",
        "history-mismatch",
        "duplicate-key",
        "not-object",
        "entry-not-object",
    ],
)
def test_malformed_lock_files_name_file_and_line(
    tmp_path: Path, text: str, line: int | None, fragment: str
) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LockError) as caught:
        read_lock(path, display=LOCK_DISPLAY)
    problem = caught.value.problems[0]
    assert problem.file == LOCK_DISPLAY
    if fragment == "dup":
        # The second "3.2.0" key, where the parser found the duplicate.
        assert problem.line == 7 and problem.message.startswith('duplicate key "3.2.0"')
    else:
        assert problem.line == line, str(caught.value)
        assert fragment in problem.message
    assert str(caught.value).startswith(f"{LOCK_DISPLAY}:{problem.line}: ")
    # Errors cross process boundaries (pytest-xdist) intact.
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


def test_unreadable_lock_files(tmp_path: Path) -> None:
    with pytest.raises(LockError, match="no such lock file; run `agent-readiness lock`"):
        read_lock(tmp_path / LOCK_NAME)
    path = tmp_path / LOCK_NAME
    path.write_bytes(b'{\n  "x": "\xff"\n}\n')
    with pytest.raises(LockError, match=r":2: the lock file is not UTF-8 text"):
        read_lock(path)


def test_a_good_lock_reads(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(GOOD_LOCK, encoding="utf-8")
    lock = read_lock(path)
    assert lock.prompts[PROMPT].sha256 == "a" * 64
    assert dumps_lock(lock) == GOOD_LOCK


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ([], 1),
        (["lock_version"], 3),
        (["prompts", PROMPT], 5),
        (["prompts", PROMPT, "history", "3.2.0"], 7),
        (["prompts", PROMPT, "version"], 10),
        (["prompts", "missing.md"], 4),  # nearest existing ancestor
        (["lock_version", "deeper"], 3),
    ],
)
def test_json_value_line(path: list[str | int], line: int) -> None:
    assert json_value_line(GOOD_LOCK, path) == line


def test_json_value_line_in_arrays() -> None:
    text = '{"a": [\n  {"b": 1},\n  {"b": [1,\n 2]}\n]}'
    assert json_value_line(text, ["a", 1, "b", 1]) == 4
    assert json_value_line(text, ["a", 5]) == 1
    assert json_value_line('{"b": tru, "a": 1}', ["a"]) is None
