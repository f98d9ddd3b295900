"""The GitHub side, against a real HTTP server on 127.0.0.1 (tests/fake_github.py)."""

from __future__ import annotations

import email.utils
import io
import json
import re
import secrets
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import pytest

from fake_github import BOT_LOGIN, FakeGitHub, Fault
from pytest_agent_readiness.github import (
    COMMENT_LIMIT_CHARS,
    STEP_SUMMARY_LIMIT_BYTES,
    GitHubApiError,
    GitHubClient,
    GitHubEnv,
    GitHubEnvError,
    GitHubRequestUncertainError,
    PublishResult,
    append_step_summary,
    marker_comment,
    mask_token_command,
    publish,
    scrub_secret,
    server_text,
    sticky_marker,
    truncate_markdown,
    upsert_sticky_comment,
    write_outputs,
)

REPO = "acme/agent"
PR = 42
MARKER = sticky_marker("agent-readiness.yaml", "gate")
TAG = marker_comment(MARKER)
NOW = 1_800_000_000.0


class Sleeps:
    """Records the sleeps a client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client_for(
    url: str, token: str, sleeps: Sleeps, *, timeout: float = 5, max_total_wait_s: float = 60
) -> GitHubClient:
    return GitHubClient(
        url,
        token,
        timeout=timeout,
        sleep=sleeps,
        clock=lambda: NOW,
        max_total_wait_s=max_total_wait_s,
    )


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def pr_event(head_repo: str | None = REPO, number: object = PR) -> dict[str, object]:
    head: dict[str, object] = {"repo": None if head_repo is None else {"full_name": head_repo}}
    return {"pull_request": {"number": number, "head": head}}


def actions_environ(
    tmp_path: Path,
    *,
    api_url: str,
    token: str | None,
    event: object = None,
    event_name: str = "pull_request",
) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(pr_event() if event is None else event), encoding="utf-8")
    environ = {
        "GITHUB_API_URL": api_url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        "GITHUB_RUN_ID": "77",
        "GITHUB_RUN_ATTEMPT": "2",
        "GITHUB_SHA": "0" * 40,
        "GITHUB_JOB": "gate",
        "GITHUB_ACTIONS": "true",
    }
    if token is not None:
        environ["GITHUB_TOKEN"] = token
    return environ


def parse_output_file(text: str) -> dict[str, str]:
    """The Linux runner's GITHUB_OUTPUT parser (actions/runner FileCommandManager.cs)."""
    result: dict[str, str] = {}
    index = 0

    def read_line() -> str | None:
        nonlocal index
        if index >= len(text):
            return None
        start = index
        lf = text.find("\n", index)
        if lf < 0:
            index = len(text)
            return text[start:]
        index = lf + 1
        return text[start:lf]

    line = read_line()
    while line is not None:
        if line:
            equals, heredoc = line.find("="), line.find("<<")
            if equals >= 0 and (heredoc < 0 or equals < heredoc):
                name, value = line.split("=", 1)
                result[name] = value
            elif heredoc >= 0:
                name, delimiter = line.split("<<", 1)
                assert name
                assert delimiter
                start = end = index
                inner = read_line()
                while inner != delimiter:
                    assert inner is not None, f"delimiter {delimiter!r} never closed"
                    end = index - 1
                    inner = read_line()
                result[name] = text[start:end] if end > start else ""
            else:
                raise AssertionError(f"invalid line {line!r}")
        line = read_line()
    return result


# --------------------------------------------------------------------------- environment
WORKFLOW_RUN = {
    "id": 4242,
    "run_attempt": 2,
    "event": "pull_request",
    "head_sha": "A" * 40,
    "pull_requests": [],
}


@pytest.mark.parametrize(
    ("event_name", "event", "number", "is_fork", "read_only"),
    [
        ("pull_request", pr_event(), 42, False, False),
        ("pull_request", pr_event(head_repo="ACME/Agent"), 42, False, False),
        ("pull_request", pr_event(head_repo="mallory/agent"), 42, True, True),
        ("pull_request", pr_event(head_repo=None), 42, True, True),
        ("pull_request_target", pr_event(head_repo="mallory/agent"), 42, True, False),
        ("pull_request_review", pr_event(), 42, False, False),
        ("issue_comment", {"issue": {"number": 7, "pull_request": {}}}, 7, False, False),
        ("push", {"ref": "refs/heads/main"}, None, False, False),
        ("workflow_run", {"workflow_run": WORKFLOW_RUN}, None, False, False),
    ],
)
def test_env_reads_the_pull_request_from_the_event(
    tmp_path: Path,
    event_name: str,
    event: object,
    number: int | None,
    is_fork: bool,
    read_only: bool,
) -> None:
    environ = actions_environ(
        tmp_path, api_url="https://api.github.com", token="t", event=event, event_name=event_name
    )
    env = GitHubEnv.from_environ(environ)
    assert env.pull_request_number == number
    assert env.is_fork is is_fork
    assert env.token_is_read_only_fork_token is read_only
    assert env.event_name == event_name


def workflow_run_environ(tmp_path: Path, run: Mapping[str, object]) -> dict[str, str]:
    event = {"workflow_run": dict(run)}
    return actions_environ(
        tmp_path, api_url="https://x.example", token="t", event=event, event_name="workflow_run"
    )


def test_env_reads_the_originating_run_of_a_workflow_run_event(tmp_path: Path) -> None:
    environ = workflow_run_environ(tmp_path, {**WORKFLOW_RUN, "pull_requests": [{"number": 9}]})
    origin = GitHubEnv.from_environ(environ).workflow_run
    assert origin is not None
    assert origin.run == {"github_run_id": "4242", "github_run_attempt": "2"}
    assert (origin.event, origin.head_sha, origin.pull_requests) == ("pull_request", "a" * 40, (9,))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "4242"}, "workflow_run.id: expected a positive integer"),
        ({"run_attempt": None}, "workflow_run.run_attempt: expected a positive integer"),
        ({"head_sha": "main"}, "workflow_run.head_sha: expected a commit SHA"),
        ({"event": 1}, "workflow_run.event: expected a string"),
        ({"pull_requests": [{"number": "7"}]}, "workflow_run.pull_requests[].number"),
        ({"pull_requests": {}}, "workflow_run.pull_requests: expected a list"),
    ],
)
def test_env_rejects_a_malformed_workflow_run_event(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    environ = workflow_run_environ(tmp_path, {**WORKFLOW_RUN, **change})
    with pytest.raises(GitHubEnvError, match=re.escape(message)) as info:
        GitHubEnv.from_environ(environ)
    assert str(tmp_path / "event.json") in str(info.value)


def test_env_fields_and_defaults(tmp_path: Path) -> None:
    environ = actions_environ(tmp_path, api_url="http://127.0.0.1:9/api/v3/", token="ghp_x")
    env = GitHubEnv.from_environ(environ)
    assert env.api_url == "http://127.0.0.1:9/api/v3"
    assert env.server_url == "https://github.com"
    assert env.repository == REPO
    assert env.step_summary_path == tmp_path / "summary.md"
    assert env.output_path == tmp_path / "output.txt"
    assert (env.run_id, env.run_attempt, env.sha, env.job) == ("77", "2", "0" * 40, "gate")
    bare = GitHubEnv.from_environ({})
    assert bare.api_url == "https://api.github.com"
    assert bare.pull_request_number is None
    assert bare.token is None
    assert bare.step_summary_path is None


def test_env_token_comes_from_the_named_variable_and_stays_out_of_repr(tmp_path: Path) -> None:
    environ = actions_environ(tmp_path, api_url="https://api.github.com", token="ghs_secretvalue")
    environ["MY_PAT"] = "ghp_othersecret"
    env = GitHubEnv.from_environ(environ, token_env="MY_PAT")
    assert env.token == "ghp_othersecret"
    assert "othersecret" not in repr(env)
    assert "othersecret" not in str(env)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the event file"),
        ('{"pull_request": {"number": 1,\n  oops}', "line 2 column 3"),
        ("[1, 2]", "expected a JSON object"),
        (b"\xff\xfe\x00garbage", "cannot read the event file"),
        (json.dumps(pr_event(number="42")), "pull_request.number: expected a positive integer"),
        (json.dumps(pr_event(number=True)), "pull_request.number: expected a positive integer"),
        (json.dumps(pr_event(number=-1)), "pull_request.number: expected a positive integer"),
        (json.dumps({"pull_request": "42"}), "pull_request: expected an object"),
        (
            json.dumps({"pull_request": {"number": 1, "head": {"repo": {"full_name": 5}}}}),
            "pull_request.head.repo.full_name: expected a string",
        ),
    ],
)
def test_env_bad_event_file_names_the_file(
    tmp_path: Path, content: str | bytes | None, expected: str
) -> None:
    event_path = tmp_path / "event.json"
    if isinstance(content, bytes):
        event_path.write_bytes(content)
    elif content is not None:
        event_path.write_text(content, encoding="utf-8")
    environ = {"GITHUB_EVENT_PATH": str(event_path), "GITHUB_EVENT_NAME": "pull_request"}
    with pytest.raises(GitHubEnvError) as excinfo:
        GitHubEnv.from_environ(environ)
    assert str(event_path) in str(excinfo.value)
    assert expected in str(excinfo.value)
    assert excinfo.value.path == event_path


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GITHUB_REPOSITORY", "no-slash"),
        ("GITHUB_REPOSITORY", "acme/../../user"),
        ("GITHUB_REPOSITORY", "../x"),
        ("GITHUB_REPOSITORY", "acme/agent?x=1"),
        ("GITHUB_API_URL", "ftp://api.github.com"),
        ("GITHUB_API_URL", "api.github.com"),
    ],
)
def test_env_rejects_malformed_variables(variable: str, value: str) -> None:
    with pytest.raises(GitHubEnvError, match=variable):
        GitHubEnv.from_environ({variable: value})


# --------------------------------------------------------------------------- commands and files


@pytest.mark.parametrize(
    ("token", "command"),
    [
        ("ghs_abc", "::add-mask::ghs_abc"),
        ("multi\nline%", "::add-mask::multi%0Aline%25"),
    ],
)
def test_mask_token_command(token: str, command: str) -> None:
    assert mask_token_command(token) == command


@pytest.mark.parametrize(
    "value",
    [
        "ready",
        "",
        "a=b=c",
        "x<<EOF",
        "x\nother=evil",
        "x\r\nother=evil",
        "x\rother=evil",
        "EOF\nother=evil\nEOF",
        "line\nghadelimiter_0123\nother=evil",
        "trailing newline\n",
        "\n\n",
        "ünïcødé ✓\n第二行",
    ],
)
def test_write_outputs_values_cannot_inject_outputs(tmp_path: Path, value: str) -> None:
    path = tmp_path / "output.txt"
    path.write_text("earlier=1\n", encoding="utf-8")
    write_outputs(path, {"verdict": value, "score": "87"})
    parsed = parse_output_file(path.read_bytes().decode("utf-8"))
    assert parsed == {"earlier": "1", "verdict": value, "score": "87"}


def test_write_outputs_delimiter_never_occurs_in_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Force the first random delimiter to be one the value already contains.
    draws = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda _: next(draws))
    value = "x\nghadelimiter_aaaa\nother=evil"
    path = tmp_path / "output.txt"
    write_outputs(path, {"verdict": value})
    assert parse_output_file(path.read_bytes().decode("utf-8")) == {"verdict": value}
    assert path.read_text(encoding="utf-8").startswith("verdict<<ghadelimiter_bbbb\n")


def test_write_outputs_uses_simple_form_for_single_lines(tmp_path: Path) -> None:
    path = tmp_path / "output.txt"
    write_outputs(path, {"verdict": "ready", "report": "a\nb"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "verdict=ready"
    assert lines[1].startswith("report<<ghadelimiter_")
    assert lines[2:] == ["a", "b", lines[1].split("<<")[1]]


@pytest.mark.parametrize("name", ["", "a\nb", "a=b", "a<<b", "1abc", "with space"])
def test_write_outputs_rejects_unsafe_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="output name"):
        write_outputs(tmp_path / "output.txt", {name: "x"})


def test_step_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    assert append_step_summary(path, "# one\n") is False
    assert append_step_summary(path, "# two\n") is False
    assert path.read_text(encoding="utf-8") == "# one\n# two\n"


@pytest.mark.parametrize("already", [0, 300_000])
def test_step_summary_over_one_mib_is_cut_cleanly(tmp_path: Path, already: int) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * already)
    table = "".join(f"| check {i} | ✓ passed — détails |\n" for i in range(40_000))
    markdown = f"# Scorecard\n<details><summary>all</summary>\n\n```text\n{table}```\n</details>\n"
    assert len(markdown.encode("utf-8")) > STEP_SUMMARY_LIMIT_BYTES
    assert append_step_summary(path, markdown) is True
    data = path.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT_BYTES
    written = data[already:].decode("utf-8")  # no character cut in half
    assert written.startswith("# Scorecard\n")
    assert "GitHub limits a job summary to 1 MiB" in written
    before_note = written.split("\n\n> [!NOTE]")[0]
    assert before_note.endswith("```\n</details>\n")
    assert all(line.startswith("| check") for line in before_note.splitlines()[5:-2])


@pytest.mark.parametrize(
    ("text", "limit", "in_bytes", "expected"),
    [
        ("short\n", 100, False, "short\n"),
        ("line one\nline two\nline three\n", 20, False, "line one\n[cut]"),
        ("```py\ncode\nmore code\n", 20, False, "```py\ncode\n```\n[cut]"),
        ("<details>\n" + "row\n" * 10, 30, False, "<details>\nrow\n</details>\n[cut]"),
        ("ééééé\nééééé\n", 17, True, "ééééé\n[cut]"),
        ("no newline at all", 10, False, "no n\n[cut]"),
        ("anything long", 3, False, "[cu"),
    ],
)
def test_truncate_markdown(text: str, limit: int, in_bytes: bool, expected: str) -> None:
    result, truncated = truncate_markdown(text, limit, note="[cut]", in_bytes=in_bytes)
    assert result == expected
    assert truncated is (text != expected)
    size = len(result.encode()) if in_bytes else len(result)
    assert size <= limit


@pytest.mark.parametrize(
    ("manifest", "job"),
    [
        ("agent-readiness.yaml", "gate"),
        ("sub dir/agent--readiness.yaml", "gate (py3.12, ubuntu)"),
        ("x-->y", "--!>"),
        ("a<!--b", "job-"),
        ("evil\n-->\n<script>alert(1)</script>", "<!-- -- -->"),
        ("C:\\repo\\agent.yaml", "über-job"),
    ],
)
def test_sticky_marker_is_safe_inside_an_html_comment(manifest: str, job: str) -> None:
    comment = marker_comment(sticky_marker(manifest, job))
    inner = comment.removeprefix("<!--").removesuffix("-->")
    assert "--" not in inner
    assert ">" not in inner
    assert "<" not in inner
    assert "\n" not in inner


def test_sticky_markers_differ_per_manifest_and_job() -> None:
    markers = {
        sticky_marker("agent-readiness.yaml", "gate"),
        sticky_marker("agent-readiness.yaml", "gate2"),
        sticky_marker("other.yaml", "gate"),
        sticky_marker("a;job=b", "c"),
        sticky_marker("a", "b;job=c"),
    }
    assert len(markers) == 5
    assert marker_comment(sticky_marker("a", "gate")) not in marker_comment(
        sticky_marker("a", "gate2")
    )


@pytest.mark.parametrize("marker", ["a-->b", "a--b", "a b", "x>y", ""])
def test_marker_comment_rejects_unsafe_markers(marker: str) -> None:
    with pytest.raises(ValueError, match="sticky_marker"):
        marker_comment(marker)


# --------------------------------------------------------------------------- sticky comment


@pytest.mark.parametrize("login", [None, "octo-pat-user"])
def test_two_runs_leave_one_comment_updated_in_place(sleeps: Sleeps, login: str | None) -> None:
    with FakeGitHub(login=login) as fake, client_for(fake.url, fake.token, sleeps) as client:
        author = client.authenticated_login() or BOT_LOGIN
        assert author == fake.author
        first = upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="run 1", author=author)
        second = upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="run 2", author=author)
        assert (first.action, second.action) == ("created", "updated")
        assert first.comment_id == second.comment_id
        [comment] = fake.comments_on(REPO, PR)
        assert comment.body == f"{TAG}\nrun 2"
        assert len(fake.requests_to("POST")) == 1
        assert len(fake.requests_to("PATCH")) == 1
        assert sleeps.calls == []


def test_requests_carry_githubs_headers(fake: FakeGitHub, sleeps: Sleeps) -> None:
    with client_for(fake.url, fake.token, sleeps) as client:
        upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="hi", author=fake.author)
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {fake.token}"
        assert request.headers["accept"] == "application/vnd.github+json"
        assert request.headers["x-github-api-version"] == "2022-11-28"
        assert request.headers["user-agent"].startswith("pytest-agent-readiness/")


def test_a_strangers_comment_with_our_marker_is_left_alone(
    fake: FakeGitHub, sleeps: Sleeps
) -> None:
    stranger_body = f"{TAG}\nI copied your marker"
    stranger = fake.add_comment(REPO, PR, stranger_body, author="mallory")
    with client_for(fake.url, fake.token, sleeps) as client:
        result = upsert_sticky_comment(
            client, REPO, PR, marker=MARKER, body="ours", author=BOT_LOGIN
        )
    assert result.action == "created"
    comments = {c.id: c for c in fake.comments_on(REPO, PR)}
    assert comments[stranger].body == stranger_body
    assert comments[result.comment_id].author == BOT_LOGIN
    assert fake.requests_to("PATCH") == []


def test_another_jobs_comment_is_not_ours(fake: FakeGitHub, sleeps: Sleeps) -> None:
    other = sticky_marker("agent-readiness.yaml", "gate-windows")
    with client_for(fake.url, fake.token, sleeps) as client:
        upsert_sticky_comment(client, REPO, PR, marker=other, body="win", author=BOT_LOGIN)
        upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="linux", author=BOT_LOGIN)
        upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="linux 2", author=BOT_LOGIN)
    bodies = sorted(c.body for c in fake.comments_on(REPO, PR))
    assert bodies == sorted([f"{marker_comment(other)}\nwin", f"{TAG}\nlinux 2"])


def test_pagination_finds_our_comment_on_page_three(fake: FakeGitHub, sleeps: Sleeps) -> None:
    for i in range(230):
        fake.add_comment(REPO, PR, f"chatter {i}", author="someone")
    ours = fake.add_comment(REPO, PR, f"{TAG}\nold", author=BOT_LOGIN)
    with client_for(fake.url, fake.token, sleeps) as client:
        assert len(client.list_issue_comments(REPO, PR)) == 231
        fake.requests.clear()
        result = upsert_sticky_comment(
            client, REPO, PR, marker=MARKER, body="new", author=BOT_LOGIN
        )
    assert (result.action, result.comment_id) == ("updated", ours)
    pages = [r for r in fake.requests if r.method == "GET"]
    assert [r.query.get("page", ["1"]) for r in pages] == [["1"], ["2"], ["3"]]
    assert all(r.query["per_page"] == ["100"] for r in pages)
    assert fake.requests_to("POST") == []


def test_a_pagination_link_to_another_host_is_not_followed(sleeps: Sleeps) -> None:
    with FakeGitHub() as fake, FakeGitHub() as elsewhere:
        fake.add_comment(REPO, PR, "hello", author="someone")
        foreign = f"{elsewhere.url}/repos/{REPO}/issues/{PR}/comments?page=2"
        fake.fail_next("list_comments", Fault.with_headers(("Link", f'<{foreign}>; rel="next"')))
        with (
            client_for(fake.url, fake.token, sleeps) as client,
            pytest.raises(GitHubApiError, match="refusing to follow"),
        ):
            client.list_issue_comments(REPO, PR)
        assert elsewhere.requests == []


def test_github_enterprise_base_path(sleeps: Sleeps) -> None:
    with FakeGitHub(base_path="/api/v3") as fake:
        for i in range(150):
            fake.add_comment(REPO, PR, f"chatter {i}", author="someone")
        with client_for(fake.url + "/", fake.token, sleeps) as client:
            upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="1", author=BOT_LOGIN)
            result = upsert_sticky_comment(
                client, REPO, PR, marker=MARKER, body="2", author=BOT_LOGIN
            )
        assert result.action == "updated"
        assert all(r.path.startswith("/api/v3/repos/") for r in fake.requests)
        assert len(fake.comments_on(REPO, PR)) == 151


@pytest.mark.parametrize("fault", [Fault.accept_then_drop(), Fault.accept_then_stall()])
def test_a_create_applied_but_unanswered_is_not_repeated(sleeps: Sleeps, fault: Fault) -> None:
    with FakeGitHub() as fake, client_for(fake.url, fake.token, sleeps, timeout=0.5) as client:
        fake.fail_next("create_comment", fault)
        result = upsert_sticky_comment(
            client, REPO, PR, marker=MARKER, body="once", author=BOT_LOGIN
        )
        assert result.action == "created"
        assert [c.body for c in fake.comments_on(REPO, PR)] == [f"{TAG}\nonce"]
        assert len(fake.requests_to("POST")) == 1
        assert len(fake.requests_to("PATCH")) == 1
        assert len(sleeps.calls) == 1


def test_a_create_refused_with_5xx_is_tried_again(fake: FakeGitHub, sleeps: Sleeps) -> None:
    fake.fail_next("create_comment", Fault.server_error(502), times=2)
    with client_for(fake.url, fake.token, sleeps) as client:
        result = upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="x", author=BOT_LOGIN)
    assert result.action == "created"
    assert len(fake.comments_on(REPO, PR)) == 1
    assert len(fake.requests_to("POST")) == 3
    # A fresh look before each new attempt: the first 502 might have been applied.
    assert len([r for r in fake.requests if r.method == "GET"]) == 3


def test_a_create_that_keeps_failing_gives_up_within_the_retries(
    fake: FakeGitHub, sleeps: Sleeps
) -> None:
    fake.fail_next("create_comment", Fault.server_error(502), times=50)
    with (
        client_for(fake.url, fake.token, sleeps) as client,
        pytest.raises(GitHubRequestUncertainError, match="HTTP 502"),
    ):
        upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="x", author=BOT_LOGIN)
    assert len(fake.requests_to("POST")) == 5
    assert len(sleeps.calls) == 4
    assert fake.comments_on(REPO, PR) == []


def test_a_body_over_the_limit_is_truncated_before_sending(
    fake: FakeGitHub, sleeps: Sleeps
) -> None:
    body = "".join(f"| row {i} |\n" for i in range(10_000))
    with client_for(fake.url, fake.token, sleeps) as client:
        result = upsert_sticky_comment(client, REPO, PR, marker=MARKER, body=body, author=BOT_LOGIN)
    assert result.truncated is True
    [stored] = fake.comments_on(REPO, PR)
    assert len(stored.body) <= COMMENT_LIMIT_CHARS
    assert stored.body.startswith(TAG)
    assert "GitHub limits a comment to 65,536 characters" in stored.body
    assert len(fake.requests_to("POST")) == 1


@pytest.mark.parametrize(
    ("rows", "count_body_in", "max_body"),
    [
        # Fits our count (code points) but not GitHub's: cut to 65,536 UTF-8 bytes.
        ([f"| {'✓' * 20} |\n"] * 2_400, "utf8", COMMENT_LIMIT_CHARS),
        # Already within every count of 65,536, still refused: cut to half.
        (["| row |\n"] * 150, "chars", 1_000),
    ],
)
def test_body_too_long_by_githubs_count_is_cut_harder_once(
    sleeps: Sleeps, rows: list[str], count_body_in: Literal["chars", "utf8"], max_body: int
) -> None:
    body = "".join(rows)
    assert len(body) < COMMENT_LIMIT_CHARS
    with (
        FakeGitHub(count_body_in=count_body_in, max_body=max_body) as fake,
        client_for(fake.url, fake.token, sleeps) as client,
    ):
        result = upsert_sticky_comment(client, REPO, PR, marker=MARKER, body=body, author=BOT_LOGIN)
        assert result.truncated is True
        [stored] = fake.comments_on(REPO, PR)
        assert len(stored.body.encode("utf-8")) <= max_body
        assert stored.body.startswith(TAG)
        assert "GitHub limits a comment" in stored.body
        assert len(fake.requests_to("POST")) == 2


def test_body_still_too_long_after_cutting_harder_raises(sleeps: Sleeps) -> None:
    with (
        FakeGitHub(max_body=10) as fake,
        client_for(fake.url, fake.token, sleeps) as client,
        pytest.raises(GitHubApiError, match="Body is too long") as info,
    ):
        upsert_sticky_comment(client, REPO, PR, marker=MARKER, body="x" * 500, author=BOT_LOGIN)
    assert info.value.status == 422
    assert len(fake.requests_to("POST")) == 2


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_with_bounded_backoff(fake: FakeGitHub, sleeps: Sleeps, status: int) -> None:
    fake.fail_next("list_comments", Fault.server_error(status), times=2)
    with client_for(fake.url, fake.token, sleeps) as client:
        assert client.list_issue_comments(REPO, PR) == []
    assert len(fake.requests) == 3
    assert len(sleeps.calls) == 2
    assert 0.5 <= sleeps.calls[0] <= 1.0
    assert 1.0 <= sleeps.calls[1] <= 2.0


def test_5xx_beyond_the_retries_raises(fake: FakeGitHub, sleeps: Sleeps) -> None:
    fake.fail_next("list_comments", Fault.server_error(502), times=10)
    with (
        client_for(fake.url, fake.token, sleeps) as client,
        pytest.raises(GitHubApiError, match=r"HTTP 502.*gave up after 5 attempts"),
    ):
        client.list_issue_comments(REPO, PR)
    assert len(fake.requests) == 5
    assert len(sleeps.calls) == 4


@pytest.mark.parametrize(
    ("fault", "expected_sleeps"),
    [
        (Fault.secondary_rate_limit(retry_after=7, status=403), [7.0]),
        (Fault.secondary_rate_limit(retry_after=3, status=429), [3.0]),
        (Fault.primary_rate_limit(reset_epoch=int(NOW) + 20), [21.0]),
        (Fault.primary_rate_limit(reset_epoch=int(NOW) + 20, status=429), [21.0]),
        (Fault.rate_limit_without_headers(status=403), [60.0]),
        (Fault.rate_limit_without_headers(status=429), [60.0]),
        (Fault(status=403, message="Forbidden", headers=(("x-ratelimit-remaining", "0"),)), [60.0]),
        (
            Fault(
                status=429,
                message="Too many requests",
                headers=(("Retry-After", email.utils.formatdate(NOW + 9, usegmt=True)),),
            ),
            [9.0],
        ),
    ],
)
def test_rate_limits_are_waited_out_as_github_says(
    fake: FakeGitHub, sleeps: Sleeps, fault: Fault, expected_sleeps: list[float]
) -> None:
    fake.fail_next("create_comment", fault)
    with client_for(fake.url, fake.token, sleeps) as client:
        client.create_issue_comment(REPO, PR, "hello")
    assert sleeps.calls == expected_sleeps
    assert len(fake.requests_to("POST")) == 2
    assert len(fake.comments_on(REPO, PR)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault.secondary_rate_limit(retry_after=3600),
        Fault.primary_rate_limit(reset_epoch=int(NOW) + 1800),
    ],
)
def test_a_wait_beyond_the_budget_gives_up_at_once(
    fake: FakeGitHub, sleeps: Sleeps, fault: Fault
) -> None:
    fake.fail_next("list_comments", fault)
    with (
        client_for(fake.url, fake.token, sleeps) as client,
        pytest.raises(GitHubApiError, match="would exceed the 60 s"),
    ):
        client.list_issue_comments(REPO, PR)
    assert sleeps.calls == []
    assert len(fake.requests) == 1


def test_waits_add_up_against_the_budget(fake: FakeGitHub, sleeps: Sleeps) -> None:
    fake.fail_next("list_comments", Fault.secondary_rate_limit(retry_after=25), times=3)
    with client_for(fake.url, fake.token, sleeps) as client, pytest.raises(GitHubApiError):
        client.list_issue_comments(REPO, PR)
    assert sleeps.calls == [25.0, 25.0]
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "fault",
    [
        Fault.not_accessible(),
        Fault(status=404, message="Not Found"),
        Fault(status=401, message="x"),
    ],
)
def test_plain_refusals_are_not_retried(fake: FakeGitHub, sleeps: Sleeps, fault: Fault) -> None:
    fake.fail_next("create_comment", fault)
    with client_for(fake.url, fake.token, sleeps) as client, pytest.raises(GitHubApiError) as info:
        client.create_issue_comment(REPO, PR, "x")
    assert info.value.status == fault.status
    assert fault.message in str(info.value)
    assert len(fake.requests) == 1
    assert sleeps.calls == []


def test_connection_refused_is_retried_then_raised(sleeps: Sleeps) -> None:
    with (
        client_for(closed_port_url(), "ghs_tok", sleeps) as client,
        pytest.raises(GitHubApiError, match="connection failed"),
    ):
        client.list_issue_comments(REPO, PR)
    assert len(sleeps.calls) == 4


def test_the_token_never_reaches_exception_text(fake: FakeGitHub, sleeps: Sleeps) -> None:
    echo = Fault(status=403, message=f"token {fake.token} is not allowed here")
    fake.fail_next("create_comment", echo)
    with client_for(fake.url, fake.token, sleeps) as client, pytest.raises(GitHubApiError) as info:
        client.create_issue_comment(REPO, PR, "x")
    assert fake.token not in str(info.value)
    assert "token *** is not allowed" in str(info.value)
    assert fake.token not in repr(client)


TOKEN = "ghs_0123456789abcdefghij"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"a {TOKEN} b", "a *** b"),
        (f"{TOKEN[:8]} and {TOKEN[8:]}", "*** and ***"),  # split across two fields
        # spelled out in pieces too short to match one by one
        ("; ".join(TOKEN[i : i + 5] for i in range(0, len(TOKEN), 5)), "***; ***; ***; ***; ***"),
        ("see https://docs.github.com/rest", "see https://docs.github.com/rest"),
        (f"cut {TOKEN[:9]}", "cut ***"),  # the head of a token another cut left
        (f"short {TOKEN[:7]}", f"short {TOKEN[:7]}"),  # seven characters guess nothing
        ("ghs_ is a prefix, not a secret", "ghs_ is a prefix, not a secret"),
    ],
)
def test_scrub_secret_hides_the_token_and_its_fragments(text: str, expected: str) -> None:
    assert scrub_secret(text, TOKEN) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("x" * 10 + TOKEN, 14, "x" * 10 + "***"),  # scrubbed before the cut
        ("ok\n::error::forged", 100, "ok\\n::error::forged"),
        ("\x1b[2Jred\u202e\u200b\U000e0041", 100, "\\x1b[2Jred\\u202e\\u200b\\U000e0041"),
    ],
)
def test_server_text_scrubs_then_escapes_then_cuts(text: str, limit: int, expected: str) -> None:
    assert server_text(text, TOKEN, limit) == expected


def test_publish_prints_no_mask_outside_github_actions(fake: FakeGitHub, tmp_path: Path) -> None:
    environ = actions_environ(tmp_path, api_url=fake.url, token=fake.token)
    del environ["GITHUB_ACTIONS"]
    env = GitHubEnv.from_environ(environ)
    result, stdout, stderr = run_publish(env, None)
    assert result.comment is not None
    assert "add-mask" not in stdout
    assert fake.token not in stdout + stderr


def test_authenticated_login(sleeps: Sleeps) -> None:
    with FakeGitHub(login="octo") as pat, client_for(pat.url, pat.token, sleeps) as client:
        assert client.authenticated_login() == "octo"
    with FakeGitHub(login=None) as app, client_for(app.url, app.token, sleeps) as client:
        assert client.authenticated_login() is None
        assert len(app.requests) == 1


# --------------------------------------------------------------------------- publish


def run_publish(
    env: GitHubEnv,
    client: GitHubClient | None,
    *,
    comment: bool = True,
    outputs: Mapping[str, str] | None = None,
) -> tuple[PublishResult, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    result = publish(
        env,
        summary_markdown="## Scorecard\nready\n",
        comment_markdown="## Scorecard\nready\n",
        annotations_text="::error file=agent-readiness.yaml,line=3::budget missing",
        outputs={"verdict": "ready", "score": "91"} if outputs is None else outputs,
        marker=MARKER,
        comment=comment,
        stdout=stdout,
        stderr=stderr,
        client=client,
    )
    return result, stdout.getvalue(), stderr.getvalue()


def assert_files_written(tmp_path: Path) -> None:
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "## Scorecard\nready\n"
    outputs = parse_output_file((tmp_path / "output.txt").read_bytes().decode("utf-8"))
    assert outputs == {"verdict": "ready", "score": "91"}


def assert_token_only_in_mask(token: str, stdout: str, stderr: str) -> None:
    lines = stdout.splitlines()
    assert lines[0] == f"::add-mask::{token}"
    assert token not in "\n".join(lines[1:])
    assert token not in stderr


def test_publish_on_a_pull_request(fake: FakeGitHub, sleeps: Sleeps, tmp_path: Path) -> None:
    env = GitHubEnv.from_environ(actions_environ(tmp_path, api_url=fake.url, token=fake.token))
    with client_for(env.api_url, fake.token, sleeps) as client:
        result, stdout, stderr = run_publish(env, client)
        again, _, _ = run_publish(env, client)
    assert_token_only_in_mask(fake.token, stdout, stderr)
    assert stdout.splitlines()[1] == "::error file=agent-readiness.yaml,line=3::budget missing"
    assert "::warning" not in stdout
    assert result.summary_written
    assert result.outputs_written
    assert result.annotations_printed
    assert result.failed == ()
    assert result.comment is not None
    assert result.comment.action == "created"
    assert again.comment is not None
    assert again.comment.action == "updated"
    assert [c.body for c in fake.comments_on(REPO, PR)] == [f"{TAG}\n## Scorecard\nready\n"]


def test_publish_without_a_client_builds_its_own(fake: FakeGitHub, tmp_path: Path) -> None:
    env = GitHubEnv.from_environ(actions_environ(tmp_path, api_url=fake.url, token=fake.token))
    result, _, _ = run_publish(env, None)
    assert result.comment is not None
    assert len(fake.comments_on(REPO, PR)) == 1


@pytest.mark.parametrize(
    ("endpoint", "fault", "times", "reason"),
    [
        ("create_comment", Fault.not_accessible(), 1, "pull-requests: write"),
        ("list_comments", Fault.server_error(502), 20, "HTTP 502"),
        ("list_comments", Fault.server_error(503), 20, "gave up after 5 attempts"),
        ("list_comments", Fault.accept_then_stall(), 20, "timed out"),
        ("list_comments", Fault.primary_rate_limit(reset_epoch=int(NOW) + 3000), 1, "exceed"),
        ("create_comment", Fault.accept_then_drop(), 0, ""),
    ],
)
def test_publish_degrades_on_api_trouble(
    sleeps: Sleeps, tmp_path: Path, endpoint: str, fault: Fault, times: int, reason: str
) -> None:
    with FakeGitHub() as fake:
        if times:
            fake.fail_next(endpoint, fault, times=times)  # type: ignore[arg-type]
        env = GitHubEnv.from_environ(actions_environ(tmp_path, api_url=fake.url, token=fake.token))
        with client_for(env.api_url, fake.token, sleeps, timeout=0.3) as client:
            result, stdout, stderr = run_publish(env, client)
    assert_files_written(tmp_path)
    assert_token_only_in_mask(fake.token, stdout, stderr)
    if times:
        assert result.comment is None
        assert len(result.failed) == 1
        assert reason in result.failed[0]
        assert "::warning title=agent-readiness::Could not post the pull request comment" in stdout
    else:
        assert result.failed == ()


def test_publish_degrades_when_the_api_is_down(sleeps: Sleeps, tmp_path: Path) -> None:
    token = "ghp_doNotLeakMe123"
    env = GitHubEnv.from_environ(actions_environ(tmp_path, api_url=closed_port_url(), token=token))
    with client_for(env.api_url, token, sleeps) as client:
        result, stdout, stderr = run_publish(env, client)
    assert_files_written(tmp_path)
    assert_token_only_in_mask(token, stdout, stderr)
    assert result.comment is None
    assert "connection failed" in result.failed[0]
    assert "::warning" in stdout


def test_publish_skips_a_fork_pull_request(
    fake: FakeGitHub, sleeps: Sleeps, tmp_path: Path
) -> None:
    environ = actions_environ(
        tmp_path, api_url=fake.url, token=fake.token, event=pr_event(head_repo="mallory/agent")
    )
    env = GitHubEnv.from_environ(environ)
    with client_for(env.api_url, fake.token, sleeps) as client:
        result, stdout, _ = run_publish(env, client)
    assert_files_written(tmp_path)
    assert fake.requests == []
    assert result.comment is None
    assert result.failed == ()
    assert "fork" in result.skipped[0]
    assert "::warning" in stdout
    assert "workflow_run" in stdout


@pytest.mark.parametrize(
    ("event_name", "event", "token", "comment", "warns"),
    [
        ("push", {"ref": "refs/heads/main"}, "ghs_tok", True, False),
        ("pull_request", pr_event(), "ghs_tok", False, False),
        ("pull_request", pr_event(), None, True, True),
    ],
)
def test_publish_skips_the_comment_when_there_is_nothing_to_comment_on(
    fake: FakeGitHub,
    tmp_path: Path,
    event_name: str,
    event: object,
    token: str | None,
    comment: bool,
    warns: bool,
) -> None:
    environ = actions_environ(
        tmp_path, api_url=fake.url, token=token, event=event, event_name=event_name
    )
    result, stdout, _ = run_publish(GitHubEnv.from_environ(environ), None, comment=comment)
    assert_files_written(tmp_path)
    assert fake.requests == []
    assert result.comment is None
    assert len(result.skipped) == 1
    assert ("::warning" in stdout) is warns


def test_publish_reports_an_unwritable_summary_and_still_comments(
    fake: FakeGitHub, sleeps: Sleeps, tmp_path: Path
) -> None:
    environ = actions_environ(tmp_path, api_url=fake.url, token=fake.token)
    environ["GITHUB_STEP_SUMMARY"] = str(tmp_path / "missing-dir" / "summary.md")
    env = GitHubEnv.from_environ(environ)
    with client_for(env.api_url, fake.token, sleeps) as client:
        result, stdout, _ = run_publish(env, client)
    assert not result.summary_written
    assert result.outputs_written
    assert "Could not write the job summary" in result.failed[0]
    assert "::warning" in stdout
    assert result.comment is not None


def test_publish_outputs_cannot_be_injected(fake: FakeGitHub, tmp_path: Path) -> None:
    env = GitHubEnv.from_environ(actions_environ(tmp_path, api_url=fake.url, token=None))
    run_publish(env, None, outputs={"verdict": "ready\nother=evil", "score": "91"})
    parsed = parse_output_file((tmp_path / "output.txt").read_bytes().decode("utf-8"))
    assert parsed == {"verdict": "ready\nother=evil", "score": "91"}
