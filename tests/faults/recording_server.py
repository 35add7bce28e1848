"""A tiny local HTTP server for fault tests: it records every request (method, path, headers, body) and answers
from a table, so a test can play an attacker's "API server" or a misbehaving one and then ask what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

# (status, content type, body) for a request path; None: 404
Answer = tuple[int, str, bytes]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


def json_answer(doc: Any, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(doc).encode()


@dataclass
class RecordingServer:
    """``with RecordingServer(answer) as srv:`` then ``srv.url``; ``srv.requests`` holds what came in."""

    answer: Callable[[str, str], Answer | None] = lambda method, path: None
    requests: list[Request] = field(default_factory=list)

    def __enter__(self) -> RecordingServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
                status, ctype, data = outer.answer(self.command, self.path) or json_answer(
                    {"kind": "Status", "status": "Failure", "code": 404, "reason": "NotFound"}, 404
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # quiet: the test reads ``requests``
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def authorization_headers(self) -> list[str]:
        return [v for r in list(self.requests) for k, v in r.headers.items() if k.lower() == "authorization"]

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
