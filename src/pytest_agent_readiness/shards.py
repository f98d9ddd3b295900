"""Sharded CI: each shard writes its evidence; ``agent-readiness merge`` judges them together.

A shard (``pytest --readiness --readiness-shard I/N``) runs the project's tests and every N-th
probe and adversarial case, and writes a *partial* document: the evidence it saw, which items
it was to run and which ran. The merge refuses partials of another manifest, another prompt
lock, another date, a missing or a repeated shard; then it judges the union of the evidence
with the same code a single run uses, so the scorecard is the one an unsharded run writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .evidence import EvidenceInputError, Judge, RunEvidence, load_imports, load_suites
from .model import Manifest

PARTIAL_KIND = "agent-readiness-partial"
PARTIAL_VERSION = 1


class MergeError(ValueError):
    """Partials that cannot be merged; the message names the files and why."""


def _lock_sha256(manifest: Manifest) -> str | None:
    from .lock import LockError, lock_path_for

    try:
        path = lock_path_for(manifest)
    except LockError:
        return None  # a lock linked out of the repository is never read (INF-005 says so)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def partial_document(
    *,
    manifest: Manifest,
    shard: tuple[int, int],
    as_of: date,
    run: RunEvidence,
    expected: Iterable[str],
    ran: Iterable[str],
    incomplete: Sequence[str],
    ci_run: Mapping[str, str],
    manifest_in_repository: str,
) -> dict[str, Any]:
    """What one shard hands the merge."""
    return {
        "kind": PARTIAL_KIND,
        "schema_version": PARTIAL_VERSION,
        "shard": {"index": shard[0], "count": shard[1]},
        # ``path`` finds the manifest and its test ids (relative to the rootdir); ``file`` is
        # where the scorecard's locations point (relative to the repository root).
        "manifest": {
            "path": manifest.path,
            "file": manifest_in_repository,
            "sha256": manifest.sha256,
        },
        "lock_sha256": _lock_sha256(manifest),
        "as_of": as_of.isoformat(),
        "evidence": run.to_json(),
        "expected": sorted(expected),
        "ran": sorted(set(ran) & set(expected)),
        "incomplete_reasons": list(incomplete),
        "run": dict(sorted(ci_run.items())),
    }


@dataclass(frozen=True)
class Partial:
    path: str
    document: Mapping[str, Any]

    @property
    def index(self) -> int:
        return int(self.document["shard"]["index"])

    @property
    def count(self) -> int:
        return int(self.document["shard"]["count"])


def read_partial(path: Path) -> Partial:
    """One shard's partial document (MergeError when it is not one)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MergeError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MergeError(f"{path}: not a partial scorecard: {error}") from None
    if not isinstance(document, dict) or document.get("kind") != PARTIAL_KIND:
        raise MergeError(
            f"{path}: not a partial scorecard (write one with pytest --readiness "
            "--readiness-shard I/N --readiness-json PATH)"
        )
    if document.get("schema_version") != PARTIAL_VERSION:
        raise MergeError(
            f"{path}: partial schema_version {document.get('schema_version')!r}; "
            f"this version reads {PARTIAL_VERSION}"
        )
    try:
        Partial(str(path), document).index  # noqa: B018 - validates the shard fields
        RunEvidence.from_json(document["evidence"])
        for key in ("manifest", "as_of", "expected", "ran", "incomplete_reasons"):
            document[key]
    except (KeyError, TypeError, ValueError) as error:
        raise MergeError(f"{path}: malformed partial scorecard: {error}") from None
    return Partial(str(path), document)


def _same(partials: Sequence[Partial], what: str, value: Any) -> None:
    values = {json.dumps(value(p), sort_keys=True) for p in partials}
    if len(values) > 1:
        shown = ", ".join(f"{p.path}: {value(p)}" for p in partials)
        raise MergeError(f"the partials come from different {what}: {shown}")


def check_partials(partials: Sequence[Partial]) -> None:
    """Every shard exactly once, all of one manifest, prompt lock and date."""
    if not partials:
        raise MergeError("no partial scorecards given")
    _same(partials, "manifests", lambda p: p.document["manifest"]["sha256"])
    _same(partials, "prompt locks", lambda p: p.document["lock_sha256"])
    _same(partials, "dates (as_of)", lambda p: p.document["as_of"])
    _same(partials, "shard counts", lambda p: p.count)
    count = partials[0].count
    seen: dict[int, str] = {}
    for partial in partials:
        if partial.index in seen:
            raise MergeError(
                f"shard {partial.index}/{count} given twice: {seen[partial.index]} "
                f"and {partial.path}"
            )
        seen[partial.index] = partial.path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise MergeError(
            f"missing shard(s) {', '.join(f'{i}/{count}' for i in missing)}: a "
            "merge of some shards cannot certify readiness"
        )


def _manifest_in_repository(manifest: Mapping[str, Any]) -> str:
    """Where the shards' scorecard locations point: the partial's ``file``; for a partial from
    before that field, the rootdir-relative ``path`` is the best there is."""
    file = manifest.get("file")
    return file if isinstance(file, str) and file else str(manifest["path"])


def merge(partials: Sequence[Partial], manifest: Manifest, judge_registry: Any) -> dict[str, Any]:
    """The scorecard of the whole run the shards split between them."""
    check_partials(partials)
    first = partials[0].document
    if manifest.sha256 != first["manifest"]["sha256"]:
        raise MergeError(
            f"{manifest.path} is not the manifest the shards ran with (its content changed)"
        )
    if _lock_sha256(manifest) != first["lock_sha256"]:
        raise MergeError("agent-readiness.lock is not the prompt lock the shards ran with")
    run = RunEvidence()
    expected: set[str] = set()
    ran: set[str] = set()
    reasons: list[str] = []
    for partial in sorted(partials, key=lambda p: p.index):
        run.absorb(RunEvidence.from_json(partial.document["evidence"]))
        expected |= set(partial.document["expected"])
        ran |= set(partial.document["ran"])
        reasons += [r for r in partial.document["incomplete_reasons"] if r not in reasons]
    missing = expected - ran
    if missing and not any("did not run" in r or "deselected" in r for r in reasons):
        reasons.append(f"{len(missing)} readiness check(s) did not run (e.g. {sorted(missing)[0]})")
    try:
        suites = load_suites(manifest, manifest.path)
        imported = load_imports(manifest, manifest.path)
    except EvidenceInputError as error:
        raise MergeError(str(error)) from None
    unknown = sorted(
        {check for entry in run.records.values() for check, _, _ in entry.claims}
        - set(judge_registry.checks)
    )
    if unknown:
        raise MergeError(
            f"the shards hold evidence for checks this merge does not know: "
            f"{', '.join(unknown)} (policy-pack checks are judged in pytest runs)"
        )
    judge = Judge(
        manifest=manifest,
        registry=judge_registry,
        manifest_nodeid=first["manifest"]["path"],
        today=date.fromisoformat(first["as_of"]),
        suites=suites,
        imported=imported,
        manifest_in_repository=_manifest_in_repository(first["manifest"]),
    )
    return judge.scorecard(run, reasons, first.get("run") or {})
