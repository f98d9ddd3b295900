"""Prompt pinning: ``agent-readiness.lock`` records each prompt file's version and content hash.

The lock sits next to the manifest. For every prompt file the manifest declares it keeps the
version the manifest gave when ``agent-readiness lock`` last ran, that content's SHA-256, and a
history of every (version -> SHA-256) ever locked for the file, so an old version stays a known,
restorable rollback target after the file moves on.

Rules the gate enforces from it (:func:`verify`):

- A version, once locked, names one content forever. Editing a prompt without bumping its version
  is a critical finding, and :func:`build_lock` refuses to re-lock it under the old version.
- ``rollback_to`` must be a version in the file's lock history. Only the history counts, not git
  tags or other files: the history is what proves which bytes that version was, and it is there
  on every checkout (shallow CI clones have no tags). Each version ``agent-readiness lock`` pins
  stays in the history, so bumping a prompt's version keeps the old one as a rollback target; an
  older version the lock never saw is recorded once from a copy of its text with
  ``agent-readiness lock --record PROMPT@VERSION=FILE`` (:func:`record_version`).
- Hashes are taken over the file's bytes with CRLF line endings read as LF, so a Windows checkout
  (``core.autocrlf``) of an unchanged prompt is not a change. Nothing else is normalised: a BOM,
  trailing whitespace or a lone CR is a change, because a model sees it.

The file is JSON with sorted keys, two-space indent and a final newline, so the same prompts give
the same bytes and a review diff shows exactly which pin moved. Prompts the manifest no longer
declares are dropped from the lock when it is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from .files import write_atomic
from .model import Agent, Manifest
from .paths import ManifestPaths, OutsideRepository, manifest_root, resolve_inside
from .schemacheck import certainly_valid, shipped_schema

__all__ = [
    "HASHING",
    "LOCK_COMMAND",
    "LOCK_FORMAT_VERSION",
    "LOCK_NAME",
    "FindingKind",
    "Lock",
    "LockError",
    "LockProblem",
    "LockedPrompt",
    "PromptFinding",
    "build_lock",
    "current_prompt_version",
    "dumps_lock",
    "json_value_line",
    "lock_path_for",
    "lock_schema",
    "normalise_prompt_path",
    "prompt_sha256",
    "read_lock",
    "record_hint",
    "record_version",
    "verify",
    "write_lock",
]

LOCK_NAME = "agent-readiness.lock"
LOCK_FORMAT_VERSION = 1
LOCK_COMMAND = "agent-readiness lock"
HASHING = "sha256 of the file's bytes with CRLF line endings read as LF"
SCHEMA_RESOURCE = "lock.schema.json"

# The manifest schema's version pattern; the lock only ever holds versions the manifest accepted.
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")

FindingKind = Literal[
    "lock-missing",
    "not-locked",
    "content-changed",
    "version-not-locked",
    "lock-stale",
    "rollback-unknown",
    "file-missing",
    "outside-repository",
]


@dataclass(frozen=True)
class LockProblem:
    """One reason a lock cannot be read or built, located in the file that has to change."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class LockError(Exception):
    """The lock file is malformed, or the prompts cannot be locked; ``problems`` says why."""

    def __init__(self, problems: Sequence[LockProblem]) -> None:
        # Passing the problems as the only argument keeps default pickling working (xdist).
        super().__init__(tuple(problems))
        self.problems: tuple[LockProblem, ...] = tuple(problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


@dataclass(frozen=True)
class LockedPrompt:
    """One prompt file's pins: its current version and hash, and every version ever locked."""

    path: str
    version: str
    sha256: str
    history: Mapping[str, str]  # version -> sha256, the current version included


@dataclass(frozen=True)
class Lock:
    """The whole lock: normalised prompt path -> its pins."""

    prompts: Mapping[str, LockedPrompt] = field(default_factory=dict)


@dataclass(frozen=True)
class PromptFinding:
    """Something wrong between a declared prompt, its file and the lock."""

    agent: str
    prompt_index: int
    path: str
    kind: FindingKind
    message: str
    critical: bool


def prompt_sha256(content: bytes) -> str:
    """The lock's hash of a prompt's content: SHA-256 with CRLF line endings read as LF."""
    return hashlib.sha256(content.replace(b"\r\n", b"\n")).hexdigest()


def normalise_prompt_path(path: str) -> str:
    """The lock's key for a manifest prompt path: '/'-separated, without ``./`` or ``a/../``."""
    return posixpath.normpath(path.replace("\\", "/"))


def lock_path_for(manifest: Manifest) -> Path:
    """Where the lock of ``manifest`` lives: ``agent-readiness.lock`` beside it.

    Raises :class:`LockError` when that name is a symlink out of the repository: the lock is
    read and written there, and a repository must not point either outside itself.
    """
    try:
        resolve_inside(manifest_root(manifest), manifest.base_dir, LOCK_NAME)
    except OutsideRepository as error:
        problem = f"{error}; expected the lock file inside the repository"
        raise LockError([LockProblem(LOCK_NAME, None, problem)]) from None
    return Path(manifest.base_dir, LOCK_NAME)


@cache
def lock_schema() -> Mapping[str, Any]:
    """The lock file's JSON Schema, as shipped in the package."""
    return shipped_schema("pytest_agent_readiness", f"schemas/{SCHEMA_RESOURCE}")


def current_prompt_version(manifest: Manifest, agent: Agent | str) -> str | None:
    """The version id an agent's prompts are at, as red-team evidence must record it.

    One prompt: its version (``3.2.0``). Several: ``path@version`` of each, sorted by path and
    joined with ``+`` (``prompts/rules.md@1.0.0+prompts/triage.md@3.2.0``); semantic versions
    in the manifest cannot contain ``+``, so the id is unambiguous. None without prompts.
    """
    declared = manifest.agents[agent] if isinstance(agent, str) else agent
    if not declared.prompts:
        return None
    if len(declared.prompts) == 1:
        return declared.prompts[0].version
    pins = sorted({(normalise_prompt_path(p.path), p.version) for p in declared.prompts})
    return "+".join(f"{path}@{version}" for path, version in pins)


def _next_version(version: str) -> str:
    """A version to suggest after ``version``: the next patch, or the release of a pre-release."""
    match = _SEMVER.match(version)
    if match is None:
        return f"a version after {version}"
    major, minor, patch, pre = match.groups()
    if pre:
        return f"{major}.{minor}.{patch}"
    return f"{major}.{minor}.{int(patch) + 1}"


def _semver_key(version: str) -> tuple[int, int, int, int, str]:
    match = _SEMVER.match(version)
    if match is None:
        return (-1, -1, -1, -1, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def _bump_message(path: str, version: str) -> str:
    return (
        f"{path} changed since {version} was locked: bump its version "
        f"(e.g. {_next_version(version)}) and run `{LOCK_COMMAND}`"
    )


@dataclass(frozen=True)
class _Declared:
    agent: str
    index: int
    path: str  # normalised
    version: str
    rollback_to: str | None


def _declared_prompts(manifest: Manifest) -> Iterator[_Declared]:
    for name in sorted(manifest.agents):
        for prompt in manifest.agents[name].prompts or ():
            yield _Declared(
                agent=name,
                index=prompt.index,
                path=normalise_prompt_path(prompt.path),
                version=prompt.version,
                rollback_to=prompt.rollback_to,
            )


def _version_line(manifest: Manifest, declared: _Declared) -> int | None:
    return manifest.line_of("agents", declared.agent, "prompts", declared.index, "version")


def _read_prompt(paths: ManifestPaths, path: str) -> bytes | None:
    """The prompt file's bytes, None when it does not exist; :class:`OutsideRepository` when
    it resolves outside the repository (never read, so never hashed)."""
    file = paths.resolve(path)
    try:
        return file.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def build_lock(manifest: Manifest, previous: Lock | None) -> Lock:
    """The lock for the manifest's prompts as they are now, keeping ``previous``'s history.

    Raises :class:`LockError` (every problem at once, each at its manifest line) when a prompt
    file is missing or unreadable, when two agents declare one file at different versions, or
    when a file's content differs from what ``previous`` locked under the same version: a
    changed prompt needs a new version, it cannot be re-locked under the old one.
    """
    problems: list[LockProblem] = []
    versions: dict[str, tuple[str, _Declared]] = {}
    for declared in _declared_prompts(manifest):
        first = versions.get(declared.path)
        if first is None:
            versions[declared.path] = (declared.version, declared)
        elif first[0] != declared.version:
            problems.append(
                LockProblem(
                    manifest.path,
                    _version_line(manifest, declared),
                    f"{declared.path} is declared at {declared.version} by agent "
                    f"{declared.agent} but at {first[0]} by agent {first[1].agent}; "
                    "one file has one version",
                )
            )
    prompts: dict[str, LockedPrompt] = {}
    paths = ManifestPaths(manifest)
    for path, (version, declared) in sorted(versions.items()):
        try:
            content = _read_prompt(paths, path)
        except OutsideRepository as error:
            problems.append(
                LockProblem(
                    manifest.path,
                    manifest.line_of("agents", declared.agent, "prompts", declared.index, "path"),
                    f"agents.{declared.agent}.prompts[{declared.index}].path: {error}; "
                    "expected a path inside the repository",
                )
            )
            continue
        except OSError as exc:
            problems.append(
                LockProblem(
                    manifest.path,
                    _version_line(manifest, declared),
                    f"cannot read prompt file {path}: {exc.strerror or type(exc).__name__}",
                )
            )
            continue
        if content is None:
            problems.append(
                LockProblem(
                    manifest.path,
                    _version_line(manifest, declared),
                    f"prompt file {path} does not exist, so it cannot be locked",
                )
            )
            continue
        digest = prompt_sha256(content)
        earlier = previous.prompts.get(path) if previous is not None else None
        history = dict(earlier.history) if earlier is not None else {}
        locked = history.get(version)
        if locked is not None and locked != digest:
            problems.append(
                LockProblem(
                    manifest.path, _version_line(manifest, declared), _bump_message(path, version)
                )
            )
            continue
        history[version] = digest
        prompts[path] = LockedPrompt(path=path, version=version, sha256=digest, history=history)
    if problems:
        raise LockError(problems)
    return Lock(prompts=prompts)


def record_version(lock: Lock, path: str, version: str, content: bytes) -> Lock:
    """``lock`` with ``content`` added to ``path``'s history as ``version`` (e.g. from a git tag).

    The current pin does not move. Raises :class:`LockError` when ``path`` is not in the lock,
    ``version`` is not a semantic version, or ``version`` is already locked with other content.
    """
    key = normalise_prompt_path(path)
    entry = lock.prompts.get(key)
    if entry is None:
        raise LockError([LockProblem(key, None, f"not in the lock; run `{LOCK_COMMAND}` first")])
    if _SEMVER.match(version) is None:
        raise LockError(
            [LockProblem(key, None, f"{version!r} is not a semantic version such as 3.1.0")]
        )
    digest = prompt_sha256(content)
    locked = entry.history.get(version)
    if locked is not None and locked != digest:
        raise LockError(
            [LockProblem(key, None, f"{version} is already locked with different content")]
        )
    history = {**entry.history, version: digest}
    updated = LockedPrompt(path=key, version=entry.version, sha256=entry.sha256, history=history)
    return Lock(prompts={**lock.prompts, key: updated})


def _lock_document(lock: Lock) -> dict[str, Any]:
    return {
        "lock_version": LOCK_FORMAT_VERSION,
        "hashing": HASHING,
        "prompts": {
            path: {
                "version": entry.version,
                "sha256": entry.sha256,
                "history": dict(entry.history),
            }
            for path, entry in lock.prompts.items()
        },
    }


def dumps_lock(lock: Lock) -> str:
    """The canonical text of a lock: sorted keys, two-space indent, final newline."""
    return json.dumps(_lock_document(lock), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_lock(path: Path, lock: Lock) -> None:
    """Write ``lock`` to ``path`` atomically (a reader sees the old lock or the new one)."""
    write_atomic(path, dumps_lock(lock))


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def read_lock(path: Path, *, display: str | None = None) -> Lock:
    """Read and validate a lock file; raise :class:`LockError` naming its file and line.

    ``display`` is the name errors use (default ``str(path)``). A missing file is a LockError
    too; callers that treat "no lock" as a finding check ``path.exists()`` first.
    """
    shown = display if display is not None else str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise LockError(
            [LockProblem(shown, None, f"no such lock file; run `{LOCK_COMMAND}` to create it")]
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise LockError([LockProblem(shown, line, "the lock file is not UTF-8 text")]) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LockError(
            [LockProblem(shown, None, f"cannot read the lock file: {reason}")]
        ) from None
    try:
        document = json.loads(text, object_pairs_hook=_reject_duplicates)
    except _DuplicateKey as exc:
        message = f"duplicate key {json.dumps(exc.key)}; expected each key once"
        problem = LockProblem(shown, _duplicate_key_line(text, exc.key), message)
        raise LockError([problem]) from None
    except json.JSONDecodeError as exc:
        raise LockError(
            [
                LockProblem(
                    shown,
                    exc.lineno,
                    f"not valid JSON: {exc.msg} (column {exc.colno}); "
                    f"fix it or delete the file and run `{LOCK_COMMAND}`",
                )
            ]
        ) from None
    errors = []
    if not certainly_valid("pytest_agent_readiness", f"schemas/{SCHEMA_RESOURCE}", document):
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(lock_schema())
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise LockError(
            [
                LockProblem(
                    shown,
                    json_value_line(text, list(error.absolute_path)),
                    _schema_message(error),
                )
                for error in errors[:25]
            ]
        )
    prompts: dict[str, LockedPrompt] = {}
    problems: list[LockProblem] = []
    for key, spec in sorted(document["prompts"].items()):
        history = cast("dict[str, str]", spec["history"])
        if history.get(spec["version"]) != spec["sha256"]:
            problems.append(
                LockProblem(
                    shown,
                    json_value_line(text, ["prompts", key, "history"]),
                    f"prompts[{json.dumps(key)}]: history has no entry "
                    f"{spec['version']} -> {spec['sha256']} for the current pin; "
                    f"the lock was edited by hand: run `{LOCK_COMMAND}`",
                )
            )
            continue
        prompts[key] = LockedPrompt(
            path=key, version=spec["version"], sha256=spec["sha256"], history=dict(history)
        )
    if problems:
        raise LockError(problems)
    return Lock(prompts=prompts)


def _schema_message(error: Any) -> str:
    where = "".join(
        f"[{item}]" if isinstance(item, int) else f"[{json.dumps(item)}]"
        for item in error.absolute_path
    )
    expected = f"; expected a lock written by `{LOCK_COMMAND}`"
    return f"{where or '(document root)'}: {error.message}{expected}"


def _duplicate_key_line(text: str, key: str) -> int | None:
    # The second occurrence of the key is the duplicate (close enough for a hand-edited lock).
    pattern = re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:"
    starts = [match.start() for match in re.finditer(pattern, text)]
    return text.count("\n", 0, starts[1]) + 1 if len(starts) >= 2 else None


_WHITESPACE = re.compile(r"[ \t\n\r]*")


def json_value_line(text: str, path: Sequence[str | int]) -> int | None:
    """The 1-based line where the value at ``path`` starts in JSON ``text``.

    When the path does not exist, the line of its deepest existing ancestor; None when the
    scan meets text that is not JSON. Values passed over are skipped by the C decoder.
    """
    decoder = json.JSONDecoder()
    scanstring = cast(Any, json.decoder).scanstring

    def skip(index: int) -> int:
        match = _WHITESPACE.match(text, index)
        return match.end() if match is not None else index

    try:
        index = skip(0)
        for item in path:
            opener = text[index]
            if isinstance(item, str) and opener == "{":
                cursor = skip(index + 1)
                while text[cursor] == '"':
                    key, cursor = scanstring(text, cursor + 1)
                    cursor = skip(cursor)
                    cursor = skip(cursor + 1)  # past ':'
                    if key == item:
                        break
                    _, cursor = decoder.raw_decode(text, cursor)
                    cursor = skip(cursor)
                    if text[cursor] == ",":
                        cursor = skip(cursor + 1)
                else:
                    break  # no such key: report the object
                index = cursor
            elif isinstance(item, int) and opener == "[":
                cursor = skip(index + 1)
                position = 0
                while text[cursor] != "]" and position < item:
                    _, cursor = decoder.raw_decode(text, cursor)
                    cursor = skip(cursor)
                    if text[cursor] == ",":
                        cursor = skip(cursor + 1)
                    position += 1
                if text[cursor] == "]":
                    break
                index = cursor
            else:
                break
    except (ValueError, IndexError):
        return None
    return text.count("\n", 0, index) + 1


def verify(manifest: Manifest, lock: Lock | None, *, lock_path_display: str) -> list[PromptFinding]:
    """Compare every declared prompt with its file and the lock; [] means all pinned.

    ``lock`` None means there is no lock file (``lock_path_display`` names where it should be).
    Findings come in agent, then prompt order. Only ``content-changed`` is critical: the
    others mean "not proven pinned", which the lock command or a version bump fixes.
    """
    findings: list[PromptFinding] = []
    paths = ManifestPaths(manifest)
    for declared in _declared_prompts(manifest):
        findings.extend(_verify_prompt(paths, lock, declared, lock_path_display))
    return findings


def _verify_prompt(
    paths: ManifestPaths, lock: Lock | None, declared: _Declared, lock_path_display: str
) -> Iterator[PromptFinding]:
    def finding(kind: FindingKind, message: str, *, critical: bool = False) -> PromptFinding:
        return PromptFinding(
            agent=declared.agent,
            prompt_index=declared.index,
            path=declared.path,
            kind=kind,
            message=message,
            critical=critical,
        )

    path, version = declared.path, declared.version
    try:
        content = _read_prompt(paths, path)
    except OutsideRepository:
        yield finding("outside-repository", f"prompt file {path} is outside the repository")
        return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        yield finding("file-missing", f"prompt file {path} cannot be read: {reason}")
        return
    if content is None:
        yield finding("file-missing", f"prompt file {path} does not exist")
        return
    if lock is None:
        yield finding(
            "lock-missing",
            f"no prompt lock at {lock_path_display}, so {path}@{version} is not pinned: "
            f"run `{LOCK_COMMAND}` and commit {LOCK_NAME}",
        )
        return
    entry = lock.prompts.get(path)
    if entry is None:
        yield finding(
            "not-locked",
            f"{path} is not in {lock_path_display}: run `{LOCK_COMMAND}` and commit the lock",
        )
        return
    digest = prompt_sha256(content)
    locked = entry.history.get(version)
    if locked is not None and locked != digest:
        yield finding("content-changed", _bump_message(path, version), critical=True)
    elif locked is None:
        relation = "newer than" if _semver_key(version) > _semver_key(entry.version) else "not"
        detail = (
            f"the lock's {entry.version}"
            if relation == "newer than"
            else f"a version in {lock_path_display} (locked: {_versions(entry)})"
        )
        yield finding(
            "version-not-locked",
            f"{path} is at {version} in the manifest, {relation} {detail}: "
            f"run `{LOCK_COMMAND}` and commit the lock",
        )
    elif entry.version != version:
        yield finding(
            "lock-stale",
            f"{path} matches its locked {version}, but {lock_path_display} still pins "
            f"{entry.version} as current: run `{LOCK_COMMAND}` and commit the lock",
        )
    rollback = declared.rollback_to
    if rollback is not None and rollback not in entry.history:
        yield finding(
            "rollback-unknown",
            f"{path}: rollback_to {rollback} is not in the lock history "
            f"(locked: {_versions(entry)}), so its content is unknown; record it once from a "
            f"copy of its text: `{record_hint(path, rollback)}` (e.g. FILE from "
            f"`git show COMMIT:{path}`), or roll back to a locked version",
        )


def record_hint(path: str, version: str) -> str:
    """The command that records ``version`` of the prompt at ``path`` from a copy of its text."""
    return f"{LOCK_COMMAND} --record {path}@{version}=FILE"


def _versions(entry: LockedPrompt) -> str:
    return ", ".join(sorted(entry.history, key=_semver_key))
