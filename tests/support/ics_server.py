"""A real HTTP server on loopback that serves one ICS file as calendar servers do (tests/support/http_receiver.py
underneath): ETag and Last-Modified on every answer, 304 to a matching If-None-Match, and on request a 500 or
garbage instead of the calendar.

    with IcsServer() as ics:
        ics.serve(calendar_bytes)            # a new ETag each time the body changes
        url = ics.url                        # http://127.0.0.1:PORT/timetable.ics
        ics.break_with(500) / ics.break_with(200, b"<html>...")   # until the next serve()
        ics.statuses                         # every status answered, in order
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from types import TracebackType

from tests.support.http_receiver import Answer, HttpReceiver, Received

PATH = "/timetable.ics"


class IcsServer:
    def __init__(self) -> None:
        self._rx = HttpReceiver()
        self._lock = threading.Lock()
        self._body = b""
        self._etag = ""
        self._modified = ""
        self._broken: Answer | None = None
        self._rx.route("GET", PATH, self._answer)

    def serve(self, body: bytes) -> None:
        with self._lock:
            self._body = body
            self._etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            self._modified = email.utils.formatdate(time.time(), usegmt=True)
            self._broken = None

    def break_with(self, status: int, body: bytes = b"Internal Server Error") -> None:
        """Answer every request with this instead of the calendar (a server down, a login page...)."""
        with self._lock:
            self._broken = Answer(status, body, {"Content-Type": "text/html"})

    def _answer(self, req: Received) -> Answer:
        with self._lock:
            if self._broken is not None:
                return self._broken
            headers = {"ETag": self._etag, "Last-Modified": self._modified}
            if req.headers.get("If-None-Match") == self._etag:
                return Answer(304, b"", headers)
            return Answer(200, self._body, {"Content-Type": "text/calendar; charset=utf-8", **headers})

    @property
    def url(self) -> str:
        return self._rx.url(PATH)

    @property
    def statuses(self) -> list[int]:
        return self._rx.answered

    @property
    def requests(self) -> list[Received]:
        return list(self._rx.requests)

    def __enter__(self) -> IcsServer:
        self._rx.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._rx.stop()
