"""Org mode of the inventory: each repository's newest scorecard artifact, read through the API.

A repository is read on its default branch: the newest artifact named
:data:`~.inventory.ARTIFACT_NAME` from a run on that branch. Anything that stops that (a token
that may not read the repository, an expired artifact, a zip without a scorecard) makes the
repository *unreadable*, which the inventory lists; a repository with no such artifact whose
dependency files name an agent framework is *unregistered*.
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TextIO
from urllib.parse import quote

from .github import (
    DEFAULT_API_URL,
    GitHubApiError,
    GitHubClient,
    GitHubError,
    _parse_base_url,
    mask_token,
    runs_in_github_actions,
)
from .inventory import (
    AGENT_FRAMEWORKS,
    ARTIFACT_NAME,
    InventoryError,
    LoadedScorecard,
    Unreadable,
    Unregistered,
    repository_of,
)

# An artifact zip bigger than this is not a scorecard.
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
MAX_DEPENDENCY_FILE_CHARS = 1_000_000
_DEPENDENCY_FILE = re.compile(r"pyproject\.toml|setup\.cfg|Pipfile|requirements[^/]*\.txt")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


@dataclass
class OrgScan:
    """What org mode found: scorecards, unreadable repositories, unregistered ones."""

    cards: list[LoadedScorecard] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    unregistered: list[Unregistered] = field(default_factory=list)


def collect_org(org: str, environ: Mapping[str, str], log: TextIO) -> OrgScan:
    """Read ``org``'s repositories with ``GITHUB_TOKEN`` (InventoryError when the token or the
    organisation cannot be used at all; per-repository trouble is in the result)."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise InventoryError("--github-org needs a token in GITHUB_TOKEN (read access to actions)")
    if not _NAME.fullmatch(org):
        raise InventoryError(f"--github-org {org!r}: not an organisation name")
    mask_token(token, log, in_actions=runs_in_github_actions(environ))
    try:
        api_url = _parse_base_url(
            "GITHUB_API_URL", environ.get("GITHUB_API_URL") or DEFAULT_API_URL
        )
    except GitHubError as error:
        raise InventoryError(str(error)) from None
    with GitHubClient(api_url, token) as client:
        return scan_org(client, org)


def scan_org(client: GitHubClient, org: str) -> OrgScan:
    """:func:`collect_org` with a client the caller made (tests point it at a fake server)."""
    scan = OrgScan()
    try:
        repositories = list(client.iter_list(f"/orgs/{quote(org, safe='')}/repos"))
    except GitHubError as error:
        raise InventoryError(f"--github-org {org}: cannot list its repositories: {error}") from None
    for repository in repositories:
        name = repository.get("full_name") if isinstance(repository, dict) else None
        branch = repository.get("default_branch") if isinstance(repository, dict) else None
        if not isinstance(name, str) or not isinstance(branch, str):
            continue
        if not _REPOSITORY.fullmatch(name):
            scan.unreadable.append(Unreadable(ascii(name), "not a repository name; not read"))
            continue
        try:
            _scan_repository(client, name, branch, scan)
        except GitHubError as error:
            scan.unreadable.append(Unreadable(name, client.scrub(str(error))))
    return scan


def _scan_repository(client: GitHubClient, repo: str, branch: str, scan: OrgScan) -> None:
    artifacts = [
        artifact
        for artifact in client.iter_list(
            f"/repos/{repo}/actions/artifacts?name={ARTIFACT_NAME}", key="artifacts"
        )
        if isinstance(artifact, dict)
        and type(artifact.get("id")) is int
        and artifact.get("name") == ARTIFACT_NAME
        and isinstance(artifact.get("workflow_run"), dict)
        and artifact["workflow_run"].get("head_branch") == branch
        # A fork's pull request from its own "main" has that head branch too: only a run of
        # this repository's own branch counts.
        and artifact["workflow_run"].get("head_repository_id")
        == artifact["workflow_run"].get("repository_id")
    ]
    if not artifacts:
        found = _agent_dependencies(client, repo, branch)
        if found:
            scan.unregistered.append(Unregistered(repo, tuple(found)))
        return
    newest = max(artifacts, key=lambda a: (str(a.get("created_at")), a["id"]))
    where = f"{repo} artifact {newest.get('id')} ({newest.get('created_at')})"
    if newest.get("expired"):
        scan.unreadable.append(
            Unreadable(repo, f"{where}: the newest scorecard artifact has expired; re-run the gate")
        )
        return
    archive = client.download(
        f"/repos/{repo}/actions/artifacts/{int(newest['id'])}/zip", max_bytes=MAX_ARTIFACT_BYTES
    )
    cards, problems = _scorecards_in(archive, where)
    for card in cards:
        if repository_of(card, None) != repo:
            card = dict(card, run=dict(card.get("run") or {}, repository=repo))
        scan.cards.append(LoadedScorecard(where, repo, card))
    scan.unreadable += [Unreadable(repo, problem) for problem in problems]


def _scorecards_in(archive: bytes, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    from .scorecard import ScorecardError, load_scorecard

    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            members = [
                info
                for info in bundle.infolist()
                if not info.is_dir() and info.filename.endswith(".json")
            ]
            if not members:
                return [], [f"{where}: holds no scorecard JSON"]
            cards: list[dict[str, Any]] = []
            problems: list[str] = []
            with tempfile.TemporaryDirectory() as scratch:
                for info in members:
                    if info.file_size > MAX_ARTIFACT_BYTES:
                        problems.append(f"{where}: {info.filename} is too large to be a scorecard")
                        continue
                    # Only the base name: a member called ../../x must not write anywhere else.
                    target = Path(scratch) / PurePosixPath(info.filename).name
                    target.write_bytes(bundle.read(info))
                    try:
                        cards.append(load_scorecard(target))
                    except ScorecardError as error:
                        problems.append(
                            f"{where}: {info.filename}: {str(error).split(': ', 1)[-1]}"
                        )
            return cards, problems
    except zipfile.BadZipFile:
        return [], [f"{where}: not a zip archive"]


def _agent_dependencies(client: GitHubClient, repo: str, branch: str) -> list[str]:
    """``file: framework`` for each agent framework the repository's root dependency files
    name."""
    try:
        listing = _json(client, f"/repos/{repo}/contents/", branch)
    except GitHubApiError as error:
        if error.status == 404:  # an empty repository has no contents, and no agent
            return []
        raise
    if not isinstance(listing, list):
        return []
    names = sorted(
        item["name"]
        for item in listing
        if isinstance(item, dict)
        and item.get("type") == "file"
        and isinstance(item.get("name"), str)
        and _DEPENDENCY_FILE.fullmatch(item["name"])
    )
    found: list[str] = []
    for name in names:
        content = _json(client, f"/repos/{repo}/contents/{quote(name)}", branch)
        text = _decoded(content)
        found += [f"{name}: {framework}" for framework in frameworks_named(text)]
    return found


def _json(client: GitHubClient, path: str, branch: str) -> Any:
    response = client.request("GET", path, params={"ref": branch})
    try:
        return response.json()
    except ValueError:
        raise GitHubApiError(f"GET {path}: expected JSON", status=response.status_code) from None


def _decoded(content: object) -> str:
    if not isinstance(content, dict) or content.get("encoding") != "base64":
        return ""
    try:
        raw = base64.b64decode(str(content.get("content", "")))
    except ValueError:
        return ""
    return raw.decode("utf-8", "replace")[:MAX_DEPENDENCY_FILE_CHARS]


def frameworks_named(text: str) -> list[str]:
    """The agent frameworks a dependency file names, by normalised distribution name
    (``pydantic_ai`` and ``Pydantic.AI`` are ``pydantic-ai``)."""
    names = {re.sub(r"[-_.]+", "-", token).lower() for token in _NAME.findall(text)}
    return [framework for framework in AGENT_FRAMEWORKS if framework in names]
