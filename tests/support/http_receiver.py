"""A local HTTP receiver for webhook tests: records every POST (path, headers, JSON body) and answers with
a status the test chooses (``fail_next(n, status)`` for retries)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answered: list[int] = []
        self._fail: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver._fail.pop(0) if receiver._fail else 200
                    receiver.answered.append(status)
                    if status == 200:
                        receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"ok": false}')

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail += [status] * n

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.json() for r in self.received]

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(self.bodies()) < count:
            time.sleep(0.05)
        return self.bodies()

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
