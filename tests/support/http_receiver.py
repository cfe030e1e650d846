"""A small real HTTP server on loopback that records every request and answers as the test says.

For any test whose product code speaks HTTP to a peer that is not Drive (tests/support/drive_server.py is the
Drive-protocol peer): webhook alerts, Google's OAuth token endpoint, and whatever comes next.

    with HttpReceiver() as rx:
        rx.answer(200, {"ok": True})                  # the default answer (JSON body) for every request
        rx.route("POST", "/token", lambda req: Answer(400, {"error": "invalid_grant"}))  # computed per request
        rx.fail_next(2, 503)                         # the next two requests fail first
        ... product code calls rx.url("/hook") ...
        req = rx.wait_for_request(lambda r: r.path == "/hook")   # thread-safe, with a timeout
        req.method, req.path, req.headers["Content-Type"], req.json()

Every request is recorded in `requests` (method, path with query, headers, body, the status answered);
`received` keeps the ones answered with 2xx, `answered` every status in order. The server runs one thread per
request (ThreadingHTTPServer), so a product that sends in parallel is served in parallel.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and the status it was answered with."""

    method: str
    path: str  # with the query string, as sent
    headers: dict[str, str]
    body: bytes
    status: int = 200

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        """An application/x-www-form-urlencoded body, parsed."""
        return urllib.parse.parse_qs(self.body.decode())

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urllib.parse.urlsplit(self.path).path


@dataclass(frozen=True)
class Answer:
    """What to send back: a status, a body (bytes or str sent as is; anything else as JSON) and headers."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


Responder = Callable[[Received], Answer]


class HttpReceiver:
    """Start with `with HttpReceiver() as rx:` (or `start()` / `stop()`); `rx.url(path)` is where to send."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Received] = []
        self._default = Answer()
        self._routes: dict[tuple[str, str], Responder] = {}
        self._fail: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers; every answer has a Content-Length

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(self.command, self.path, dict(self.headers), body)
                answer = receiver._answer_for(request)
                # Recorded before the answer leaves: once the client has its answer, the test sees the request.
                with receiver._changed:
                    receiver.requests.append(Received(request.method, request.path, request.headers, body,
                                                      answer.status))
                    receiver._changed.notify_all()
                data, content_type = answer.encoded()
                self.send_response(answer.status)
                headers = {"Content-Type": content_type, **answer.headers, "Content-Length": str(len(data))}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)

    # --- what it answers -------------------------------------------------------------------------

    def answer(self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None) -> None:
        """The answer to every request no route or pending failure claims (default: 200 {"ok": true})."""
        with self._changed:
            self._default = Answer(status, {"ok": status < 400} if body is None else body, dict(headers or {}))

    def route(self, method: str, path: str, responder: Responder) -> None:
        """Answer `method path` (path without query) with `responder(request)`; it runs on the server's thread."""
        with self._changed:
            self._routes[(method.upper(), path)] = responder

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next `n` requests get `status` (with {"ok": false}) before anything else answers."""
        with self._changed:
            self._fail += [status] * n

    def _answer_for(self, request: Received) -> Answer:
        with self._changed:
            if self._fail:
                return Answer(self._fail.pop(0), {"ok": False})
            responder = self._routes.get((request.method, request.route))
            default = self._default
        return responder(request) if responder is not None else default

    # --- what it received -------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        """The requests answered with a 2xx status."""
        with self._changed:
            return [r for r in self.requests if 200 <= r.status < 300]

    @property
    def answered(self) -> list[int]:
        """Every status sent, in order."""
        with self._changed:
            return [r.status for r in self.requests]

    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests answered with 2xx (requests without a body left out)."""
        return [r.json() for r in self.received if r.body]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Any]:
        """The JSON bodies once `count` requests were answered with 2xx, or whatever came by the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            self._changed.wait_for(lambda: sum(200 <= r.status < 300 for r in self.requests) >= count,
                                   max(0.0, deadline - time.monotonic()))
        return self.bodies()

    def wait_for_request(self, match: Callable[[Received], bool] | None = None,
                         timeout_s: float = 30.0) -> Received:
        """The first recorded request that `match`es (any request if None), waiting for it; TimeoutError if
        none came in time."""
        found: list[Received] = []

        def arrived() -> bool:
            found[:] = [r for r in self.requests if match is None or match(r)][:1]
            return bool(found)

        with self._changed:
            if not self._changed.wait_for(arrived, timeout_s):
                raise TimeoutError(f"no matching request to {self.url('')} within {timeout_s:g} s; got "
                                   f"{[(r.method, r.path, r.status) for r in self.requests]}")
        return found[0]

    # --- life -------------------------------------------------------------------------------------

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
