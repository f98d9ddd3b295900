"""``agent-readiness github`` as the Action runs it: a real subprocess against a real HTTP server
on 127.0.0.1 that plays the GitHub REST API (tests/fake_github.py), with scripted faults.

Whatever the API does, the exit status is the gate's verdict, the summary and outputs are
written, at most one comment exists, and the token appears nowhere but in ``::add-mask::``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _scorecards import ready_scorecard, sample_scorecard
from fake_github import BOT_LOGIN, FakeGitHub, Fault
from pytest_agent_readiness.cli import gate_fails
from pytest_agent_readiness.github import marker_comment, sticky_marker
from pytest_agent_readiness.scorecard import dumps

REPO = "acme/agents"
PR = 7
RUN = {"github_run_id": "4242", "github_run_attempt": "2"}
MARKER_TAG = marker_comment(sticky_marker("agent-readiness.yaml", "readiness"))


def with_run(card: dict[str, Any], run: dict[str, str] | None = RUN) -> dict[str, Any]:
    card = copy.deepcopy(card)
    if run is not None:
        card["run"] = dict(run)
    return card


def total_only_failure() -> dict[str, Any]:
    """Not ready on the total alone: no failed critical check, every dimension at the gate."""
    card = ready_scorecard()
    card["dimensions"] = dict.fromkeys(card["dimensions"], 3)
    card.update(verdict="not_ready", total=12)
    card["gate"]["failures"] = ["Total 12 is under min_total 14."]
    return card


@dataclass
class Job:
    """One workflow job's files and environment, for running the CLI as a step."""

    root: Path
    api_url: str
    token: str
    head_repo: str = REPO

    @property
    def summary(self) -> Path:
        return self.root / "step_summary.md"

    @property
    def outputs_file(self) -> Path:
        return self.root / "github_output"

    def outputs(self) -> dict[str, str]:
        lines = self.outputs_file.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)

    def env(self, **overrides: str) -> dict[str, str]:
        event = self.root / "event.json"
        event.write_text(
            json.dumps(
                {"pull_request": {"number": PR, "head": {"repo": {"full_name": self.head_repo}}}}
            ),
            encoding="utf-8",
        )
        # Start from a clean slate: these tests may themselves run inside GitHub Actions.
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "RUNNER_", "ACTIONS_"))
        }
        environ.update(
            GITHUB_API_URL=self.api_url,
            GITHUB_SERVER_URL="https://github.example",
            GITHUB_REPOSITORY=REPO,
            GITHUB_EVENT_NAME="pull_request",
            GITHUB_EVENT_PATH=str(event),
            GITHUB_TOKEN=self.token,
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_OUTPUT=str(self.outputs_file),
            GITHUB_RUN_ID=RUN["github_run_id"],
            GITHUB_RUN_ATTEMPT=RUN["github_run_attempt"],
            GITHUB_JOB="readiness",
            GITHUB_ACTIONS="true",
        )
        environ.update(overrides)
        return {key: value for key, value in environ.items() if value != ""}

    def run(self, card: dict[str, Any], *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        path = self.root / "scorecard.json"
        try:
            path.write_bytes(dumps(card).encode("utf-8"))
        except UnicodeEncodeError:  # a lone surrogate: only a JSON escape can spell it
            path.write_text(json.dumps(card, ensure_ascii=True), encoding="utf-8")
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_agent_readiness.cli",
                "github",
                str(path),
                "--api-max-wait",
                "5",
                "--api-timeout",
                "5",
                *args,
            ],
            env=self.env(**env),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def fake() -> Any:
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def job(tmp_path: Path, fake: FakeGitHub) -> Job:
    return Job(tmp_path, fake.url, fake.token)


def assert_token_hidden(result: subprocess.CompletedProcess[str], token: str) -> None:
    for line in (result.stdout + result.stderr).splitlines():
        if token in line:
            assert line == f"::add-mask::{token}", line
    first = result.stdout.splitlines()[0]
    assert first == f"::add-mask::{token}", "the token must be masked before any other output"


def big_unicode_scorecard() -> dict[str, Any]:
    """A scorecard whose Markdown fills a comment with 3-byte characters: under GitHub's
    65,536 characters, over 65,536 bytes (what a server counting bytes refuses)."""
    card = sample_scorecard()
    template = card["agents"]["triage-bot"]
    for index in range(40):
        agent = copy.deepcopy(template)
        for check in agent["checks"]:
            check["reason"] = "漢字の理由" * 80
        card["agents"][f"bot-{index:02d}"] = agent
    return card


# --- fault table: what reached the server, and the exit status is the verdict every time
@dataclass(frozen=True)
class Case:
    script: Callable[[FakeGitHub], None]
    comments: int  # our comments on the PR after the run
    warned: str | None  # text of the ::warning:: when the comment could not be posted


def _stranger(fake: FakeGitHub) -> None:
    fake.add_comment(REPO, PR, f"{MARKER_TAG}\nI pasted your marker", author="mallory")


CASES: dict[str, Case] = {
    "healthy": Case(lambda fake: None, 1, None),
    "read-only-403": Case(
        lambda fake: fake.fail_next("create_comment", Fault.not_accessible()),
        0,
        "Could not post the pull request comment",
    ),
    "429-retry-after": Case(
        lambda fake: fake.fail_next(
            "list_comments", Fault.secondary_rate_limit(retry_after=1, status=429)
        ),
        1,
        None,
    ),
    "rate-limit-beyond-budget": Case(
        lambda fake: fake.fail_next(
            "list_comments", Fault.secondary_rate_limit(retry_after=3600), times=10
        ),
        0,
        "Could not post the pull request comment",
    ),
    "502-then-success": Case(
        lambda fake: fake.fail_next("create_comment", Fault.server_error(502)), 1, None
    ),
    "create-applied-then-dropped": Case(
        lambda fake: fake.fail_next("create_comment", Fault.accept_then_drop()), 1, None
    ),
    "stranger-has-our-marker": Case(_stranger, 1, None),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(
    ("card", "status"), [(ready_scorecard, 0), (sample_scorecard, 1)], ids=["ready", "not-ready"]
)
def test_exit_status_is_the_verdict_whatever_the_api_does(
    tmp_path: Path, name: str, card: Callable[[], dict[str, Any]], status: int
) -> None:
    case = CASES[name]
    document = card()
    with FakeGitHub() as fake:
        case.script(fake)
        job = Job(tmp_path, fake.url, fake.token)

        result = job.run(with_run(document))

        assert result.returncode == status, result.stdout + result.stderr
        assert_token_hidden(result, fake.token)
        ours = [c for c in fake.comments_on(REPO, PR) if c.author == BOT_LOGIN]
        assert len(ours) == case.comments
        if case.comments:
            assert ours[0].body.startswith(MARKER_TAG + "\n")
            assert len(ours[0].body.encode("utf-8")) <= 65_536
        if case.warned:
            assert f"::warning title=agent-readiness::{case.warned}" in result.stdout
            assert "The verdict is unaffected" in result.stdout
        else:
            assert "::warning title=agent-readiness::" not in result.stdout, result.stdout
        # The summary and the outputs are there whatever happened on the API.
        assert job.summary.read_text(encoding="utf-8").startswith("## ")
        assert job.outputs()["verdict"] == ("ready" if status == 0 else "not_ready")
        if name == "stranger-has-our-marker":
            stranger = next(c for c in fake.comments_on(REPO, PR) if c.author == "mallory")
            assert stranger.body.endswith("I pasted your marker")
            assert not fake.requests_to("PATCH")
        if name == "429-retry-after":
            assert len(fake.requests_to("GET")) == 3  # /user, the 429, the retried list


def test_a_body_the_server_finds_too_long_is_cut_harder_and_posted(tmp_path: Path) -> None:
    # The server counts UTF-8 bytes: our 65,000-character body of 3-byte characters is refused
    # with 422 "Body is too long", then cut by bytes and accepted.
    with FakeGitHub(count_body_in="utf8") as fake:
        job = Job(tmp_path, fake.url, fake.token)

        result = job.run(with_run(big_unicode_scorecard()))

        assert result.returncode == 1, result.stdout + result.stderr
        assert "::warning title=agent-readiness::" not in result.stdout
        posts = fake.requests_to("POST")
        assert len(posts) == 2
        refused = posts[0].json()
        assert isinstance(refused, dict)
        assert len(refused["body"].encode("utf-8")) > 65_536
        (comment,) = fake.comments_on(REPO, PR)
        assert len(comment.body.encode("utf-8")) <= 65_536
        assert "Truncated" in comment.body
        assert_token_hidden(result, fake.token)


def test_two_runs_leave_one_comment_updated_in_place(job: Job, fake: FakeGitHub) -> None:
    first = job.run(with_run(sample_scorecard()))
    second = job.run(with_run(ready_scorecard()))

    assert (first.returncode, second.returncode) == (1, 0)
    comments = fake.comments_on(REPO, PR)
    assert len(comments) == 1
    assert "✅ Ready" in comments[0].body
    assert [r.method for r in fake.requests if r.method != "GET"] == ["POST", "PATCH"]
    assert "created the pull request comment" in first.stderr
    assert "updated the pull request comment" in second.stderr


def test_api_down_still_writes_summary_outputs_and_annotations(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    job = Job(tmp_path, f"http://127.0.0.1:{port}", "ghs_down-token-42")

    for card, status in [(ready_scorecard(), 0), (sample_scorecard(), 1)]:
        result = job.run(with_run(card), "--api-max-wait", "1")

        assert result.returncode == status, result.stderr
        assert_token_hidden(result, job.token)
        assert "::warning title=agent-readiness::Could not post the pull request comment" in (
            result.stdout
        )
    assert "::error file=agent-readiness.yaml" in result.stdout
    outputs = job.outputs()
    assert outputs["verdict"] == "not_ready"
    assert outputs["total"] == "11"
    assert job.summary.read_text(encoding="utf-8").count("## ") >= 2


def test_outputs_summary_annotations_and_log(job: Job, fake: FakeGitHub) -> None:
    card = with_run(sample_scorecard())

    result = job.run(card)

    assert result.returncode == 1
    outputs = job.outputs()
    assert outputs == {
        "verdict": "not_ready",
        "total": "11",
        "governance": "3",
        "infrastructure": "2",
        "observability": "3",
        "data_quality": "3",
        "scorecard-path": str(job.root / "scorecard.json"),
    }
    summary = job.summary.read_text(encoding="utf-8")
    assert summary.startswith("## ❌ Not ready")
    assert "<!-- agent-readiness:" not in summary  # the marker belongs to the comment only
    lines = result.stdout.splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("::error ")]
    assert errors, result.stdout
    # The text scorecard in the log is fenced off so project strings cannot run commands.
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].removeprefix("::stop-commands::")
    assert f"::{token}::" in lines[start:]
    assert max(errors) < start
    assert "verdict not_ready; --fail-on not-ready: failing the job" in result.stderr


def test_a_lone_surrogate_is_published_as_a_replacement_character(
    job: Job, fake: FakeGitHub
) -> None:
    card = with_run(sample_scorecard())
    card["project"] = "demo \ud800"
    card["agents"]["triage-bot"]["checks"][2]["reason"] = "No kill switch \udfff is declared."

    result = job.run(card)

    assert result.returncode == 1, result.stderr  # the verdict, not an internal error (3)
    assert "Traceback" not in result.stderr
    summary = job.summary.read_text(encoding="utf-8")
    assert "demo \ufffd" in summary
    assert "lone surrogate" in summary
    assert "No kill switch \ufffd is declared." in result.stdout
    assert [c for c in fake.comments_on(REPO, PR) if c.author == BOT_LOGIN]


def test_a_version_1_scorecard_is_published_at_its_manifest_file(
    job: Job, fake: FakeGitHub
) -> None:
    card = with_run(sample_scorecard())
    card["schema_version"] = 1
    card["manifest"] = {"path": "services/a/agent-readiness.yaml", "sha256": "0" * 64}
    for agent in card["agents"].values():
        for check in agent["checks"]:
            del check["file"]
            check["manifest_line"] = check.pop("line")
            check["manifest_path"] = check.pop("document_path")
    for waiver in card["waivers"]:
        del waiver["file"]
        waiver["manifest_line"] = waiver.pop("line")

    result = job.run(card)

    assert result.returncode == 1, result.stderr
    files = set(re.findall(r"^::(?:error|warning|notice) file=([^,]*),", result.stdout, re.M))
    assert files == {"services/a/agent-readiness.yaml"}
    first = fake.comments_on(REPO, PR)[0].body.splitlines()[0]
    assert first == marker_comment(sticky_marker("services/a/agent-readiness.yaml", "readiness"))


def test_no_annotations_and_no_comment(job: Job, fake: FakeGitHub) -> None:
    result = job.run(with_run(sample_scorecard()), "--no-annotations", "--no-comment")

    assert result.returncode == 1
    assert "::error " not in result.stdout
    assert fake.requests == []
    assert job.outputs()["verdict"] == "not_ready"


def test_fork_pull_request_skips_the_comment_with_advice(tmp_path: Path, fake: FakeGitHub) -> None:
    job = Job(tmp_path, fake.url, fake.token, head_repo="someone/agents")

    result = job.run(with_run(sample_scorecard()))

    assert result.returncode == 1
    assert fake.requests == []
    assert "comes from a fork" in result.stdout
    assert "workflow_run" in result.stdout
    assert job.summary.is_file()
    assert "::error file=" in result.stdout


def test_marker_carries_manifest_and_job(job: Job, fake: FakeGitHub) -> None:
    job.run(with_run(ready_scorecard()), "--manifest", "services/a/agent-readiness.yaml")
    job.run(with_run(ready_scorecard()), "--job", "nightly")
    job.run(with_run(ready_scorecard()))

    bodies = [c.body.splitlines()[0] for c in fake.comments_on(REPO, PR)]
    assert bodies == [
        marker_comment(sticky_marker("services/a/agent-readiness.yaml", "readiness")),
        marker_comment(sticky_marker("agent-readiness.yaml", "nightly")),
        MARKER_TAG,
    ]


def test_token_from_another_variable(job: Job, fake: FakeGitHub) -> None:
    result = job.run(
        with_run(ready_scorecard()),
        "--token-env",
        "READINESS_TOKEN",
        GITHUB_TOKEN="",
        READINESS_TOKEN=fake.token,
    )

    assert result.returncode == 0, result.stderr
    assert_token_hidden(result, fake.token)
    assert len(fake.comments_on(REPO, PR)) == 1


# --- refusals: exit 2, nothing published
@pytest.mark.parametrize(
    ("run", "message"),
    [
        (None, "github_run_id is None, this run's is '4242'"),
        ({"github_run_id": "4241", "github_run_attempt": "2"}, "github_run_id is '4241'"),
        ({"github_run_id": "4242", "github_run_attempt": "1"}, "github_run_attempt is '1'"),
        ({"github_run_id": "4242"}, "github_run_attempt is None"),
    ],
    ids=["no-run", "other-run", "earlier-attempt", "attempt-missing"],
)
def test_refuses_a_scorecard_from_another_run(
    job: Job, fake: FakeGitHub, run: dict[str, str] | None, message: str
) -> None:
    result = job.run(with_run(ready_scorecard(), run))

    assert result.returncode == 2
    assert "was not produced by this workflow run" in result.stderr
    assert message in result.stderr
    assert fake.requests == []
    assert not job.summary.exists()
    assert not job.outputs_file.exists()
    assert_token_hidden(result, fake.token)


def test_outside_actions_any_scorecard_is_accepted(job: Job, fake: FakeGitHub) -> None:
    result = job.run(with_run(ready_scorecard(), None), GITHUB_RUN_ID="", GITHUB_RUN_ATTEMPT="")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("content", ["{oops", '{"verdict": "ready"}', "[]"])
def test_invalid_scorecard_exits_2(
    tmp_path: Path, job: Job, fake: FakeGitHub, content: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-m", "pytest_agent_readiness.cli", "github", str(path)],
        env=job.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 2
    assert "scorecard:" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake.requests == []


def test_bad_event_file_is_invalid_input(job: Job, fake: FakeGitHub, tmp_path: Path) -> None:
    event = tmp_path / "broken-event.json"
    event.write_text("[1, 2]", encoding="utf-8")

    result = job.run(with_run(ready_scorecard()), GITHUB_EVENT_PATH=str(event))

    assert result.returncode == 2
    assert "broken-event.json" in result.stderr


# --- --fail-on
@pytest.mark.parametrize(
    ("card", "fail_on", "fails"),
    [
        (ready_scorecard, "blocker", False),
        (ready_scorecard, "not-ready", False),
        (ready_scorecard, "never", False),
        (sample_scorecard, "blocker", True),  # a critical check fails, infrastructure 2 < 3
        (sample_scorecard, "not-ready", True),
        (sample_scorecard, "never", False),
        (total_only_failure, "blocker", False),
        (total_only_failure, "not-ready", True),
        (total_only_failure, "never", False),
    ],
)
def test_fail_on_policy(
    job: Job, card: Callable[[], dict[str, Any]], fail_on: str, fails: bool
) -> None:
    assert gate_fails(card(), fail_on) is fails

    if card is total_only_failure:  # the case where the policies disagree, end to end
        result = job.run(with_run(card()), "--fail-on", fail_on, "--no-comment")
        assert result.returncode == (1 if fails else 0), result.stderr


@pytest.mark.parametrize(
    ("mutate", "fails"),
    [
        (lambda card: card.update(incomplete=True), True),
        (lambda card: card["dimensions"].update(governance=2), True),
        (lambda card: None, False),
    ],
    ids=["incomplete", "dimension-under-gate", "total-only"],
)
def test_blocker_policy_cases(mutate: Callable[[dict[str, Any]], None], fails: bool) -> None:
    card = total_only_failure()
    mutate(card)

    assert gate_fails(card, "blocker") is fails


def test_a_failed_critical_check_of_a_pilot_is_no_blocker() -> None:
    card = total_only_failure()
    pilot = copy.deepcopy(card["agents"]["triage-bot"])
    pilot.update(stage="pilot", gated=False)
    critical = next(c for c in pilot["checks"] if c["severity"] == "critical")
    critical.update(passed=False, level="missing")
    card["agents"]["pilot-bot"] = pilot

    assert gate_fails(card, "blocker") is False
    pilot["gated"] = True
    pilot["stage"] = "stabilization"
    assert gate_fails(card, "blocker") is True


@pytest.mark.parametrize(
    "args", [["--api-timeout", "0"], ["--api-max-wait", "-5"], ["--api-timeout", "nan"]]
)
def test_api_limits_must_be_sensible(job: Job, fake: FakeGitHub, args: list[str]) -> None:
    result = job.run(with_run(ready_scorecard()), *args)

    assert result.returncode == 2
    assert "expected seconds between 0 and 3600" in result.stderr
    assert fake.requests == []


# --- a hostile API server: the token and workflow commands never get through
def token_fragments(token: str, text: str, size: int = 8) -> list[str]:
    """Every run of ``size`` characters of ``token`` that ``text`` holds, also when other
    characters break it up (pieces in separate fields)."""
    compact = "".join(char for char in text if char in set(token))
    runs = (token[i : i + size] for i in range(len(token) - size + 1))
    return [run for run in runs if run in compact]


def _hostile_html_url(fake: FakeGitHub) -> None:
    fake.html_url = f"https://github.example/{fake.token}\n::error title=pwned::Approved\x1b[2J"


HOSTILE_SERVERS: dict[str, Callable[[FakeGitHub], None]] = {
    # A token straddling the cut of a non-JSON refusal: cut first, the head leaked.
    "refusal-text-straddles-the-cut": lambda fake: fake.fail_next(
        "create_comment", Fault.raw(403, "x" * 290 + fake.token + "y" * 50)
    ),
    # A 2xx that is not JSON, quoted in the error with the token across the cut.
    "non-json-success-straddles-the-cut": lambda fake: fake.fail_next(
        "create_comment", Fault.raw(201, "<html>" + "x" * 188 + fake.token)
    ),
    # Neither field holds the whole token.
    "token-split-across-fields": lambda fake: fake.fail_next(
        "create_comment",
        Fault.raw(
            422,
            json.dumps({"message": fake.token[:12], "errors": [{"message": fake.token[12:]}]}),
            "application/json",
        ),
    ),
    # Pieces too short to match one by one, in separate fields.
    "token-in-pieces": lambda fake: fake.fail_next(
        "create_comment",
        Fault.raw(
            422,
            json.dumps(
                {
                    "message": "Validation Failed",
                    "errors": [
                        {"message": fake.token[i : i + 5]} for i in range(0, len(fake.token), 5)
                    ],
                }
            ),
            "application/json",
        ),
    ),
    "refusal-forges-commands": lambda fake: fake.fail_next(
        "create_comment",
        Fault(status=403, message="no\n::error title=pwned::Approved\x1b]0;title\x07\u202e"),
    ),
    "html-url-echoes-the-token-and-forges-commands": _hostile_html_url,
}


@pytest.mark.parametrize("name", HOSTILE_SERVERS)
def test_a_hostile_server_reaches_neither_the_token_nor_a_workflow_command(
    tmp_path: Path, name: str
) -> None:
    with FakeGitHub() as fake:
        HOSTILE_SERVERS[name](fake)
        job = Job(tmp_path, fake.url, fake.token)

        result = job.run(with_run(ready_scorecard()))

    assert result.returncode == 0, result.stdout + result.stderr
    mask = f"::add-mask::{fake.token}"
    assert result.stdout.startswith(mask + "\n")
    printed = result.stdout.replace(mask, "", 1) + result.stderr
    assert token_fragments(fake.token, printed) == [], printed
    lines = printed.splitlines()
    assert not [line for line in lines if line.startswith("::error title=pwned")], printed
    assert not any(ch in printed for ch in "\x1b\x07\u202e"), printed
    assert job.outputs()["verdict"] == "ready"


def test_a_hostile_html_url_is_printed_escaped(tmp_path: Path) -> None:
    with FakeGitHub() as fake:
        _hostile_html_url(fake)
        result = Job(tmp_path, fake.url, fake.token).run(with_run(ready_scorecard()))

    assert (
        "agent-readiness: created the pull request comment https://github.example/***"
        "\\n::error title=pwned::Approved\\x1b[2J\n"
    ) in result.stderr


def test_outside_github_actions_the_token_is_never_printed(job: Job, fake: FakeGitHub) -> None:
    # Another CI, or a laptop: ::add-mask:: is no command there, just the token in clear.
    result = job.run(with_run(ready_scorecard()), "--no-comment", GITHUB_ACTIONS="")

    assert result.returncode == 0, result.stderr
    assert token_fragments(fake.token, result.stdout + result.stderr) == []
    assert "::add-mask::" not in result.stdout


# --- fork pull requests: a workflow_run job posts the scorecard a pull request's run uploaded
HEAD_SHA = "a" * 40
ORIGIN = {"github_run_id": "4242", "github_run_attempt": "2"}
COMMENT_RUN = {"GITHUB_RUN_ID": "5000", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "comment"}


def workflow_run_event(
    root: Path, *, event: str = "pull_request", pull_requests: list[int] | None = None
) -> dict[str, str]:
    """The environment of the comment job: a workflow_run event about run 4242, attempt 2."""
    path = root / "workflow_run.json"
    path.write_text(
        json.dumps(
            {
                "action": "completed",
                "workflow_run": {
                    "id": int(ORIGIN["github_run_id"]),
                    "run_attempt": int(ORIGIN["github_run_attempt"]),
                    "event": event,
                    "head_sha": HEAD_SHA,
                    "pull_requests": [{"number": n} for n in pull_requests or []],
                },
            }
        ),
        encoding="utf-8",
    )
    return {"GITHUB_EVENT_NAME": "workflow_run", "GITHUB_EVENT_PATH": str(path), **COMMENT_RUN}


def pr_number_file(root: Path, content: str | bytes = "7\n") -> str:
    path = root / "pr-number"
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    ("card", "status"), [(ready_scorecard, 0), (sample_scorecard, 1)], ids=["ready", "not-ready"]
)
def test_workflow_run_posts_the_artifacts_scorecard_on_its_pull_request(
    job: Job, fake: FakeGitHub, card: Callable[[], dict[str, Any]], status: int
) -> None:
    fake.pulls[(REPO, PR)] = HEAD_SHA
    env = workflow_run_event(job.root)

    for _ in range(2):
        # As examples/workflows/fork-pr-comment.yml runs it: --job names the gate's job.
        result = job.run(
            with_run(card(), ORIGIN),
            "--pull-request-file",
            pr_number_file(job.root),
            "--job",
            "readiness",
            **env,
        )
        assert result.returncode == status, result.stdout + result.stderr

    assert_token_hidden(result, fake.token)
    (comment,) = fake.comments_on(REPO, PR)
    assert comment.body.startswith(MARKER_TAG + "\n")
    assert "::warning title=agent-readiness::" not in result.stdout, result.stdout
    assert job.outputs()["verdict"] == ("ready" if status == 0 else "not_ready")


def test_workflow_run_takes_a_same_repository_pull_request_from_the_event(
    job: Job, fake: FakeGitHub
) -> None:
    fake.pulls[(REPO, PR)] = HEAD_SHA
    env = workflow_run_event(job.root, pull_requests=[PR])

    result = job.run(with_run(ready_scorecard(), ORIGIN), **env)

    assert result.returncode == 0, result.stderr
    assert len(fake.comments_on(REPO, PR)) == 1


@pytest.mark.parametrize(
    "run",
    [
        None,
        {"github_run_id": "4241", "github_run_attempt": "2"},  # an older run's artifact
        {"github_run_id": "4242", "github_run_attempt": "1"},  # the attempt before a re-run
        {"github_run_id": "5000", "github_run_attempt": "1"},  # the comment job's own run
    ],
    ids=["no-run", "older-run", "older-attempt", "own-run"],
)
def test_workflow_run_refuses_a_scorecard_from_another_run(
    job: Job, fake: FakeGitHub, run: dict[str, str] | None
) -> None:
    fake.pulls[(REPO, PR)] = HEAD_SHA
    card = ready_scorecard()
    card.pop("run", None)

    result = job.run(
        with_run(card, run),
        "--pull-request-file",
        pr_number_file(job.root),
        **workflow_run_event(job.root),
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "not produced by the run that triggered this workflow (run 4242, attempt 2)" in (
        result.stderr
    )
    assert fake.requests == []


@pytest.mark.parametrize(
    "content",
    [
        "7; touch /tmp/x",
        "0",
        "-7",
        "1e3",
        "７",  # a full-width digit: int() would take it
        "7\n::error title=pwned::Approved",
        "",
        b"\xff\xfe7",
        "9" * 11,
        "7" + " " * 100,
    ],
    ids=repr,
)
def test_workflow_run_takes_only_a_plain_pull_request_number(
    job: Job, fake: FakeGitHub, content: str | bytes
) -> None:
    fake.pulls[(REPO, PR)] = HEAD_SHA
    path = pr_number_file(job.root, content)

    result = job.run(
        with_run(ready_scorecard(), ORIGIN),
        "--pull-request-file",
        path,
        **workflow_run_event(job.root),
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"--pull-request-file {path}: line 1: expected a pull request number" in result.stderr
    assert not any(line.startswith("::error") for line in result.stderr.splitlines())
    assert fake.requests == []


@pytest.mark.parametrize(
    ("head", "why"),
    [("b" * 40, "is at bbbb"), (None, "could not confirm pull request #7")],
    ids=["pushed-since", "no-such-pull-request"],
)
def test_workflow_run_does_not_comment_where_the_run_did_not_test_the_head(
    job: Job, fake: FakeGitHub, head: str | None, why: str
) -> None:
    # A newer push (its own run comments), or a number that names another pull request.
    if head is not None:
        fake.pulls[(REPO, PR)] = head

    result = job.run(
        with_run(sample_scorecard(), ORIGIN),
        "--pull-request-file",
        pr_number_file(job.root),
        **workflow_run_event(job.root),
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "::warning title=agent-readiness::Not posting the pull request comment: " in (
        result.stdout
    )
    assert why in result.stdout
    assert fake.comments_on(REPO, PR) == []
    assert fake.requests_to("POST") == []
    assert job.outputs()["verdict"] == "not_ready"


def test_workflow_run_about_a_push_posts_no_comment(job: Job, fake: FakeGitHub) -> None:
    result = job.run(
        with_run(ready_scorecard(), ORIGIN), **workflow_run_event(job.root, event="push")
    )

    assert result.returncode == 0, result.stderr
    assert fake.requests == []


def test_the_pull_request_file_needs_a_workflow_run_event(job: Job, fake: FakeGitHub) -> None:
    result = job.run(with_run(ready_scorecard()), "--pull-request-file", pr_number_file(job.root))

    assert result.returncode == 2
    assert "--pull-request-file: only under a workflow_run event" in result.stderr
    assert fake.requests == []
