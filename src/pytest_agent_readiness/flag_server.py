"""The ``http`` kill switch's flag: ``{"engaged": bool}`` served on 127.0.0.1.

Its own module so that only a run whose agent declares an ``http`` kill switch imports
``http.server`` (and the e-mail parser and socket server behind it): the harness is loaded by
every adapter's conftest, and that import was start-up cost paid by every run.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FlagServer"]


class _FlagHandler(BaseHTTPRequestHandler):
    server: FlagServer

    def do_GET(self) -> None:
        body = json.dumps({"engaged": self.server.engaged}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


class FlagServer(ThreadingHTTPServer):
    """Answers every GET with whether the switch is engaged (set :attr:`engaged`)."""

    daemon_threads = True
    engaged = False

    def __init__(self, port: int) -> None:
        """Listen on 127.0.0.1 at ``port`` (0: a free port)."""
        super().__init__(("127.0.0.1", port), _FlagHandler)
