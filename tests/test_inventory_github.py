"""Org mode: each repository's newest scorecard artifact, read from a real HTTP server on
127.0.0.1 that plays GitHub (and its artifact storage on a second port), with GitHub's faults."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_github import FakeGitHub, FakeStorage, Fault
from pytest_agent_readiness.cli import main
from pytest_agent_readiness.github import GitHubClient
from pytest_agent_readiness.inventory import ARTIFACT_NAME, InventoryError
from pytest_agent_readiness.inventory_github import OrgScan, frameworks_named, scan_org

DATA = Path(__file__).parent / "data" / "inventory"
TOKEN = "ghs_fake-token-0123456789"


def zipped(*members: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members:
            bundle.writestr(name, data)
    return buffer.getvalue()


def artifact(
    artifact_id: int,
    created: str,
    *,
    branch: str = "main",
    expired: bool = False,
    fork: bool = False,
) -> dict[str, object]:
    return {
        "id": artifact_id,
        "name": ARTIFACT_NAME,
        "expired": expired,
        "created_at": created,
        "workflow_run": {
            "head_branch": branch,
            "head_sha": "0" * 40,
            "repository_id": 7,
            "head_repository_id": 7 if not fork else 8,
        },
    }


def publish(fake: FakeGitHub, repo: str, artifact_id: int, example: str, **kwargs: object) -> None:
    """``repo`` publishes the real scorecard of ``example`` as artifact ``artifact_id``."""
    fake.artifacts.setdefault(repo, []).append(artifact(artifact_id, **kwargs))  # type: ignore[arg-type]
    card = (DATA / f"{example}.json").read_bytes()
    fake.archives[artifact_id] = zipped(("agent-readiness-scorecard.json", card))


@pytest.fixture
def org() -> Iterator[tuple[FakeGitHub, FakeStorage]]:
    """An organisation of five repositories: three publish scorecards (one of them has a newer
    one on a feature branch and an older one on main), one builds an agent with none, one has
    nothing to do with agents."""
    with FakeGitHub(token=TOKEN) as fake, FakeStorage(fake) as storage:
        fake.org_repos["acme"] = [
            {"full_name": f"acme/{name}", "default_branch": "main"}
            for name in ("support-triage", "pydantic-ai-refunds", "unready-pilot", "shadow", "docs")
        ]
        publish(fake, "acme/support-triage", 11, "support-triage", created="2026-12-01T10:00:00Z")
        publish(
            fake, "acme/pydantic-ai-refunds", 21, "unready-pilot", created="2026-11-01T10:00:00Z"
        )
        publish(
            fake,
            "acme/pydantic-ai-refunds",
            22,
            "pydantic-ai-refunds",
            created="2026-12-02T10:00:00Z",
        )
        publish(
            fake, "acme/pydantic-ai-refunds", 23, "broken-kill-switch",
            created="2026-12-03T10:00:00Z", branch="feature",
        )  # fmt: skip
        # A fork's pull request from the fork's own main: not this repository's default branch.
        publish(
            fake, "acme/pydantic-ai-refunds", 24, "broken-kill-switch",
            created="2026-12-03T11:00:00Z", fork=True,
        )  # fmt: skip
        publish(fake, "acme/unready-pilot", 31, "unready-pilot", created="2026-12-01T10:00:00Z")
        fake.files["acme/shadow"] = {
            "pyproject.toml": '[project]\ndependencies = ["Pydantic_AI>=1.0", "httpx"]\n',
            "requirements-dev.txt": "langgraph==0.6\npytest\n",
            "README.md": "uses openai-agents",  # not a dependency file
        }
        fake.files["acme/docs"] = {"requirements.txt": "mkdocs\nlangchain-text-splitters\n"}
        yield fake, storage


def scan(fake: FakeGitHub, **client: object) -> tuple[OrgScan, list[float]]:
    waits: list[float] = []
    with GitHubClient(fake.url, TOKEN, sleep=waits.append, **client) as github:  # type: ignore[arg-type]
        return scan_org(github, "acme"), waits


def test_each_repository_gives_its_newest_default_branch_scorecard(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, storage = org
    found, _ = scan(fake)

    assert {card.repository: card.document["project"] for card in found.cards} == {
        "acme/support-triage": "support-automation",
        # artifact 22, not 21 (older) or 23 (newer, but from a feature branch)
        "acme/pydantic-ai-refunds": "payments-automation",
        "acme/unready-pilot": "refunds-pilot",
    }
    assert found.unreadable == []
    # The agent framework in a repository without a scorecard, from its dependency files only.
    assert [(u.repository, u.evidence) for u in found.unregistered] == [
        ("acme/shadow", ("pyproject.toml: pydantic-ai", "requirements-dev.txt: langgraph"))
    ]
    # Storage got every download, on another port, and never the token.
    assert sorted(r.path for r in storage.requests) == ["/blob/11", "/blob/22", "/blob/31"]
    assert all("authorization" not in r.headers for r in storage.requests)
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in fake.requests)


def test_pagination_of_repositories_and_artifacts(org: tuple[FakeGitHub, FakeStorage]) -> None:
    fake, _ = org
    fake.page_size = 1
    found, _ = scan(fake)

    assert len(found.cards) == 3
    pages = [r for r in fake.requests if r.path == "/orgs/acme/repos"]
    assert len(pages) == 5
    assert [r.query.get("page") for r in pages] == [None, ["2"], ["3"], ["4"], ["5"]]


def test_rate_limits_and_server_errors_are_retried_after_the_wait_they_ask(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, storage = org
    fake.fail_next("org_repos", Fault.secondary_rate_limit(retry_after=7, status=429))
    fake.fail_next("artifacts", Fault.secondary_rate_limit(retry_after=3))
    fake.fail_next("artifact_zip", Fault.server_error(502))
    storage.failures = 2
    found, waits = scan(fake)

    assert len(found.cards) == 3
    assert found.unreadable == []
    assert waits[:2] == [7.0, 3.0]
    assert len(waits) == 5  # and a backoff for the 502 and for each of storage's two 503s
    assert len(storage.requests) == 5


def test_storage_that_keeps_failing_makes_the_repository_unreadable(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, storage = org
    storage.failures = 100
    found, _ = scan(fake, max_retries=1)

    assert len(found.unreadable) == 3
    assert all(
        u.reason.endswith("storage answered HTTP 503 (gave up after 2 attempts)")
        for u in found.unreadable
    )
    assert all("sig=" not in u.reason for u in found.unreadable)  # the signed URL stays out


def test_a_token_that_cannot_read_a_repository_makes_it_unreadable_not_skipped(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, _ = org
    fake.fail_next("artifacts", Fault.not_accessible())
    found, _ = scan(fake)

    (locked,) = found.unreadable
    assert locked.source == "acme/support-triage"
    assert "HTTP 403: Resource not accessible by integration" in locked.reason
    assert TOKEN not in locked.reason
    assert len(found.cards) == 2


def test_an_expired_newest_artifact_is_unreadable(org: tuple[FakeGitHub, FakeStorage]) -> None:
    fake, _ = org
    publish(
        fake,
        "acme/unready-pilot",
        32,
        "unready-pilot",
        created="2026-12-03T10:00:00Z",
        expired=True,
    )
    found, _ = scan(fake)

    (expired,) = found.unreadable
    assert expired.source == "acme/unready-pilot"
    assert "artifact 32" in expired.reason and "has expired" in expired.reason


def test_an_artifact_without_a_valid_scorecard_is_unreadable(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, _ = org
    fake.archives[31] = zipped(("agent-readiness-scorecard.json", b'{"schema_version": 2}'))
    fake.archives[11] = b"not a zip"
    found, _ = scan(fake)

    reasons = {u.source: u.reason for u in found.unreadable}
    assert "not a valid scorecard" in reasons["acme/unready-pilot"]
    assert "not a zip archive" in reasons["acme/support-triage"]


def test_an_org_the_token_cannot_list_is_bad_input(org: tuple[FakeGitHub, FakeStorage]) -> None:
    fake, _ = org
    fake.fail_next("org_repos", Fault.not_accessible())
    with pytest.raises(InventoryError, match=r"acme: cannot list its repositories: .*HTTP 403"):
        scan(fake)


def test_cli_org_mode_end_to_end_never_prints_the_token(
    org: tuple[FakeGitHub, FakeStorage],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, _ = org
    fake.fail_next("artifacts", Fault.raw(403, f"denied for token {TOKEN}"))
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["inventory", "--github-org", "acme", "--as-of", "2026-12-04", "--format", "json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)

    assert code == 1
    assert TOKEN not in captured.out + captured.err
    assert [u["repository"] for u in report["unregistered"]] == ["acme/shadow"]
    assert [u["source"] for u in report["unreadable"]] == ["acme/support-triage"]
    assert {f["kind"] for f in report["findings"]} >= {"unregistered", "unreadable"}
    assert {a["repository"] for a in report["agents"]} == {
        "acme/pydantic-ai-refunds",
        "acme/unready-pilot",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('dependencies = ["pydantic-ai-slim[openai]>=1"]', []),
        ("pydantic_ai==1.0", ["pydantic-ai"]),
        ("LangChain>=0.3\nopenai-agents", ["langchain", "openai-agents"]),
        ("langchain-core", []),
    ],
)
def test_frameworks_named_by_normalised_distribution_name(text: str, expected: list[str]) -> None:
    assert frameworks_named(text) == expected


def test_hostile_answers_make_repositories_unreadable_not_a_crash(
    org: tuple[FakeGitHub, FakeStorage],
) -> None:
    fake, _ = org
    fake.org_repos["acme"].append({"full_name": "acme/../../x\n::error::y", "default_branch": "m"})
    fake.artifacts["acme/support-triage"][0]["id"] = "11; rm -rf /"
    fake.fail_next("contents", Fault.raw(200, "<html>proxy</html>", "text/html"))
    found, _ = scan(fake)

    reasons = {u.source: u.reason for u in found.unreadable}
    assert reasons == {
        "'acme/../../x\\n::error::y'": "not a repository name; not read",
        # An artifact whose id is not a number is no artifact: the repository's files are
        # read instead, and a proxy's page there is no listing.
        "acme/support-triage": "GET /repos/acme/support-triage/contents/: expected JSON",
    }
    assert "acme/support-triage" not in {c.repository for c in found.cards}
    assert [u.repository for u in found.unregistered] == ["acme/shadow"]


def test_github_enterprise_server_through_github_api_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeGitHub(token=TOKEN, base_path="/api/v3") as fake, FakeStorage(fake):
        fake.page_size = 1
        fake.org_repos["acme"] = [
            {"full_name": f"acme/{name}", "default_branch": "trunk"}
            for name in ("support-triage", "pydantic-ai-refunds")
        ]
        for number, name in enumerate(("support-triage", "pydantic-ai-refunds"), start=1):
            publish(
                fake, f"acme/{name}", number, name, created="2026-12-01T00:00:00Z", branch="trunk"
            )
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        code = main(["inventory", "--github-org", "acme", "--as-of", "2026-12-04"])

    assert code == 0, capsys.readouterr()
    assert "2 agents, 0 findings" in capsys.readouterr().out
    assert {r.path for r in fake.requests} >= {"/api/v3/orgs/acme/repos"}
