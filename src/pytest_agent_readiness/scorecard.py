"""The scorecard: one versioned JSON document that every report renders.

Same inputs give the same bytes: keys are sorted, lists are in a fixed order, and nothing
that varies between runs (times, absolute paths, hosts) is written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

from . import __version__
from .checks import CheckResult
from .model import next_stage
from .schemacheck import shipped_schema
from .scoring import Assessment

SCHEMA_VERSION = 2
# Version 1 named the manifest file ``manifest.path`` and a check's place inside the document
# ``manifest_path`` (beside ``manifest_line``): renderers took the second for a file name. It is
# still read, and upgraded on the way in.
READABLE_VERSIONS = (1, SCHEMA_VERSION)
TOOL_NAME = "pytest-agent-readiness"


class ScorecardError(Exception):
    """A file that is not a scorecard this version can read."""


def repository_root_candidates(start: Path, environ: Mapping[str, str]) -> list[Path]:
    """Where a report's paths are relative to, best first: the Actions checkout
    (``GITHUB_WORKSPACE``), the git work tree around ``start``, then ``start`` itself."""
    candidates: list[Path] = []
    workspace = environ.get("GITHUB_WORKSPACE", "").strip()
    if workspace:
        candidates.append(Path(workspace).resolve())
    here = start.resolve()
    # The nearest '.git' (a directory, or a file in a worktree or submodule) marks the top
    # level git would report, without running git.
    top = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    if top is not None:
        candidates.append(top)
    candidates.append(here)
    return candidates


def repository_path(path: Path, rootdir: Path, environ: Mapping[str, str]) -> str:
    """``path`` relative to the repository root, '/'-separated: what code scanning, annotations
    and JUnit viewers resolve against the checkout, whatever directory pytest ran in.

    The root is the first of :func:`repository_root_candidates` that holds ``path`` (so a run in
    a temporary directory under Actions is not made relative to the workspace); a path outside
    all of them stays relative to ``rootdir`` (``../policy/agent-readiness.yaml``).
    """
    target = path.resolve()
    for root in repository_root_candidates(rootdir, environ):
        if target.is_relative_to(root):
            return target.relative_to(root).as_posix()
    try:
        return Path(os.path.relpath(target, rootdir.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return target.as_posix()


def _check_entry(result: CheckResult, file: str) -> dict[str, Any]:
    check = result.check
    return {
        "id": check.id,
        "title": check.title,
        "dimension": check.dimension,
        "severity": check.severity,
        "weight": check.weight,
        "level": result.level,
        "full_level": check.full_level,
        "passed": result.passed,
        "points": result.points,
        "max_points": check.max_points,
        "reason": result.reason,
        "remediation": check.remediation,
        "file": file,
        "line": result.line,
        "document_path": result.document_path,
        "evidence": list(result.evidence),
        "failed_evidence": list(result.failed_evidence),
        "evidence_sources": dict(result.evidence_sources),
        "waiver": dict(result.waiver) if result.waiver is not None else None,
    }


def _owner(assessment: Assessment, name: str) -> str | None:
    owner = assessment.manifest.agents[name].owner
    if owner is None:
        return None
    return owner.name or owner.raw


def build_scorecard(
    assessment: Assessment,
    *,
    run: Mapping[str, str] | None = None,
    adversarial: Mapping[str, Any] | None = None,
    coverage: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
    manifest_in_repository: str | None = None,
) -> dict[str, Any]:
    """The scorecard document for ``assessment``.

    ``run`` names the CI run that produced it; ``adversarial`` holds pass rates per agent,
    suite and prompt version, ``coverage`` the cases per taxonomy id. ``manifest_in_repository``
    is the manifest file relative to the repository root (:func:`repository_path`); without it,
    the manifest's path relative to the rootdir (the root of last resort) stands in."""
    manifest = assessment.manifest
    file = manifest_in_repository if manifest_in_repository is not None else manifest.path
    verdict = assessment.verdict
    agents: dict[str, Any] = {}
    for name, score in assessment.agents.items():
        agents[name] = {
            "stage": score.agent.stage,
            # The declarations an organisation's inventory reads (how long in this stage, when
            # permissions were last reviewed, which prompt versions run), as the manifest says.
            "stage_changed": score.agent.stage_changed,
            "permissions_reviewed": score.agent.permissions_reviewed,
            "prompts": [
                {"path": prompt.path, "version": prompt.version}
                for prompt in score.agent.prompts or ()
            ],
            "gated": score.agent.gated,
            "owner": _owner(assessment, name),
            "total": score.total,
            "dimensions": dict(score.dimensions),
            "checks": [_check_entry(result, file) for result in score.results],
            "promotion": {
                "next_stage": next_stage(score.agent.stage),
                "blockers": [
                    {"id": r.check.id, "title": r.check.title, "reason": r.reason}
                    for r in score.promotion_blockers
                ],
            },
        }
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "project": manifest.project,
        "manifest": {"file": file, "sha256": manifest.sha256},
        "as_of": assessment.today.isoformat(),
        "verdict": "ready" if verdict.ready else "not_ready",
        "incomplete": bool(verdict.incomplete_reasons),
        "incomplete_reasons": list(verdict.incomplete_reasons),
        "total": verdict.total,
        "dimensions": dict(verdict.dimensions),
        "gate": {
            "min_total": manifest.gate.min_total,
            "min_dimension": manifest.gate.min_dimension,
            "failures": list(verdict.failures),
        },
        "agents": agents,
        "waivers": [
            {
                "check": o.waiver.check,
                "agent": o.waiver.agent,
                "reason": o.waiver.reason,
                "approved_by": o.waiver.approved_by,
                "expires": o.waiver.expires,
                "status": o.status,
                "note": o.note,
                "file": file,
                "line": o.manifest_line,
            }
            for o in assessment.waivers
        ],
        "warnings": [*assessment.warnings, *warnings],
        "adversarial": dict(adversarial or {}),
        "coverage": dict(coverage or {}),
    }
    if run:
        document["run"] = dict(sorted(run.items()))
    return document


def dumps(document: Mapping[str, Any]) -> str:
    """The canonical text of a scorecard: sorted keys, two-space indent, final newline."""
    return json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@cache
def scorecard_schema() -> Mapping[str, Any]:
    """The scorecard's JSON Schema, as shipped in the package."""
    return shipped_schema("pytest_agent_readiness", "schemas/scorecard.schema.json")


def upgrade_scorecard(document: Any) -> Any:
    """A version-1 scorecard with its fields renamed to this version's; anything else as is.

    Version 1's ``manifest.path`` was the manifest file (relative to the rootdir, the best
    there is); a check's ``manifest_path`` was the place inside the document."""
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        return document
    upgraded = dict(document, schema_version=SCHEMA_VERSION)
    manifest = document.get("manifest")
    file = None
    if isinstance(manifest, dict):
        file = manifest.get("path")
        upgraded["manifest"] = {
            ("file" if key == "path" else key): value for key, value in manifest.items()
        }
    renamed = {"manifest_line": "line", "manifest_path": "document_path"}

    def located(entry: Any) -> Any:
        if not isinstance(entry, dict):
            return entry
        moved = {renamed.get(key, key): value for key, value in entry.items()}
        if isinstance(file, str):
            moved.setdefault("file", file)
        return moved

    agents = document.get("agents")
    if isinstance(agents, dict):
        upgraded["agents"] = {
            name: (
                dict(agent, checks=[located(check) for check in agent["checks"]])
                if isinstance(agent, dict) and isinstance(agent.get("checks"), list)
                else agent
            )
            for name, agent in agents.items()
        }
    if isinstance(document.get("waivers"), list):
        upgraded["waivers"] = [located(waiver) for waiver in document["waivers"]]
    return upgraded


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_lone_surrogates(value: Any, where: str, found: list[str]) -> Any:
    """``value`` with every lone surrogate (JSON allows ``"\\ud800"``, Unicode does not, and no
    file or terminal can take one) replaced by U+FFFD; ``found`` collects where."""
    if isinstance(value, str):
        if _LONE_SURROGATE.search(value):
            found.append(where or "(root)")
            return _LONE_SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, list):
        return [
            _replace_lone_surrogates(item, f"{where}/{i}", found) for i, item in enumerate(value)
        ]
    if isinstance(value, dict):
        return {
            _replace_lone_surrogates(key, f"{where}/(key)", found): _replace_lone_surrogates(
                item, f"{where}/{_LONE_SURROGATE.sub('?', key)}", found
            )
            for key, item in value.items()
        }
    return value


def load_scorecard(path: Path) -> dict[str, Any]:
    """Read a scorecard back, refusing anything that is not one (ScorecardError).

    A version-1 scorecard is upgraded to this version's field names. Lone surrogates are
    replaced by U+FFFD and reported in the scorecard's warnings, so every report still renders
    (and says so) instead of failing on output."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScorecardError(f"{path}: no such scorecard file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = f":{error.lineno}" if isinstance(error, json.JSONDecodeError) else ""
        raise ScorecardError(f"{path}{line}: not a JSON scorecard: {error}") from None
    if isinstance(document, dict) and document.get("schema_version") not in (
        None,
        *READABLE_VERSIONS,
    ):
        raise ScorecardError(
            f"{path}: scorecard schema_version {document.get('schema_version')!r}; "
            f"this version reads {' and '.join(map(str, READABLE_VERSIONS))}"
        )
    surrogates: list[str] = []
    document = upgrade_scorecard(_replace_lone_surrogates(document, "", surrogates))
    invalid = best_match(Draft202012Validator(scorecard_schema()).iter_errors(document))
    if invalid is not None:
        # Keys are the file's own text (agent names): escaped, so an error message cannot
        # carry a newline, a control character or a workflow command into the log.
        where = "/".join(ascii(str(part))[1:-1] for part in invalid.absolute_path) or "(root)"
        raise ScorecardError(f"{path}: not a valid scorecard at {where}: {invalid.message}")
    if surrogates:
        document["warnings"] = [
            *document.get("warnings", []),
            f"{path.name}: {len(surrogates)} string(s) held a lone surrogate, which is not "
            f"text (first at {surrogates[0]}); shown as U+FFFD",
        ]
    return cast("dict[str, Any]", document)
