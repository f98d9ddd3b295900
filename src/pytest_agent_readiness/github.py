"""The GitHub side of ``agent-readiness github``: job summary, step outputs, sticky PR comment.

Everything here runs inside a GitHub Actions step. API trouble (rate limits, 5xx, a read-only
fork token, an unreachable server) never changes the verdict and never loses the report: the
summary, outputs and annotations are written first, the comment is best effort, and the token
never appears in anything we print or raise.
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TextIO
from urllib.parse import quote, urljoin, urlsplit

import requests

from . import __version__

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
API_VERSION = "2022-11-28"
USER_AGENT = f"pytest-agent-readiness/{__version__}"
# REST shows comments made with the workflow's GITHUB_TOKEN under this login.
ACTIONS_BOT_LOGIN = "github-actions[bot]"
# GitHub's documented limits.
STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024
COMMENT_LIMIT_CHARS = 65_536
PER_PAGE = 100
# Far beyond any real PR; stops a server that links pages in a circle.
MAX_COMMENT_PAGES = 1_000
MARKER_PREFIX = "agent-readiness:"
# Secondary rate limit with neither retry-after nor reset: "wait at least one minute".
SECONDARY_RATE_LIMIT_MIN_WAIT_S = 60.0
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
# The shortest run of the token's characters scrub_secret hides on its own: long enough not to
# hide ordinary words, short enough that what is left guesses nothing.
SECRET_FRAGMENT_CHARS = 8
# How much of a server's error text a message quotes.
SERVER_TEXT_CHARS = 300

SUMMARY_TRUNCATION_NOTE = (
    "\n\n> [!NOTE]\n> Truncated: GitHub limits a job summary to 1 MiB per step. "
    "The full report is in the scorecard JSON.\n"
)
COMMENT_TRUNCATION_NOTE = (
    "\n\n> [!NOTE]\n> Truncated: GitHub limits a comment to 65,536 characters. "
    "The full report is in the job summary and the scorecard JSON.\n"
)
FORK_COMMENT_ADVICE = (
    "This pull request comes from a fork, so its GITHUB_TOKEN is read-only and cannot comment. "
    "The scorecard is in the job summary. To comment on fork pull requests, use the workflow "
    "pair in pytest-agent-readiness's examples/workflows (fork-pr-gate.yml uploads the "
    "scorecard, fork-pr-comment.yml posts it `on: workflow_run`); never `pull_request_target` "
    "with a checkout of the PR's code."
)

_REPOSITORY_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_OUTPUT_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_MARKER_RE = re.compile(r"[A-Za-z0-9%/._~+@:,;=-]+")
_FENCE_RE = re.compile(r"(`{3,}|~{3,})")
_SHA_RE = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


class GitHubError(Exception):
    """Base class of everything this module raises on purpose."""


class GitHubEnvError(GitHubError):
    """The Actions environment or its event file is not what GitHub documents."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path


class GitHubApiError(GitHubError):
    """A request to the GitHub API failed; the message never holds the token."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GitHubRequestUncertainError(GitHubApiError):
    """A request that is not safe to repeat may or may not have been applied by the server."""


# --------------------------------------------------------------------------- environment


@dataclasses.dataclass(frozen=True)
class WorkflowRunOrigin:
    """The run a ``workflow_run`` event reports on: the run whose artifact we publish."""

    run_id: str
    run_attempt: str
    event: str
    head_sha: str
    pull_requests: tuple[int, ...]

    @property
    def run(self) -> dict[str, str]:
        """The ``run`` record a scorecard written by that run carries."""
        return {"github_run_id": self.run_id, "github_run_attempt": self.run_attempt}


@dataclasses.dataclass(frozen=True)
class GitHubEnv:
    """What a step learns from the Actions environment and the event that triggered it."""

    api_url: str
    server_url: str
    repository: str | None
    event_name: str | None
    event_path: Path | None
    pull_request_number: int | None
    is_fork: bool
    head_repository: str | None
    token: str | None = dataclasses.field(repr=False)
    step_summary_path: Path | None
    output_path: Path | None
    run_id: str | None
    run_attempt: str | None
    sha: str | None
    job: str | None
    # GITHUB_ACTIONS=true: only GitHub's runner reads workflow commands such as ::add-mask::;
    # anywhere else that line would print the token in clear.
    in_actions: bool = False
    # Set under a workflow_run event: the originating run, whose scorecard this step may post.
    workflow_run: WorkflowRunOrigin | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], *, token_env: str = "GITHUB_TOKEN"
    ) -> GitHubEnv:
        """Read the Actions variables from ``environ``; raise GitHubEnvError on bad values."""

        def get(name: str) -> str | None:
            # Stripped: a secret pasted with a trailing newline would otherwise break the
            # Authorization header and the ::add-mask:: command.
            value = environ.get(name, "").strip()
            return value or None

        api_url = _parse_base_url("GITHUB_API_URL", get("GITHUB_API_URL") or DEFAULT_API_URL)
        server_url = _parse_base_url(
            "GITHUB_SERVER_URL", get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL
        )
        repository = get("GITHUB_REPOSITORY")
        if repository is not None:
            _check_repository(repository, source="environment variable GITHUB_REPOSITORY")
        event_path_text = get("GITHUB_EVENT_PATH")
        event_path = Path(event_path_text) if event_path_text else None
        event_name = get("GITHUB_EVENT_NAME")
        number: int | None = None
        head_repository: str | None = None
        is_fork = False
        workflow_run: WorkflowRunOrigin | None = None
        if event_path is not None:
            event = _load_event(event_path)
            number, head_repository, is_fork = _pull_request_facts(
                event, event_name, repository, event_path
            )
            if event_name == "workflow_run":
                workflow_run = _workflow_run_origin(event, event_path)
        summary = get("GITHUB_STEP_SUMMARY")
        output = get("GITHUB_OUTPUT")
        return cls(
            api_url=api_url,
            server_url=server_url,
            repository=repository,
            event_name=event_name,
            event_path=event_path,
            pull_request_number=number,
            is_fork=is_fork,
            head_repository=head_repository,
            token=get(token_env),
            step_summary_path=Path(summary) if summary else None,
            output_path=Path(output) if output else None,
            run_id=get("GITHUB_RUN_ID"),
            run_attempt=get("GITHUB_RUN_ATTEMPT"),
            sha=get("GITHUB_SHA"),
            job=get("GITHUB_JOB"),
            in_actions=runs_in_github_actions(environ),
            workflow_run=workflow_run,
        )

    @property
    def token_is_read_only_fork_token(self) -> bool:
        """True when GitHub hands this run a read-only token because the PR is from a fork."""
        # pull_request_target runs in the base repository's context with a write token.
        return self.is_fork and self.event_name != "pull_request_target"


def _parse_base_url(variable: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise GitHubEnvError(
            f"environment variable {variable}: expected an http(s) URL, got {value!r}"
        )
    return value.rstrip("/")


def _check_repository(repository: str, *, source: str, path: Path | None = None) -> None:
    owner_name = repository.split("/")
    if not _REPOSITORY_RE.fullmatch(repository) or any(p in (".", "..") for p in owner_name):
        raise GitHubEnvError(f"{source}: expected owner/name, got {repository!r}", path=path)


def _load_event(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GitHubEnvError(f"cannot read the event file: {exc}", path=path) from None
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GitHubEnvError(
            f"line {exc.lineno} column {exc.colno}: expected the JSON event payload: {exc.msg}",
            path=path,
        ) from None
    if not isinstance(event, dict):
        raise GitHubEnvError(
            f"expected a JSON object at the top, got {type(event).__name__}", path=path
        )
    return event


def _pull_request_facts(
    event: Mapping[str, Any], event_name: str | None, repository: str | None, path: Path
) -> tuple[int | None, str | None, bool]:
    """Return (number, head repository, is fork) for PR-shaped events, else (None, None, False)."""
    pull_request = event.get("pull_request")
    if pull_request is not None:
        pr = _expect_object(pull_request, "pull_request", path)
        number = _expect_number(pr.get("number"), "pull_request.number", path)
        head = _expect_object(pr.get("head", {}), "pull_request.head", path)
        head_repo = head.get("repo")
        if head_repo is None:
            # GitHub sends a null head repo when the fork was deleted: still a fork.
            return number, None, True
        full_name = _expect_object(head_repo, "pull_request.head.repo", path).get("full_name")
        if not isinstance(full_name, str):
            raise GitHubEnvError(
                f"pull_request.head.repo.full_name: expected a string, got {full_name!r}",
                path=path,
            )
        is_fork = repository is not None and full_name.lower() != repository.lower()
        return number, full_name, is_fork
    if event_name == "issue_comment" and event.get("issue") is not None:
        issue = _expect_object(event["issue"], "issue", path)
        return _expect_number(issue.get("number"), "issue.number", path), None, False
    return None, None, False


def _workflow_run_origin(event: Mapping[str, Any], path: Path) -> WorkflowRunOrigin:
    run = _expect_object(event.get("workflow_run"), "workflow_run", path)
    run_id = _expect_number(run.get("id"), "workflow_run.id", path)
    attempt = _expect_number(run.get("run_attempt"), "workflow_run.run_attempt", path)
    head_sha = run.get("head_sha")
    if not isinstance(head_sha, str) or not _SHA_RE.fullmatch(head_sha):
        raise GitHubEnvError(
            f"workflow_run.head_sha: expected a commit SHA, got {head_sha!r}", path=path
        )
    origin_event = run.get("event")
    if not isinstance(origin_event, str):
        raise GitHubEnvError(
            f"workflow_run.event: expected a string, got {origin_event!r}", path=path
        )
    pulls = run.get("pull_requests", [])
    if not isinstance(pulls, list):
        raise GitHubEnvError(
            f"workflow_run.pull_requests: expected a list, got {pulls!r}", path=path
        )
    numbers = tuple(
        _expect_number(
            _expect_object(pull, "workflow_run.pull_requests[]", path).get("number"),
            "workflow_run.pull_requests[].number",
            path,
        )
        for pull in pulls
    )
    return WorkflowRunOrigin(str(run_id), str(attempt), origin_event, head_sha.lower(), numbers)


def _expect_object(value: object, where: str, path: Path) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise GitHubEnvError(f"{where}: expected an object, got {value!r}", path=path)
    return value


def _expect_number(value: object, where: str, path: Path) -> int:
    # bool is an int in Python; a JSON true is not a pull request number.
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise GitHubEnvError(f"{where}: expected a positive integer, got {value!r}", path=path)
    return value


# --------------------------------------------------------------------------- workflow commands


def escape_command_data(text: str) -> str:
    """Escape a workflow command's message as actions/toolkit does (``%``, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_command_property(text: str) -> str:
    """Escape a workflow command's property value (also ``:`` and ``,``)."""
    return escape_command_data(text).replace(":", "%3A").replace(",", "%2C")


def mask_token_command(token: str) -> str:
    """The ``::add-mask::`` command that makes the runner hide ``token`` in later logs."""
    return f"::add-mask::{escape_command_data(token)}"


def runs_in_github_actions(environ: Mapping[str, str]) -> bool:
    """Whether GitHub's runner reads this process's workflow commands (``GITHUB_ACTIONS``)."""
    return environ.get("GITHUB_ACTIONS", "").strip() == "true"


def mask_token(token: str | None, stream: TextIO, *, in_actions: bool) -> None:
    """Ask the runner to hide ``token`` in every later line; print nothing outside Actions.

    Elsewhere (a laptop, another CI) ``::add-mask::`` is no command, just the token in clear.
    """
    if token and in_actions:
        print(mask_token_command(token), file=stream, flush=True)


def server_text(text: str, secret: str | None, limit: int) -> str:
    """A string the API server sent, made safe to print: the secret scrubbed from all of it
    first, then every non-printable character (line breaks, ESC, bidi and zero-width controls)
    written as an escape, so it can neither start a workflow command nor restyle a terminal,
    and only then cut to ``limit`` characters."""
    # A bound far above ``limit`` keeps scrubbing linear on a huge body; a token cut there
    # still loses every fragment of SECRET_FRAGMENT_CHARS or more (see scrub_secret).
    bounded = text[: limit * 4 + 4096]
    return printable(scrub_secret(bounded, secret))[:limit]


def printable(text: str) -> str:
    """``text`` with each non-printable character written as a Python escape (``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def warning_command(message: str, *, title: str = "agent-readiness") -> str:
    """A ``::warning`` workflow command with an escaped title and message."""
    return f"::warning title={escape_command_property(title)}::{escape_command_data(message)}"


# --------------------------------------------------------------------------- files


def append_step_summary(path: Path, markdown: str) -> bool:
    """Append ``markdown`` to the step summary file; return True if it had to be truncated.

    GitHub refuses a step summary over 1 MiB, so the text is cut at a line boundary (closing
    an open code fence or ``<details>``) with a note, counting what the file already holds.
    """
    try:
        already = path.stat().st_size
    except FileNotFoundError:
        already = 0
    text, truncated = truncate_markdown(
        markdown,
        max(0, STEP_SUMMARY_LIMIT_BYTES - already),
        note=SUMMARY_TRUNCATION_NOTE,
        in_bytes=True,
    )
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return truncated


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    """Append step outputs to the ``GITHUB_OUTPUT`` file.

    Single-line values use ``name=value``; others use ``name<<DELIM`` with a random delimiter
    that does not occur in the value, so a value can never end early and add an output.
    """
    lines: list[str] = []
    for name, value in outputs.items():
        if not _OUTPUT_NAME_RE.fullmatch(name):
            raise ValueError(f"output name {name!r}: expected letters, digits, '_' or '-'")
        # The runner splits lines on LF (CRLF on Windows) only, so a lone CR is harmless.
        if "\n" not in value:
            lines.append(f"{name}={value}\n")
            continue
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        while delimiter in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        lines.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("".join(lines))


def truncate_markdown(
    text: str, limit: int, *, note: str, in_bytes: bool = False
) -> tuple[str, bool]:
    """Fit Markdown into ``limit`` characters (or UTF-8 bytes); return (text, was truncated).

    The cut falls at a line boundary; an open code fence or ``<details>`` is closed; ``note``
    says what happened.
    """

    def size(value: str) -> int:
        return len(value.encode("utf-8")) if in_bytes else len(value)

    def prefix(value: str, budget: int) -> str:
        if in_bytes:
            # Dropping a partial trailing character is the only thing "ignore" can do here.
            return value.encode("utf-8")[:budget].decode("utf-8", "ignore")
        return value[:budget]

    if size(text) <= limit:
        return text, False
    if size(note) >= limit:
        return prefix(note.strip(), max(0, limit)), True
    budget = limit - size(note)
    while True:
        head = prefix(text, budget)
        line_end = head.rfind("\n")
        if line_end > 0:
            head = head[: line_end + 1]
        candidate = head + _markdown_closers(head) + note
        overflow = size(candidate) - limit
        if overflow <= 0 or not head:
            return candidate if overflow <= 0 else note, True
        budget = max(0, min(budget, size(head)) - overflow)


def _markdown_closers(head: str) -> str:
    fence: str | None = None
    for line in head.splitlines():
        stripped = line.strip()
        match = _FENCE_RE.match(stripped)
        if match is None:
            continue
        if fence is None:
            fence = match.group(1)
        elif stripped.startswith(fence) and set(stripped) == {fence[0]}:
            fence = None
    closers = "" if head.endswith("\n") or not head else "\n"
    if fence is not None:
        closers += fence + "\n"
    opened = len(re.findall(r"<details\b", head, re.IGNORECASE))
    closed = len(re.findall(r"</details\s*>", head, re.IGNORECASE))
    closers += "</details>\n" * max(0, opened - closed)
    return closers


# --------------------------------------------------------------------------- API client


@dataclasses.dataclass(frozen=True)
class IssueComment:
    """One issue or pull request comment as the REST API returns it."""

    id: int
    author: str | None
    body: str
    html_url: str | None


class GitHubClient:
    """A small REST client with GitHub's retry and rate-limit rules, bounded in time."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 10,
        max_retries: int = 4,
        max_total_wait_s: float = 60,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        self._session = session if session is not None else requests.Session()
        self._owns_session = session is None
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_total_wait_s = max_total_wait_s
        self._sleep = sleep
        self._clock = clock
        # Jitter spreads retries of many jobs; with an injected sleep (tests) it is seeded so
        # the delays are reproducible.
        self._rng = rng if rng is not None else random.Random(None if sleep is time.sleep else 0)
        self._waited_s = 0.0

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r})"

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def scrub(self, text: str) -> str:
        """Remove the token (raw or URL-encoded) from ``text``."""
        return scrub_secret(text, self._token)

    # -- endpoints

    def authenticated_login(self) -> str | None:
        """The login behind the token, or None when ``GET /user`` is refused.

        A personal access token can read ``/user``; the workflow's GITHUB_TOKEN (an app
        installation token) gets 403, and its comments appear as ``github-actions[bot]``.
        """
        try:
            response = self.request("GET", "/user")
        except GitHubApiError as exc:
            if exc.status in (401, 403, 404):
                return None
            raise
        login = _json(response, self._token).get("login")
        return login if isinstance(login, str) else None

    def iter_issue_comments(self, repo: str, number: int) -> Iterator[IssueComment]:
        """Yield the comments of issue or PR ``number`` oldest first, following ``Link: next``."""
        path = f"/repos/{_repo_path(repo)}/issues/{int(number)}/comments"
        for item in self.iter_list(path):
            comment = _parse_comment(item)
            if comment is not None:
                yield comment

    def pull_request_head_sha(self, repo: str, number: int) -> str:
        """The commit at the head of pull request ``number`` now."""
        response = self.request("GET", f"/repos/{_repo_path(repo)}/pulls/{int(number)}")
        pull = _json(response, self._token)
        head = pull.get("head") if isinstance(pull, dict) else None
        sha = head.get("sha") if isinstance(head, dict) else None
        if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
            raise GitHubApiError(
                f"GET /repos/{repo}/pulls/{int(number)}: expected a head commit SHA, got "
                f"{server_text(repr(sha), self._token, 100)}",
                status=response.status_code,
            )
        return sha.lower()

    def iter_list(self, path: str, *, key: str | None = None) -> Iterator[Any]:
        """Yield the items of a paginated list endpoint (``key`` names the list inside an
        object, as ``/actions/artifacts`` wraps it), following ``Link: next`` on our API only."""
        url: str | None = self._url(path)
        params: dict[str, str | int] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_COMMENT_PAGES):
            if url is None:
                return
            response = self.request("GET", url, params=params)
            page = _json(response, self._token)
            items = page.get(key) if key is not None and isinstance(page, dict) else page
            if not isinstance(items, list):
                raise GitHubApiError(
                    f"GET {urlsplit(url).path}: expected a JSON list", status=response.status_code
                )
            yield from items
            next_link = response.links.get("next", {}).get("url")
            url = self._checked_next_url(next_link) if next_link else None
            params = None  # the next link carries them
        raise GitHubApiError(f"GET {path}: more than {MAX_COMMENT_PAGES} pages; giving up")

    def download(self, path: str, *, max_bytes: int) -> bytes:
        """The body of ``path`` (an artifact's zip), at most ``max_bytes``.

        GitHub answers with a redirect to storage on another host: that request goes without
        the token (the storage URL is signed), and only to http(s)."""
        response = self.request("GET", path, redirect_ok=True)
        if response.is_redirect:
            location = urljoin(response.url, response.headers.get("location", ""))
            target, ours = urlsplit(location), urlsplit(self.api_url)
            if target.scheme not in ("http", "https"):
                raise GitHubApiError(f"GET {path}: redirected to a non-HTTP location")
            same_host = (target.scheme, target.netloc) == (ours.scheme, ours.netloc)
            headers = {"User-Agent": USER_AGENT}
            if same_host:
                headers["Authorization"] = f"Bearer {self._token}"
            response = self._storage_get(path, location, headers)
        body = bytearray()
        for chunk in response.iter_content(65_536):
            body += chunk
            if len(body) > max_bytes:
                response.close()
                raise GitHubApiError(f"GET {path}: larger than {max_bytes} bytes; not read")
        return bytes(body)

    def _storage_get(
        self, path: str, location: str, headers: Mapping[str, str]
    ) -> requests.Response:
        """GET a redirect's ``location``, retrying a 5xx or a dropped connection like
        :meth:`request` does (the location holds a signature: it is never printed)."""
        attempt = 0
        while True:
            try:
                response = self._session.get(
                    location, headers=headers, timeout=self.timeout, stream=True,
                    allow_redirects=False,
                )  # fmt: skip
            except requests.RequestException as exc:
                reason = f"GET {path}: storage: {_describe_exception(exc)}"
            else:
                if 200 <= response.status_code < 300:
                    return response
                reason = f"GET {path}: storage answered HTTP {response.status_code}"
                if response.status_code < 500:
                    raise GitHubApiError(reason, status=response.status_code)
            if attempt >= self.max_retries:
                raise GitHubApiError(f"{reason} (gave up after {attempt + 1} attempts)")
            self.pause(self.backoff_delay(attempt), reason)
            attempt += 1

    def list_issue_comments(self, repo: str, number: int) -> list[IssueComment]:
        """All comments of issue or PR ``number``, across every page."""
        return list(self.iter_issue_comments(repo, number))

    def create_issue_comment(self, repo: str, number: int, body: str) -> IssueComment:
        """POST a new comment.

        Raises GitHubRequestUncertainError when the outcome is unknown (timeout, dropped
        connection, 5xx): the comment may exist; the caller decides whether to look first.
        """
        path = f"/repos/{_repo_path(repo)}/issues/{int(number)}/comments"
        response = self.request("POST", path, json_body={"body": body}, idempotent=False)
        return self._comment_from(response)

    def update_issue_comment(self, repo: str, comment_id: int, body: str) -> IssueComment:
        """PATCH the body of an existing comment."""
        path = f"/repos/{_repo_path(repo)}/issues/comments/{int(comment_id)}"
        return self._comment_from(self.request("PATCH", path, json_body={"body": body}))

    # -- retries

    def backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number ``attempt`` (0-based)."""
        ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0**attempt)
        return ceiling * (0.5 + 0.5 * self._rng.random())

    def pause(self, delay: float, reason: str) -> None:
        """Sleep ``delay`` seconds unless that would exceed the client's total wait budget."""
        if self._waited_s + delay > self.max_total_wait_s:
            raise GitHubApiError(
                f"{self.scrub(reason)}; waiting {delay:.0f} s more would exceed the "
                f"{self.max_total_wait_s:.0f} s this run may spend waiting for GitHub"
            )
        self._sleep(delay)
        self._waited_s += delay

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, object] | None = None,
        idempotent: bool = True,
        redirect_ok: bool = False,
    ) -> requests.Response:
        """Send one API request with retries; return a 2xx response or raise GitHubApiError.

        Redirects are never followed (the token would go along); with ``redirect_ok`` a
        redirect is returned for the caller to follow without it."""
        url = self._url(path_or_url)
        where = f"{method} {urlsplit(url).path}"
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
        }
        attempt = 0
        rate_limit_waits = 0
        while True:
            status: int | None = None
            try:
                response = self._session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                reason = f"{where}: {_describe_exception(exc)}"
                if not idempotent:
                    raise GitHubRequestUncertainError(self.scrub(reason)) from None
                delay = self.backoff_delay(attempt)
            else:
                status = response.status_code
                if 200 <= status < 300 or (redirect_ok and response.is_redirect):
                    return response
                reason = f"{where}: HTTP {status}: {_error_message(response, self._token)}"
                if status >= 500:
                    if not idempotent:
                        raise GitHubRequestUncertainError(self.scrub(reason), status=status)
                    delay = self.backoff_delay(attempt)
                else:
                    rate_limit_delay = self._rate_limit_delay(response, rate_limit_waits)
                    if rate_limit_delay is None:
                        raise GitHubApiError(self.scrub(reason), status=status)
                    rate_limit_waits += 1
                    delay = rate_limit_delay
            if attempt >= self.max_retries:
                raise GitHubApiError(
                    f"{self.scrub(reason)} (gave up after {attempt + 1} attempts)", status=status
                )
            self.pause(delay, reason)
            attempt += 1

    def _rate_limit_delay(self, response: requests.Response, earlier_waits: int) -> float | None:
        """Seconds to wait if ``response`` is a rate limit; None if it is a plain refusal."""
        if response.status_code not in (403, 429):
            return None
        retry_after = _parse_retry_after(response.headers.get("retry-after"), self._clock)
        if retry_after is not None:
            return retry_after
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            if reset.strip().isdigit():
                # One second of slack: the reset time is whole seconds and clocks differ.
                return max(1.0, int(reset) - self._clock() + 1)
            return SECONDARY_RATE_LIMIT_MIN_WAIT_S * 2.0**earlier_waits
        if response.status_code == 429 or "rate limit" in response.text.lower():
            return SECONDARY_RATE_LIMIT_MIN_WAIT_S * 2.0**earlier_waits
        return None

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.api_url + path_or_url

    def _checked_next_url(self, next_url: str) -> str:
        # The Authorization header goes wherever we send it: only follow links to our API.
        ours, theirs = urlsplit(self.api_url), urlsplit(next_url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc) or not (
            theirs.path + "/"
        ).startswith(ours.path + "/"):
            raise GitHubApiError(
                f"refusing to follow a pagination link outside {self.api_url}: "
                f"{server_text(next_url, self._token, SERVER_TEXT_CHARS)}"
            )
        return next_url

    def _comment_from(self, response: requests.Response) -> IssueComment:
        comment = _parse_comment(_json(response, self._token))
        if comment is None:
            raise GitHubApiError(
                f"{response.request.method} {urlsplit(response.url).path}: "
                "expected a comment object in the response",
                status=response.status_code,
            )
        return comment


def scrub_secret(text: str, secret: str | None) -> str:
    """Replace ``secret`` (raw or URL-encoded) in ``text`` with ``***``, and every run of
    SECRET_FRAGMENT_CHARS or more of its characters, even one that other characters break up
    (a token cut short, split across fields, or spelled out in pieces)."""
    if not secret:
        return text
    forms = sorted({secret, quote(secret, safe="")}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, "***")
    size = SECRET_FRAGMENT_CHARS
    if len(secret) <= size or len(text) < size:
        return text
    fragments = {form[i : i + size] for form in forms for i in range(len(form) - size + 1)}
    # Look for fragments among the characters a token can hold, with everything else (spaces,
    # "; " between fields, markup) left out; hide the characters found, wherever they stand.
    alphabet = set("".join(forms))
    where = [index for index, char in enumerate(text) if char in alphabet]
    compact = "".join(text[index] for index in where)
    hidden: set[int] = set()
    for start in range(len(compact) - size + 1):
        if compact[start : start + size] in fragments:
            hidden.update(where[start : start + size])
    if not hidden:
        return text
    pieces: list[str] = []
    for index, char in enumerate(text):
        if index not in hidden:
            pieces.append(char)
        elif index - 1 not in hidden:
            pieces.append("***")
    return "".join(pieces)


def _repo_path(repo: str) -> str:
    _check_repository(repo, source="repository")
    owner, name = repo.split("/")
    return f"{quote(owner, safe='')}/{quote(name, safe='')}"


def _json(response: requests.Response, secret: str | None) -> Any:
    try:
        return response.json()
    except ValueError:
        where = server_text(urlsplit(response.url).path, secret, SERVER_TEXT_CHARS)
        got = server_text(response.text, secret, 200)
        raise GitHubApiError(
            f"{where}: expected JSON, got {got!r}", status=response.status_code
        ) from None


def _parse_comment(item: object) -> IssueComment | None:
    if not isinstance(item, dict):
        return None
    comment_id = item.get("id")
    if isinstance(comment_id, bool) or not isinstance(comment_id, int):
        return None
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    body = item.get("body")
    html_url = item.get("html_url")
    return IssueComment(
        id=comment_id,
        author=login if isinstance(login, str) else None,
        body=body if isinstance(body, str) else "",
        html_url=html_url if isinstance(html_url, str) else None,
    )


def _error_message(response: requests.Response, secret: str | None) -> str:
    """The server's explanation of a refusal: scrubbed whole, escaped, then cut."""
    try:
        payload = response.json()
    except ValueError:
        text = response.text.strip() or response.reason or "no message"
        return server_text(text, secret, SERVER_TEXT_CHARS)
    if not isinstance(payload, dict):
        return server_text(str(payload), secret, SERVER_TEXT_CHARS)
    parts = [str(payload.get("message") or response.reason or "no message")]
    errors = payload.get("errors")
    if isinstance(errors, list):
        parts.extend(
            str(error["message"])
            for error in errors
            if isinstance(error, dict) and error.get("message")
        )
    return server_text("; ".join(parts), secret, SERVER_TEXT_CHARS * 4)


def _describe_exception(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed ({type(exc).__name__})"
    return type(exc).__name__


def _parse_retry_after(value: str | None, clock: Callable[[], float]) -> float | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock())


# --------------------------------------------------------------------------- sticky comment


@dataclasses.dataclass(frozen=True)
class CommentResult:
    """What upsert_sticky_comment did to the pull request."""

    action: Literal["created", "updated"]
    comment_id: int
    html_url: str | None
    truncated: bool


def sticky_marker(manifest_path: str, job: str) -> str:
    """The marker for one manifest and one job, safe inside an HTML comment.

    Each gated job (or matrix leg) and each manifest keeps its own comment. Anything outside
    a small safe set is percent-encoded, and ``--`` is broken up so the comment cannot end early.
    """
    return f"manifest={_marker_part(manifest_path.replace(chr(92), '/'))};job={_marker_part(job)}"


def _marker_part(text: str) -> str:
    encoded = quote(text, safe="/.:@+,")
    return re.sub(r"-(?=-)", "%2D", encoded)


def marker_comment(marker: str) -> str:
    """The hidden HTML comment that identifies our comment: ``<!-- agent-readiness:... -->``."""
    if not _MARKER_RE.fullmatch(marker) or "--" in marker:
        raise ValueError(f"marker {marker!r}: build it with sticky_marker()")
    return f"<!-- {MARKER_PREFIX}{marker} -->"


def find_sticky_comment(
    client: GitHubClient, repo: str, number: int, *, marker: str, author: str
) -> IssueComment | None:
    """The oldest comment carrying ``marker`` written by ``author``; strangers' are ignored."""
    tag = marker_comment(marker)
    wanted = author.lower()
    for comment in client.iter_issue_comments(repo, number):
        if tag in comment.body and (comment.author or "").lower() == wanted:
            return comment
    return None


def upsert_sticky_comment(
    client: GitHubClient, repo: str, number: int, *, marker: str, body: str, author: str
) -> CommentResult:
    """Update our marked comment on PR ``number`` or create it; never make a second one.

    A create whose outcome is unknown (timeout, dropped connection, 5xx) is followed by a
    fresh look, and the comment is updated if the server had accepted it after all.
    """
    tag = marker_comment(marker)
    full_body = body if tag in body else f"{tag}\n{body}"
    fitted, truncated = truncate_markdown(
        full_body, COMMENT_LIMIT_CHARS, note=COMMENT_TRUNCATION_NOTE
    )

    def update(comment_id: int) -> CommentResult:
        comment, harder = _send_fitting(
            lambda text: client.update_issue_comment(repo, comment_id, text), fitted
        )
        return CommentResult("updated", comment.id, comment.html_url, truncated or harder)

    existing = find_sticky_comment(client, repo, number, marker=marker, author=author)
    if existing is not None:
        return update(existing.id)
    attempt = 0
    while True:
        try:
            comment, harder = _send_fitting(
                lambda text: client.create_issue_comment(repo, number, text), fitted
            )
            return CommentResult("created", comment.id, comment.html_url, truncated or harder)
        except GitHubRequestUncertainError as exc:
            if attempt >= client.max_retries:
                raise
            client.pause(client.backoff_delay(attempt), str(exc))
            attempt += 1
        landed = find_sticky_comment(client, repo, number, marker=marker, author=author)
        if landed is not None:
            # Our earlier create went through after all: one comment, brought up to date.
            return dataclasses.replace(update(landed.id), action="created")


def _send_fitting(send: Callable[[str], IssueComment], body: str) -> tuple[IssueComment, bool]:
    """Send ``body``; on 422 "too long" cut it harder once and send again."""
    try:
        return send(body), False
    except GitHubApiError as exc:
        if exc.status != 422 or "too long" not in str(exc).lower():
            raise
    # GitHub's count may not be ours (code points): UTF-8 bytes are never fewer than
    # code points or UTF-16 units, so that bound fits whatever GitHub counts.
    harder, _ = truncate_markdown(
        body, COMMENT_LIMIT_CHARS, note=COMMENT_TRUNCATION_NOTE, in_bytes=True
    )
    if harder == body:
        harder, _ = truncate_markdown(body, len(body) // 2, note=COMMENT_TRUNCATION_NOTE)
    return send(harder), True


# --------------------------------------------------------------------------- workflow_run


def stale_pull_request(
    client: GitHubClient, repo: str, number: int, origin: WorkflowRunOrigin
) -> str | None:
    """Why the run ``origin`` may not comment on pull request ``number`` (None: it may).

    The number comes from an artifact the pull request's own run wrote, so it is only a claim:
    the pull request's head must be the commit that run tested. That also keeps an older run
    from overwriting the comment of a newer push.
    """
    head = client.pull_request_head_sha(repo, number)
    if head != origin.head_sha:
        return (
            f"pull request #{number} is at {head}, but run {origin.run_id} tested "
            f"{origin.head_sha} (a newer push, or an artifact naming another pull request)"
        )
    return None


# --------------------------------------------------------------------------- publish


@dataclasses.dataclass(frozen=True)
class PublishResult:
    """What ``publish`` did, deliberately skipped, and could not do (with reasons)."""

    summary_written: bool
    outputs_written: bool
    annotations_printed: bool
    comment: CommentResult | None
    skipped: tuple[str, ...]
    failed: tuple[str, ...]


def resolve_comment_author(client: GitHubClient, override: str | None = None) -> str:
    """The login our comments appear under: the override, else ``GET /user``, else the bot."""
    if override:
        return override
    return client.authenticated_login() or ACTIONS_BOT_LOGIN


def publish(
    env: GitHubEnv,
    *,
    summary_markdown: str,
    comment_markdown: str,
    annotations_text: str,
    outputs: Mapping[str, str],
    marker: str,
    comment: bool,
    stdout: TextIO,
    stderr: TextIO,
    client: GitHubClient | None = None,
    comment_author: str | None = None,
    mask: bool = True,
) -> PublishResult:
    """Write the job summary, step outputs and annotations, then upsert the PR comment.

    Never raises on API or file trouble: each failure becomes a ``::warning::`` and an entry in
    ``failed``. It does not decide the exit status; the gate's verdict does. ``mask=False``
    when the caller has already printed ``::add-mask::`` for the token.
    """
    token = env.token
    if mask:
        # Before anything else, so the runner hides the token in every later line.
        mask_token(token, stdout, in_actions=env.in_actions)
    skipped: list[str] = []
    failed: list[str] = []

    def fail(what: str, reason: str) -> None:
        # The reason may quote the server: scrubbed whole, then made printable.
        message = printable(scrub_secret(f"{what}: {reason}", token))
        failed.append(message)
        print(warning_command(message), file=stdout, flush=True)

    summary_written = False
    if env.step_summary_path is None:
        skipped.append("job summary: GITHUB_STEP_SUMMARY is not set")
    else:
        try:
            if append_step_summary(env.step_summary_path, summary_markdown):
                print(
                    "agent-readiness: the job summary was truncated to GitHub's 1 MiB limit",
                    file=stderr,
                )
            summary_written = True
        except OSError as exc:
            fail("Could not write the job summary", f"{env.step_summary_path}: {exc.strerror}")

    outputs_written = False
    if env.output_path is None:
        skipped.append("step outputs: GITHUB_OUTPUT is not set")
    else:
        try:
            write_outputs(env.output_path, outputs)
            outputs_written = True
        except OSError as exc:
            fail("Could not write the step outputs", f"{env.output_path}: {exc.strerror}")

    annotations_printed = False
    if annotations_text:
        stdout.write(
            annotations_text if annotations_text.endswith("\n") else annotations_text + "\n"
        )
        stdout.flush()
        annotations_printed = True

    comment_result: CommentResult | None = None
    target = _comment_target(env, comment)
    if isinstance(target, str):
        skipped.append(f"pull request comment: {target}")
        if comment and env.token_is_read_only_fork_token:
            print(warning_command(FORK_COMMENT_ADVICE), file=stdout, flush=True)
        elif comment and env.pull_request_number is not None:
            message = f"Not posting the pull request comment: {target}"
            print(warning_command(message), file=stdout, flush=True)
    else:
        token, repository, number = target
        api = client if client is not None else GitHubClient(env.api_url, token)
        try:
            author = resolve_comment_author(api, comment_author)
            comment_result = upsert_sticky_comment(
                api, repository, number, marker=marker, body=comment_markdown, author=author
            )
            # html_url is the server's word: scrubbed and escaped like any other.
            where = server_text(comment_result.html_url or "", token, SERVER_TEXT_CHARS)
            print(
                f"agent-readiness: {comment_result.action} the pull request comment "
                f"{where or comment_result.comment_id}",
                file=stderr,
            )
        except GitHubError as exc:
            fail(
                "Could not post the pull request comment",
                f"{exc}{_permission_hint(exc)}. The verdict is unaffected; "
                "the scorecard is in the job summary",
            )
        finally:
            if client is None:
                api.close()

    return PublishResult(
        summary_written=summary_written,
        outputs_written=outputs_written,
        annotations_printed=annotations_printed,
        comment=comment_result,
        skipped=tuple(skipped),
        failed=tuple(failed),
    )


def _comment_target(env: GitHubEnv, comment: bool) -> tuple[str, str, int] | str:
    """(token, repository, PR number) to comment with, or why there is no comment to post."""
    if not comment:
        return "turned off"
    if env.pull_request_number is None:
        return f"the {env.event_name or 'unknown'} event is not about a pull request"
    if env.token_is_read_only_fork_token:
        return "the pull request comes from a fork and its token is read-only"
    if not env.token:
        return "no token (set GITHUB_TOKEN, e.g. from secrets.GITHUB_TOKEN)"
    if env.repository is None:
        return "GITHUB_REPOSITORY is not set"
    return env.token, env.repository, env.pull_request_number


def _permission_hint(exc: GitHubError) -> str:
    if isinstance(exc, GitHubApiError) and "not accessible by integration" in str(exc).lower():
        return (
            " (the token lacks `pull-requests: write` permission, or this is a fork's "
            "read-only token)"
        )
    return ""
