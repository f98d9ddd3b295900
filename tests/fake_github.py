"""A real HTTP server on 127.0.0.1 that plays the few GitHub REST endpoints we use.

It keeps comments in memory, records every request, and plays scripted faults per endpoint
(5xx, rate limits, refusals, a create that is applied but never answered) so the tests see what
actually reached the server.
"""

from __future__ import annotations

import base64
import dataclasses
import http.server
import json
import re
import threading
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

Endpoint = Literal[
    "user",
    "list_comments",
    "create_comment",
    "update_comment",
    "get_pull",
    "org_repos",
    "artifacts",
    "artifact_zip",
    "contents",
]
FaultAction = Literal[
    "respond", "respond_raw", "accept_then_drop", "accept_then_stall", "replace_headers"
]

_LIST_OR_CREATE = re.compile(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments")
_UPDATE = re.compile(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)")
_PULL = re.compile(r"/repos/([^/]+)/([^/]+)/pulls/(\d+)")
_ORG_REPOS = re.compile(r"/orgs/([^/]+)/repos")
_ARTIFACTS = re.compile(r"/repos/([^/]+/[^/]+)/actions/artifacts")
_ARTIFACT_ZIP = re.compile(r"/repos/([^/]+/[^/]+)/actions/artifacts/(\d+)/zip")
_CONTENTS = re.compile(r"/repos/([^/]+/[^/]+)/contents/(.*)")
BOT_LOGIN = "github-actions[bot]"
# An upper bound for a stalled handler, so a broken test cannot hang the server forever.
_STALL_LIMIT_S = 30.0


@dataclasses.dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour of an endpoint."""

    status: int = 0
    message: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    action: FaultAction = "respond"

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        """A bare 5xx, as a proxy in front of GitHub sends."""
        return cls(status=status, message="Server Error")

    @classmethod
    def secondary_rate_limit(cls, retry_after: int, status: int = 403) -> Fault:
        """A secondary rate limit that says how long to wait."""
        return cls(
            status=status,
            message="You have exceeded a secondary rate limit. Please wait a few minutes.",
            headers=(("Retry-After", str(retry_after)),),
        )

    @classmethod
    def rate_limit_without_headers(cls, status: int = 403) -> Fault:
        """A secondary rate limit with neither retry-after nor reset headers."""
        return cls(status=status, message="You have exceeded a secondary rate limit.")

    @classmethod
    def primary_rate_limit(cls, reset_epoch: int, status: int = 403) -> Fault:
        """The hourly quota is spent until ``reset_epoch``."""
        return cls(
            status=status,
            message="API rate limit exceeded for installation.",
            headers=(
                ("x-ratelimit-limit", "1000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", "1000"),
                ("x-ratelimit-reset", str(reset_epoch)),
                ("x-ratelimit-resource", "core"),
            ),
        )

    @classmethod
    def not_accessible(cls) -> Fault:
        """What a read-only (fork) token or a missing permission gets."""
        return cls(status=403, message="Resource not accessible by integration")

    @classmethod
    def raw(cls, status: int, body: str, content_type: str = "text/plain") -> Fault:
        """Answer with ``body`` as it is (a proxy's HTML page, a hostile echo)."""
        return cls(
            status=status,
            message=body,
            headers=(("Content-Type", content_type),),
            action="respond_raw",
        )

    @classmethod
    def with_headers(cls, *headers: tuple[str, str]) -> Fault:
        """Answer normally but with these headers instead (e.g. a hostile ``Link``)."""
        return cls(action="replace_headers", headers=headers)

    @classmethod
    def accept_then_drop(cls) -> Fault:
        """Apply the request, then close the connection without an answer."""
        return cls(action="accept_then_drop")

    @classmethod
    def accept_then_stall(cls) -> Fault:
        """Apply the request, then answer nothing until the server closes."""
        return cls(action="accept_then_stall")


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One request as it reached the server."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str

    def json(self) -> object:
        return json.loads(self.body)


@dataclasses.dataclass
class FakeComment:
    id: int
    repo: str
    number: int
    author: str
    body: str


class FakeGitHub:
    """The fake API; use as a context manager, then point a client at ``.url``."""

    def __init__(
        self,
        *,
        token: str = "ghs_fake-token-0123456789",
        login: str | None = None,
        base_path: str = "",
        max_body: int = 65_536,
        count_body_in: Literal["chars", "utf8"] = "chars",
    ) -> None:
        """``login=None`` plays the workflow's GITHUB_TOKEN: ``/user`` is refused and
        comments appear as github-actions[bot]. ``base_path`` is e.g. ``/api/v3`` (GHES)."""
        self.token = token
        self.login = login
        self.base_path = base_path.rstrip("/")
        self.max_body = max_body
        self.count_body_in = count_body_in
        # A hostile server's html_url for the comments it returns (None: GitHub's shape).
        self.html_url: str | None = None
        # (repository, number) -> the pull request's head commit SHA.
        self.pulls: dict[tuple[str, int], str] = {}
        self.requests: list[RecordedRequest] = []
        # Org mode: repositories per organisation, artifacts per repository, each artifact's
        # zip by id, root files per repository, and where zips are served from (another host).
        self.org_repos: dict[str, list[dict[str, object]]] = {}
        self.artifacts: dict[str, list[dict[str, object]]] = {}
        self.archives: dict[int, bytes] = {}
        self.files: dict[str, dict[str, str]] = {}
        self.storage_url: str | None = None
        self.page_size = 100
        self.comments: list[FakeComment] = []
        self._faults: dict[Endpoint, list[Fault]] = {}
        self._next_id = 1000
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def author(self) -> str:
        """The login the fake's comments are written under."""
        return self.login or BOT_LOGIN

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.base_path}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- scripting and inspection

    def fail_next(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests to ``endpoint`` with ``fault``."""
        with self._lock:
            self._faults.setdefault(endpoint, []).extend([fault] * times)

    def add_comment(self, repo: str, number: int, body: str, *, author: str) -> int:
        """Seed a comment, e.g. a stranger's that carries our marker."""
        with self._lock:
            return self._add(repo, number, body, author).id

    def comments_on(self, repo: str, number: int) -> list[FakeComment]:
        with self._lock:
            return [c for c in self.comments if (c.repo, c.number) == (repo, number)]

    def requests_to(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    # -- used by the handler, under the lock

    def _add(self, repo: str, number: int, body: str, author: str) -> FakeComment:
        self._next_id += 1
        comment = FakeComment(self._next_id, repo, number, author, body)
        self.comments.append(comment)
        return comment

    def _pop_fault(self, endpoint: Endpoint) -> Fault | None:
        queue = self._faults.get(endpoint)
        return queue.pop(0) if queue else None

    def _too_long(self, body: str) -> bool:
        size = len(body.encode("utf-8")) if self.count_body_in == "utf8" else len(body)
        return size > self.max_body

    def comment_json(self, comment: FakeComment) -> dict[str, object]:
        return {
            "id": comment.id,
            "body": comment.body,
            "user": {
                "login": comment.author,
                "type": "Bot" if "[bot]" in comment.author else "User",
            },
            "html_url": self.html_url
            or f"https://github.example/{comment.repo}/pull/{comment.number}"
            f"#issuecomment-{comment.id}",
        }


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "FakeGitHub/1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    @property
    def fake(self) -> FakeGitHub:
        fake: FakeGitHub = self.server.fake  # type: ignore[attr-defined]
        return fake

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.fake
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length).decode("utf-8") if length else ""
        parts = urlsplit(self.path)
        with fake._lock:
            fake.requests.append(
                RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=raw_body,
                )
            )
        if not parts.path.startswith(fake.base_path + "/"):
            self._reply(404, {"message": "Not Found"})
            return
        path = parts.path[len(fake.base_path) :]
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._reply(401, {"message": "Bad credentials"})
            return
        route = self._route(path)
        if route is None:
            self._reply(404, {"message": "Not Found"})
            return
        endpoint, match = route
        with fake._lock:
            fault = fake._pop_fault(endpoint)
        if fault is not None and fault.action == "respond":
            self._reply(fault.status, {"message": fault.message}, headers=fault.headers)
            return
        if fault is not None and fault.action == "respond_raw":
            self._reply_raw(fault.status, fault.message.encode("utf-8"), fault.headers)
            return
        status, payload, headers = self._apply(endpoint, match, parts.query, raw_body)
        raw = dict(headers).get("X-Raw-Body")
        if raw is not None:
            self._reply_raw(status, fake.archives[int(raw)], (("Content-Type", "application/zip"),))
            return
        if fault is None or fault.action == "replace_headers":
            self._reply(status, payload, headers=headers if fault is None else fault.headers)
            return
        if fault.action == "accept_then_stall":
            fake._release.wait(_STALL_LIMIT_S)
        # Applied, never answered: the client cannot tell whether it worked.
        self.close_connection = True

    def _route(self, path: str) -> tuple[Endpoint, re.Match[str] | None] | None:
        if path == "/user" and self.command == "GET":
            return "user", None
        match = _LIST_OR_CREATE.fullmatch(path)
        if match and self.command in ("GET", "POST"):
            return ("list_comments" if self.command == "GET" else "create_comment"), match
        match = _UPDATE.fullmatch(path)
        if match and self.command == "PATCH":
            return "update_comment", match
        match = _PULL.fullmatch(path)
        if match and self.command == "GET":
            return "get_pull", match
        for endpoint, pattern in (
            ("org_repos", _ORG_REPOS),
            ("artifact_zip", _ARTIFACT_ZIP),
            ("artifacts", _ARTIFACTS),
            ("contents", _CONTENTS),
        ):
            match = pattern.fullmatch(path)
            if match and self.command == "GET":
                return endpoint, match  # type: ignore[return-value]
        return None

    def _apply(
        self, endpoint: Endpoint, match: re.Match[str] | None, query: str, raw_body: str
    ) -> tuple[int, object, tuple[tuple[str, str], ...]]:
        fake = self.fake
        if endpoint == "user":
            if fake.login is None:
                return 403, {"message": "Resource not accessible by integration"}, ()
            return 200, {"login": fake.login, "type": "User"}, ()
        assert match is not None
        if endpoint in ("org_repos", "artifacts", "artifact_zip", "contents"):
            return self._org(endpoint, match, parse_qs(query))
        repo = f"{match.group(1)}/{match.group(2)}"
        if endpoint == "get_pull":
            number = int(match.group(3))
            with fake._lock:
                head = fake.pulls.get((repo, number))
            if head is None:
                return 404, {"message": "Not Found"}, ()
            return 200, {"number": number, "head": {"sha": head}}, ()
        if endpoint == "list_comments":
            return self._list(repo, int(match.group(3)), parse_qs(query))
        body = json.loads(raw_body).get("body")
        if not isinstance(body, str):
            return 422, {"message": "Invalid request.", "errors": ["body is missing"]}, ()
        if fake._too_long(body):
            return (
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "IssueComment",
                            "code": "unprocessable",
                            "field": "data",
                            "message": "Body is too long (maximum is 65536 characters)",
                        }
                    ],
                },
                (),
            )
        with fake._lock:
            if endpoint == "create_comment":
                comment = fake._add(repo, int(match.group(3)), body, fake.author)
                return 201, fake.comment_json(comment), ()
            wanted = int(match.group(3))
            found = [c for c in fake.comments if c.id == wanted and c.repo == repo]
            if not found:
                return 404, {"message": "Not Found"}, ()
            if found[0].author != fake.author:
                return 403, {"message": "Must have admin rights to Repository."}, ()
            found[0].body = body
            return 200, fake.comment_json(found[0]), ()

    def _org(
        self, endpoint: Endpoint, match: re.Match[str], query: dict[str, list[str]]
    ) -> tuple[int, object, tuple[tuple[str, str], ...]]:
        fake = self.fake
        with fake._lock:
            if endpoint == "org_repos":
                if match.group(1) not in fake.org_repos:
                    return 404, {"message": "Not Found"}, ()
                return self._paged(fake.org_repos[match.group(1)], query, None)
            if endpoint == "artifacts":
                found = [
                    a
                    for a in fake.artifacts.get(match.group(1), [])
                    if a.get("name") == query.get("name", [a.get("name")])[0]
                ]
                return self._paged(found, query, "artifacts")
            if endpoint == "artifact_zip":
                artifact_id = int(match.group(2))
                if artifact_id not in fake.archives:
                    return 404, {"message": "Not Found"}, ()
                if fake.storage_url is None:
                    return 200, None, (("X-Raw-Body", str(artifact_id)),)
                location = f"{fake.storage_url}/blob/{artifact_id}?sig=signed"
                return 302, {}, (("Location", location),)
            repo, name = match.group(1), match.group(2)
            if repo not in fake.files:
                return 404, {"message": "Not Found"}, ()
            if name == "":
                listing = [{"name": n, "type": "file"} for n in sorted(fake.files[repo])]
                return 200, listing, ()
            if name not in fake.files[repo]:
                return 404, {"message": "Not Found"}, ()
            content = base64.b64encode(fake.files[repo][name].encode()).decode()
            return 200, {"name": name, "encoding": "base64", "content": content}, ()

    def _paged(
        self, everything: list[dict[str, object]], query: dict[str, list[str]], key: str | None
    ) -> tuple[int, object, tuple[tuple[str, str], ...]]:
        fake = self.fake
        per_page = min(int(query.get("per_page", ["30"])[0]), fake.page_size)
        page = int(query.get("page", ["1"])[0])
        chunk = everything[(page - 1) * per_page : page * per_page]
        headers: tuple[tuple[str, str], ...] = ()
        if page * per_page < len(everything):
            rest = {k: v[0] for k, v in query.items() if k != "page"}
            link = f"{fake.url}{urlsplit(self.path).path[len(fake.base_path) :]}"
            headers = (("Link", f'<{link}?{urlencode({**rest, "page": page + 1})}>; rel="next"'),)
        payload: object = {"total_count": len(everything), key: chunk} if key else chunk
        return 200, payload, headers

    def _list(
        self, repo: str, number: int, query: dict[str, list[str]]
    ) -> tuple[int, object, tuple[tuple[str, str], ...]]:
        fake = self.fake
        per_page = min(100, int(query.get("per_page", ["30"])[0]))
        page = int(query.get("page", ["1"])[0])
        with fake._lock:
            everything = [c for c in fake.comments if (c.repo, c.number) == (repo, number)]
            chunk = everything[(page - 1) * per_page : page * per_page]
            payload = [fake.comment_json(c) for c in chunk]
        last = max(1, -(-len(everything) // per_page))
        links = []
        base = f"{fake.url}/repos/{repo}/issues/{number}/comments"
        if page < last:
            links.append(
                f'<{base}?{urlencode({"per_page": per_page, "page": page + 1})}>; rel="next"'
            )
            links.append(f'<{base}?{urlencode({"per_page": per_page, "page": last})}>; rel="last"')
        headers = (("Link", ", ".join(links)),) if links else ()
        return 200, payload, headers

    def _reply(
        self, status: int, payload: object, *, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        content_type = (("Content-Type", "application/json; charset=utf-8"),)
        self._reply_raw(status, json.dumps(payload).encode("utf-8"), content_type + headers)

    def _reply_raw(self, status: int, data: bytes, headers: tuple[tuple[str, str], ...]) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeStorage:
    """The blob store artifact zips redirect to: another port, so another host to a client.

    It records every request's headers, to show that no token reached it."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.requests: list[RecordedRequest] = []
        self.failures = 0  # answer this many requests with 503 first
        storage = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                storage.requests.append(
                    RecordedRequest(
                        "GET", parts.path, parse_qs(parts.query),
                        {k.lower(): v for k, v in self.headers.items()}, "",
                    )
                )  # fmt: skip
                match = re.fullmatch(r"/blob/(\d+)", parts.path)
                data = storage.fake.archives.get(int(match.group(1))) if match else None
                if storage.failures:
                    storage.failures -= 1
                    data = None
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if data is None or self.headers.get("Authorization"):
                    # Signed storage refuses a request that carries a bearer token, as S3 does.
                    self.send_response(400 if data is not None else 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeStorage:
        self._thread.start()
        self.fake.storage_url = self.url
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
