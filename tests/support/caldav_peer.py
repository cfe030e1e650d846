"""Radicale, a real CalDAV server, on loopback for the timetable tests: its own process, a temporary storage
folder, any user name accepted (auth none). `put_event` stores one calendar object with a plain HTTP PUT, as a
calendar client would.

    with CalDavPeer(tmp_path) as dav:
        url = dav.make_calendar("lecturer", "timetable")    # http://127.0.0.1:PORT/lecturer/timetable/
        dav.put_event(url, "algebra.ics", ics_bytes)
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.support.ports import free_port

MKCALENDAR = b"""<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop><D:displayname>timetable</D:displayname></D:prop></D:set>
</C:mkcalendar>"""


class CalDavPeer:
    def __init__(self, folder: Path, user: str = "lecturer") -> None:
        self.folder = folder
        self.user = user
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _request(self, method: str, url: str, body: bytes | None = None,
                 content_type: str = "text/calendar; charset=utf-8") -> int:
        auth = base64.b64encode(f"{self.user}:any".encode()).decode()
        req = urllib.request.Request(url, data=body, method=method,
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            if exc.code >= 400:
                raise AssertionError(f"Radicale refused {method} {url}: {exc.code} {exc.read()[:300]!r}") from None
            return int(exc.code)

    def make_calendar(self, name: str = "timetable") -> str:
        url = f"{self.base}/{self.user}/{name}/"
        self._request("MKCALENDAR", url, MKCALENDAR, "application/xml")
        return url

    def put_event(self, calendar_url: str, name: str, ics: bytes) -> None:
        self._request("PUT", calendar_url + name, ics)

    def delete_event(self, calendar_url: str, name: str) -> None:
        self._request("DELETE", calendar_url + name)

    def __enter__(self) -> CalDavPeer:
        storage = self.folder / "radicale-storage"
        storage.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{self.port}", "--auth-type", "none",
             "--rights-type", "owner_only", "--storage-filesystem-folder", str(storage), "--logging-level",
             "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise RuntimeError(f"Radicale exited at start ({self._proc.returncode}): {err[-2000:]}")
            try:
                urllib.request.urlopen(self.base + "/.web/", timeout=1).close()
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("Radicale did not answer within 30 s")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stderr is not None:
                self._proc.stderr.close()
            self._proc = None
