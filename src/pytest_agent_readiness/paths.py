"""Paths that repository content names, kept inside the repository.

Everything a repository holds is untrusted input: the manifest, pytest's ini file, the prompt
lock, case files and imported red-team results are all what a pull request says they are. A path
taken from any of them is resolved against the file that names it, with every symlink followed,
and must land inside that file's repository root, or it is refused. Paths the user types on the
command line are the user's own choice and are not confined.

The repository root of a file is the nearest directory at or above the file's directory
(symlinks resolved) that holds a ``.git`` entry (a folder, or the file a worktree or submodule
has): the top level ``git rev-parse --show-toplevel`` names, found without running git. Outside
a git checkout it is the file's own directory. The manifest's, the lock's and the ini file's
paths all use this one definition, so ``validate``, ``lock`` and ``pytest --readiness`` agree.

This module imports nothing but the standard library and the plain data model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .model import Agent, Manifest

__all__ = [
    "ManifestPaths",
    "OutsideRepository",
    "declared_at",
    "declared_paths",
    "escaping_paths",
    "manifest_root",
    "repository_root",
    "resolve_inside",
]

DocPath = tuple[str | int, ...]


class OutsideRepository(ValueError):
    """A path from repository content that resolves outside the repository root (or cannot be
    resolved at all: a symlink loop, a NUL byte)."""

    def __init__(self, value: str, resolved: str, root: str) -> None:
        # The arguments are the state, so default pickling works (xdist sends it back).
        super().__init__(value, resolved, root)
        self.value = value
        self.resolved = resolved
        self.root = root

    def __str__(self) -> str:
        if not self.resolved:
            return (
                f"{self.value!r} cannot be resolved (a symlink loop or a NUL byte) in {self.root}"
            )
        return f"{self.value} resolves to {self.resolved}, outside the repository root {self.root}"


def repository_root(directory: str | os.PathLike[str]) -> Path:
    """The repository root of files in ``directory``: its nearest ancestor with ``.git``, else
    ``directory`` itself (both with symlinks resolved)."""
    start = Path(directory).resolve()
    for candidate in (start, *start.parents):
        if os.path.lexists(candidate / ".git"):
            return candidate
    return start


def resolve_inside(root: Path, base: str | os.PathLike[str], value: str) -> Path:
    """``value`` (relative to ``base``, or absolute) with every symlink followed.

    Raises :class:`OutsideRepository` unless the result is ``root`` or lies under it. The path
    need not exist: its missing tail is taken as written (``..`` included), after the existing
    part's symlinks are followed.
    """
    try:
        resolved = Path(base, value).resolve()
    except (OSError, RuntimeError, ValueError):
        # A symlink loop: RuntimeError before Python 3.13, OSError after; a NUL: ValueError.
        raise OutsideRepository(value, "", str(root)) from None
    if resolved != root and root not in resolved.parents:
        raise OutsideRepository(value, str(resolved), str(root))
    return resolved


def manifest_root(manifest: Manifest) -> Path:
    """The repository root the manifest's paths must stay inside."""
    return repository_root(manifest.base_dir)


class ManifestPaths:
    """The paths one manifest declares, resolved against its directory and kept inside its
    repository; agents share files, so each distinct path's symlinks are walked once."""

    def __init__(self, manifest: Manifest) -> None:
        self.base_dir = manifest.base_dir
        self.root = manifest_root(manifest)
        self._seen: dict[str, Path | OutsideRepository] = {}

    def resolve(self, value: str) -> Path:
        """``value`` resolved inside the repository; :class:`OutsideRepository` otherwise."""
        seen = self._seen.get(value)
        if seen is None:
            try:
                seen = resolve_inside(self.root, self.base_dir, value)
            except OutsideRepository as escape:
                seen = escape
            self._seen[value] = seen
        if isinstance(seen, OutsideRepository):
            raise OutsideRepository(seen.value, seen.resolved, seen.root)
        return seen


def declared_at(manifest: Manifest, *doc_path: str | int) -> str:
    """``FILE:LINE: key`` of a value in the manifest, the way usage errors name it."""
    from .yamlsource import format_doc_path  # only on the way to an error: it imports yaml

    return f"{manifest.path}:{manifest.line_of(*doc_path)}: {format_doc_path(doc_path)}"


def declared_paths(agent: Agent) -> Iterator[tuple[DocPath, str]]:
    """Every file or folder ``agent`` declares in the repository, with its document path."""
    base = ("agents", agent.name)
    for prompt in agent.prompts or ():
        yield (*base, "prompts", prompt.index, "path"), prompt.path
    if agent.outcomes is not None and agent.outcomes.measured_path is not None:
        yield (*base, "outcomes", "measured", "path"), agent.outcomes.measured_path
    if agent.adversarial is not None:
        for index, folder in enumerate(agent.adversarial.suite_dirs):
            yield (*base, "adversarial", "suite_dirs", index), folder
        for entry in agent.adversarial.imports:
            yield (*base, "adversarial", "imports", entry.index, "path"), entry.path
    if agent.kill_switch is not None and agent.kill_switch.mechanism == "file":
        yield (*base, "kill_switch", "target"), agent.kill_switch.target


def escaping_paths(manifest: Manifest) -> Iterator[tuple[DocPath, OutsideRepository]]:
    """Each declared path of ``manifest`` that leaves its repository, with why."""
    paths = ManifestPaths(manifest)
    for name in sorted(manifest.agents):
        for doc_path, value in declared_paths(manifest.agents[name]):
            try:
                paths.resolve(value)
            except OutsideRepository as escape:
                yield doc_path, escape
