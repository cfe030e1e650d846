"""A Google Drive v3 protocol server for tests: the real google-api-python-client talks to it over HTTP.

Dependency-free (stdlib ``http.server``). Two ways to run it:

* in-process: ``with DriveServer() as drive: ...`` (background thread, ``drive.root_url`` is
  ``http://127.0.0.1:PORT/``); faults and introspection are plain thread-safe method calls;
* as a subprocess, so an app process can be SIGKILLed and restarted while the server keeps its state::

      python -m tests.support.drive_server --port 0 --state-dir /tmp/drive-state [--page-size 2]

  It prints ``READY http://127.0.0.1:PORT/`` on stdout once serving; SIGTERM/SIGINT stop it.
  ``DriveServerProcess`` starts it and offers the same fault/introspection methods over the control
  endpoint (``POST /_control/faults``, ``DELETE /_control/faults``, ``GET /_control/state``,
  ``POST /_control/expire_sessions``, ``POST /_control/reset_log``). With a state dir, the
  metadata is also saved to ``state.json`` so a restarted server process keeps files and sessions.

Implemented (what the client sends for Drive v3):
  POST   /upload/drive/v3/files?uploadType=resumable   JSON metadata -> 200 + Location (session URI)
  PUT    <session URI>  ``Content-Range: bytes S-E/TOTAL`` -> 308 + ``Range: bytes=0-N`` | 200 + file;
         ``Content-Range: bytes */TOTAL`` status query -> 308 (+Range, none when 0 kept) | 200 | 404;
         non-final chunks must be multiples of 256 KiB (else 400), gaps in offsets are 400,
         overlaps with bytes already kept are skipped.
  POST   /upload/drive/v3/files?uploadType=multipart (and uploadType=media)
  POST   /drive/v3/files                metadata-only create (folders, empty files)
  GET    /drive/v3/files                q, pageSize, pageToken, orderBy, fields
         q: ``name = '..'``, ``name != '..'``, ``name contains '..'`` (``\\'`` and ``\\\\`` escapes),
            ``mimeType = / != '..'``, ``'<id>' in parents``, ``trashed = true|false``,
            joined by ``and`` / ``or`` / ``not`` and parentheses. Anything else: 400 invalid.
         Pages hold at most ``max_page_size`` entries (default 2, as Drive may return short pages),
         so a client that reads only the first page is caught. Default order is by id (arbitrary).
  GET    /drive/v3/files/<id>           (``alt=media`` downloads the bytes; ``Range: bytes=S-E`` gets 206 and
                                         that slice, as the client's MediaIoBaseDownload asks for chunks)
  PATCH  /drive/v3/files/<id>           name, trashed, addParents/removeParents
  DELETE /drive/v3/files/<id>           204 (folders take their descendants along)
  POST   /drive/v3/files/<id>/permissions
  GET    /drive/v3/files/<id>/permissions            ``permissions(id,type,role,domain)`` in one page
  DELETE /drive/v3/files/<id>/permissions/<perm id>  204
  GET    /drive/v3/about                ``fields`` required (400 without it, as Google does); the user is
         ``user_email`` / ``user_name`` of the server (default operator@example.edu, "NVR Operator")
  A create (resumable session, multipart, metadata-only) or an ``addParents`` naming a parent the server
  does not have is refused with 404 notFound, as Drive does; ``root`` and the shared drives added with
  ``add_shared_drive`` always exist.
  ``fields`` is honoured like Google does (nested ``files(id,name)``, ``*``); without it a file has
  only kind,id,name,mimeType. ``supportsAllDrives`` and friends are accepted and ignored.
  Files carry md5Checksum, size (a string, as Google sends), webViewLink
  (``https://drive.google.com/file/d/<id>/view``; folders ``.../drive/folders/<id>``), createdTime
  (strictly increasing), parents. Bodies are stored on disk and hashed incrementally (1 GB is fine).

Faults (queued, applied to the next matching requests; ``kind`` selects which):
  kinds:   create_session, upload_chunk, status_query, multipart, create_folder (any metadata-only
           create), list, get, download, update, delete, permission, about, or any.
  actions: ``error``          respond with a Google-shaped JSON error; presets (``ERROR_PRESETS``):
                              500, 502, 503, 429, rate_limit (403 rateLimitExceeded),
                              user_rate_limit (403 userRateLimitExceeded), storage_quota,
                              daily_limit, upload_limit_750gb (403 userRateLimitExceeded with
                              "User rate limit exceeded."), unauthorized (401), not_found (404)
           ``drop``           read ``after_bytes`` of the body (default half), keep ``keep_bytes``
                              (default 0), then reset the connection without any response
           ``keep_partial``   accept the chunk but keep only ``keep_bytes`` (default: half,
                              rounded down to 256 KiB) and report that smaller Range
           ``expire_session`` the session is gone: 404 now and on every later request to it
           ``corrupt``        flip the first stored byte of this chunk (md5 will not match)
           ``delay``          sleep ``seconds`` before answering normally
  Downloads (kind ``download``) take ``error``, ``delay``, ``drop`` (send ``after_bytes`` of the body, then
  reset) and ``corrupt`` (flip the first byte sent).
  ``times`` (how many requests it applies to) and ``skip`` (let that many matching requests through
  first) shape when it fires.

Daily upload cap (Drive's 750 GB per account a day, made small): ``set_daily_cap(n)`` refuses a new upload
session, a chunk or a multipart upload with 403 userRateLimitExceeded "User rate limit exceeded." once the
account (its ``Authorization`` header; "anonymous" without one) has had ``n`` bytes kept today. The server's day
is the test's clock: ``set_day(d)`` / ``next_day()`` (a new day lifts the cap); ``usage()`` reports today's bytes.

Introspection: ``files()`` (resources with ``path`` of the stored bytes), ``file_bytes(id)``,
``sessions_created()``, ``sessions()``, ``requests()`` (method, kind, path, status, content_range,
body_bytes, session, fault, authorization; an entry is logged when its request arrives, status is
None while in flight, and ``dropped`` / ``incomplete-body`` / ``client-gone`` when no answer went
out), ``faults_pending()``, ``wait_idle()``.

Throughput: about 120 MB/s for one upload with 32 MiB chunks, client and server in one process.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import json
import operator
import os
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FOLDER_MIME = "application/vnd.google-apps.folder"
CHUNK_ALIGN = 256 * 1024
# What Drive answers once an account's 750 GB of the day are used (403, domain usageLimits, reason
# userRateLimitExceeded, this message; as reported in labbots/google-drive-upload#192 and rclone#1591).
UPLOAD_CAP_MESSAGE = "User rate limit exceeded."
_BLOCK = 1 << 20

# (status, domain, reason, message) as Google sends them.
ERROR_PRESETS: dict[str, tuple[int, str, str, str]] = {
    "500": (500, "global", "backendError", "Internal Error"),
    "502": (502, "global", "badGateway", "Bad Gateway"),
    "503": (503, "global", "backendError", "Service Unavailable"),
    "429": (429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "rate_limit": (403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    "user_rate_limit": (403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
    "storage_quota": (
        403,
        "usageLimits",
        "storageQuotaExceeded",
        "The user's Drive storage quota has been exceeded.",
    ),
    "daily_limit": (403, "usageLimits", "dailyLimitExceeded", "Daily Limit Exceeded"),
    # The undocumented 750 GB/day upload cap: looks like a (retryable) user rate limit.
    "upload_limit_750gb": (403, "usageLimits", "userRateLimitExceeded", UPLOAD_CAP_MESSAGE),
    "unauthorized": (401, "global", "authError", "Invalid Credentials"),
    "not_found": (404, "global", "notFound", "File not found."),
}

FAULT_KINDS = {
    "create_session",
    "upload_chunk",
    "status_query",
    "multipart",
    "create_folder",
    "list",
    "get",
    "download",
    "update",
    "delete",
    "permission",
    "about",
    "any",
}
FAULT_ACTIONS = {"error", "drop", "keep_partial", "expire_session", "corrupt", "delay"}


@dataclass
class Fault:
    """One queued fault. See the module docstring for kinds and actions."""

    kind: str
    action: str
    preset: str | None = None
    status: int = 503
    domain: str = "global"
    reason: str = "backendError"
    message: str = "Service Unavailable"
    times: int = 1
    skip: int = 0
    after_bytes: int | None = None
    keep_bytes: int | None = None
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")
        if self.action not in FAULT_ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; one of {sorted(FAULT_ACTIONS)}")
        if self.preset is not None:
            if self.preset not in ERROR_PRESETS:
                raise ValueError(f"unknown error preset {self.preset!r}; one of {sorted(ERROR_PRESETS)}")
            self.status, self.domain, self.reason, self.message = ERROR_PRESETS[self.preset]


class _HttpError(Exception):
    def __init__(self, status: int, message: str, reason: str = "invalid", domain: str = "global") -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.domain = status, message, reason, domain


def _error_body(status: int, message: str, reason: str, domain: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"domain": domain, "reason": reason, "message": message}],
            }
        }
    ).encode()


# ---------------------------------------------------------------------------------------- fields


def _parse_fields(text: str) -> dict[str, Any]:
    """Parse ``a,b(c,d),e/f`` into a tree {name: subtree or None}; ``*`` means everything."""
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        tree: dict[str, Any] = {}
        while pos < len(text):
            start = pos
            while pos < len(text) and text[pos] not in ",()":
                pos += 1
            path = text[start:pos].strip()
            sub: dict[str, Any] | None = None
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(text) or text[pos] != ")":
                    raise _HttpError(400, f"Invalid field selection {text}")
                pos += 1
            if path:
                parts = path.split("/")
                node: dict[str, Any] | None = tree
                for part in parts[:-1]:
                    # None: the whole field is already selected, so a sub-path adds nothing.
                    node = node.setdefault(part.strip(), {}) if node is not None else None
                if node is not None:
                    node[parts[-1].strip()] = sub
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            break
        return tree

    result = parse_list()
    if pos != len(text):
        raise _HttpError(400, f"Invalid field selection {text}")
    return result


def _select(obj: Any, tree: dict[str, Any] | None) -> Any:
    if tree is None or "*" in tree:
        return obj
    if isinstance(obj, list):
        return [_select(item, tree) for item in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: _select(obj[k], sub) for k, sub in tree.items() if k in obj}


_DEFAULT_FILE_FIELDS = "kind,id,name,mimeType"


# ---------------------------------------------------------------------------------------- q


def _tokenize_q(q: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(q):
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "'":
            i += 1
            out = []
            while True:
                if i >= len(q):
                    raise _HttpError(400, "Invalid Value", reason="invalid")
                if q[i] == "\\" and i + 1 < len(q):
                    out.append(q[i + 1])
                    i += 2
                elif q[i] == "'":
                    i += 1
                    break
                else:
                    out.append(q[i])
                    i += 1
            tokens.append(("str", "".join(out)))
        elif c in "()":
            tokens.append((c, c))
            i += 1
        elif q.startswith("!=", i):
            tokens.append(("op", "!="))
            i += 2
        elif c == "=":
            tokens.append(("op", "="))
            i += 1
        else:
            start = i
            while i < len(q) and not q[i].isspace() and q[i] not in "()='!":
                i += 1
            if start == i:
                raise _HttpError(400, "Invalid Value", reason="invalid")
            tokens.append(("word", q[start:i]))
    return tokens


def _compile_q(q: str) -> Any:
    """Compile a Drive ``q`` into a predicate over file records (raises 400 on what we don't know)."""
    tokens = _tokenize_q(q)
    pos = 0

    def peek_word(*words: str) -> bool:
        return pos < len(tokens) and tokens[pos][0] == "word" and tokens[pos][1].lower() in words

    def take(kind: str) -> str:
        nonlocal pos
        if pos >= len(tokens) or tokens[pos][0] != kind:
            raise _HttpError(400, "Invalid Value", reason="invalid")
        pos += 1
        return tokens[pos - 1][1]

    def parse_or() -> Any:
        nonlocal pos
        terms = [parse_and()]
        while peek_word("or"):
            pos += 1
            terms.append(parse_and())
        return terms[0] if len(terms) == 1 else (lambda f: any(t(f) for t in terms))

    def parse_and() -> Any:
        nonlocal pos
        terms = [parse_not()]
        while peek_word("and"):
            pos += 1
            terms.append(parse_not())
        return terms[0] if len(terms) == 1 else (lambda f: all(t(f) for t in terms))

    def parse_not() -> Any:
        nonlocal pos
        if peek_word("not"):
            pos += 1
            inner = parse_not()
            return lambda f: not inner(f)
        return parse_atom()

    def parse_atom() -> Any:
        nonlocal pos
        if pos < len(tokens) and tokens[pos][0] == "(":
            pos += 1
            inner = parse_or()
            take(")")
            return inner
        if pos < len(tokens) and tokens[pos][0] == "str":
            value = take("str")
            if not peek_word("in"):
                raise _HttpError(400, "Invalid Value", reason="invalid")
            pos += 1
            collection = take("word")
            if collection != "parents":
                raise _HttpError(400, "Invalid Value", reason="invalid")
            return lambda f: value in f["parents"]
        name = take("word")
        if name == "trashed":
            op = take("op")
            literal = take("word").lower()
            if literal not in ("true", "false"):
                raise _HttpError(400, "Invalid Value", reason="invalid")
            want = literal == "true"
            return (lambda f: f["trashed"] == want) if op == "=" else (lambda f: f["trashed"] != want)
        if name not in ("name", "mimeType"):
            raise _HttpError(400, "Invalid Value", reason="invalid")
        if peek_word("contains"):
            pos += 1
            value = take("str")
            return lambda f: value in f[name]
        op = take("op")
        value = take("str")
        return (lambda f: f[name] == value) if op == "=" else (lambda f: f[name] != value)

    predicate = parse_or()
    if pos != len(tokens):
        raise _HttpError(400, "Invalid Value", reason="invalid")
    return predicate


# ---------------------------------------------------------------------------------------- state


@dataclass
class _Session:
    id: str
    metadata: dict[str, Any]
    total: int | None
    mime: str
    fields: str | None
    part: str
    offset: int = 0
    complete_file_id: str | None = None
    expired: bool = False
    md5: Any = field(default=None, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def _new_id() -> str:
    # Drive ids are ~33 chars of [A-Za-z0-9_-]; random so nobody can guess or depend on them.
    return "1" + secrets.token_urlsafe(24)[:32]


class _State:
    def __init__(self, state_dir: Path, max_page_size: int) -> None:
        self.dir = state_dir
        (state_dir / "blobs").mkdir(parents=True, exist_ok=True)
        (state_dir / "sessions").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.files: dict[str, dict[str, Any]] = {}
        self.shared_drives: set[str] = set()
        self.sessions: dict[str, _Session] = {}
        self.faults: list[Fault] = []
        self.log: list[dict[str, Any]] = []
        self.sessions_created = 0
        self.in_flight = 0  # requests being handled (idle keep-alive connections don't count)
        self.max_page_size = max_page_size
        self._last_created_ms = 0
        # The daily upload cap (Drive's 750 GB per account a day, made small): bytes kept per (account, day);
        # the day is the test's clock (``set_day`` / ``next_day``), not the wall clock.
        self.daily_cap: int | None = None
        self.day = 0
        self.usage: dict[tuple[str, int], int] = {}
        self._load()

    def check_cap(self, account: str) -> None:
        """Refuse a new upload, or a chunk of one, once `account` reached today's cap: 403 as Drive sends it
        (a file that crosses the cap finishes only if its bytes arrive before the next check)."""
        with self.lock:
            if self.daily_cap is not None and self.usage.get((account, self.day), 0) >= self.daily_cap:
                raise _HttpError(403, UPLOAD_CAP_MESSAGE, "userRateLimitExceeded", "usageLimits")

    def count(self, account: str, n: int) -> None:
        with self.lock:
            self.usage[(account, self.day)] = self.usage.get((account, self.day), 0) + n

    # -- persistence (only metadata; offsets are the sizes of the part files)
    def _load(self) -> None:
        path = self.dir / "state.json"
        if not path.exists():
            return
        data = json.loads(path.read_text())
        self.files = data["files"]
        self.shared_drives = set(data.get("shared_drives", []))
        self.sessions_created = data["sessions_created"]
        self._last_created_ms = data["last_created_ms"]
        for s in data["sessions"]:
            sess = _Session(**s)
            sess.md5 = hashlib.md5()
            if sess.complete_file_id is None and os.path.exists(sess.part):
                with open(sess.part, "rb") as fh:
                    while block := fh.read(_BLOCK):
                        sess.md5.update(block)
                sess.offset = os.path.getsize(sess.part)
            self.sessions[sess.id] = sess

    def save(self) -> None:
        with self.lock:
            keys = ("id", "metadata", "total", "mime", "fields", "part", "complete_file_id", "expired")
            sessions = [{k: getattr(s, k) for k in keys} for s in self.sessions.values()]
            data = {
                "files": self.files,
                "shared_drives": sorted(self.shared_drives),
                "sessions": sessions,
                "sessions_created": self.sessions_created,
                "last_created_ms": self._last_created_ms,
            }
            tmp = self.dir / "state.json.tmp"
            tmp.write_text(json.dumps(data))
            os.replace(tmp, self.dir / "state.json")

    def now_rfc3339(self) -> str:
        # Strictly increasing so "keep the oldest" by createdTime is well defined.
        with self.lock:
            ms = max(int(time.time() * 1000), self._last_created_ms + 1)
            self._last_created_ms = ms
        stamp = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"

    def add_file(
        self,
        metadata: dict[str, Any],
        mime: str,
        blob: Path | None,
        md5: str | None,
        size: int | None,
    ) -> dict[str, Any]:
        file_id = _new_id()
        mime = metadata.get("mimeType") or mime or "application/octet-stream"
        created = self.now_rfc3339()
        rec: dict[str, Any] = {
            "kind": "drive#file",
            "id": file_id,
            "name": metadata.get("name", "Untitled"),
            "mimeType": mime,
            "parents": list(metadata.get("parents") or ["root"]),
            "createdTime": created,
            "modifiedTime": created,
            "trashed": False,
            "permissions": [],
        }
        for key in ("description", "appProperties", "properties"):
            if key in metadata:
                rec[key] = metadata[key]
        if mime == FOLDER_MIME:
            rec["webViewLink"] = f"https://drive.google.com/drive/folders/{file_id}"
        else:
            rec["webViewLink"] = f"https://drive.google.com/file/d/{file_id}/view?usp=drivesdk"
            dest = self.dir / "blobs" / file_id
            if blob is None:
                dest.write_bytes(b"")
                md5, size = hashlib.md5(b"").hexdigest(), 0
            else:
                os.replace(blob, dest)
            rec["size"] = str(size)
            rec["md5Checksum"] = md5
            rec["path"] = str(dest)
        with self.lock:
            self.files[file_id] = rec
        self.save()
        return rec

    def check_parents(self, parents: list[str]) -> None:
        """404 for a parent the server does not have (deleted meanwhile, or never there), as Drive answers."""
        with self.lock:
            for parent in parents:
                if parent != "root" and parent not in self.shared_drives and parent not in self.files:
                    raise _HttpError(404, f"File not found: {parent}.", reason="notFound")

    def take_fault(self, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.kind not in (kind, "any"):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "path"}


# ---------------------------------------------------------------------------------------- handler


class _Drop(Exception):
    """Reset the connection without answering."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Google's front end does
    # Headers and body go out in two writes; with Nagle on, the body waited for the client's delayed ACK
    # (40 ms on Linux), so every JSON answer took 44 ms on loopback.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing
    def _route(self) -> None:
        self._entry: dict[str, Any] = {
            "method": self.command,
            "path": self.path,
            "kind": None,
            # A test peer may record the (fake) token, so tests can check that credentials are sent.
            "authorization": self.headers.get("Authorization"),
        }
        self._body_read = False
        st = self.server.state
        with st.lock:
            st.in_flight += 1
            # Logged before any answer goes out (and filled in as we go), so a test that has its
            # response always finds the entry.
            if not self.path.startswith("/_control/"):
                st.log.append(self._entry)
        try:
            try:
                self._dispatch()
            except _HttpError as e:
                self._send_json(e.status, None, raw=_error_body(e.status, e.message, e.reason, e.domain))
        except _Drop:
            self._reset_connection()
        except (ConnectionError, TimeoutError):
            self._entry["status"] = "client-gone"
            self._reset_connection()
        finally:
            with st.lock:
                st.in_flight -= 1

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route

    def _reset_connection(self) -> None:
        # RST rather than FIN: a clean close after a full body would look like a stale keep-alive
        # connection to httplib2, which then silently re-sends (an already consumed) body.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _length(self) -> int:
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError as e:
            raise _HttpError(400, "Bad Content-Length") from e

    def _read_small_body(self) -> bytes:
        n = self._length()
        self._body_read = True
        return self._read_exact(n) if n else b""

    def _read_exact(self, n: int) -> bytes:
        self.connection.settimeout(self.server.body_timeout)
        try:
            data = self.rfile.read(n)
        finally:
            self.connection.settimeout(None)
        if len(data) != n:
            # Content-Length promised more than arrived (e.g. a re-sent, already consumed stream).
            self._entry["status"] = "incomplete-body"
            raise _Drop
        return data

    def _drain(self) -> None:
        """Read and discard an unread body, so an error answer arrives instead of a reset."""
        self._body_read = True
        left = self._length()
        self.connection.settimeout(self.server.body_timeout)
        try:
            while left > 0:
                block = self.rfile.read(min(_BLOCK, left))
                if not block:
                    break
                left -= len(block)
        except (TimeoutError, OSError):
            pass
        finally:
            self.connection.settimeout(None)
        if left > 0:
            # The body never fully arrived: the connection cannot be reused.
            self.close_connection = True

    def _json_body(self) -> dict[str, Any]:
        raw = self._read_small_body()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as e:
            raise _HttpError(400, "Invalid JSON payload received.", reason="parseError") from e
        if not isinstance(value, dict):
            raise _HttpError(400, "Invalid JSON payload received.", reason="parseError")
        return value

    def _send_json(
        self,
        status: int,
        obj: Any,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
        if not self._body_read and self._length():
            self._drain()
        self.send_response(status, reason)
        if body:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._entry["status"] = status
        self.end_headers()
        self.wfile.write(body)

    def _apply_fault(self, kind: str) -> Fault | None:
        """Apply error/delay faults here; return chunk-level faults for the caller."""
        self._entry["kind"] = kind
        fault = self.server.state.take_fault(kind)
        if fault is None:
            return None
        self._entry["fault"] = fault.action if fault.preset is None else fault.preset
        if fault.action == "delay":
            time.sleep(fault.seconds)
            return None
        if fault.action == "error":
            raise _HttpError(fault.status, fault.message, fault.reason, fault.domain)
        return fault

    # -- routing
    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        self._query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        m = self.command
        if path.startswith("/_control/"):
            self._control(m, path)
        elif path == "/upload/drive/v3/files" and m == "POST":
            upload_type = self._query.get("uploadType", "media")
            if upload_type == "resumable":
                self._create_session()
            else:
                self._multipart(upload_type)
        elif path == "/upload/drive/v3/files" and m == "PUT":
            self._put_chunk()
        elif path == "/drive/v3/files" and m == "POST":
            self._create_metadata()
        elif path == "/drive/v3/files" and m == "GET":
            self._list()
        elif path == "/drive/v3/about" and m == "GET":
            self._about()
        elif path.startswith("/drive/v3/files/"):
            rest = path[len("/drive/v3/files/") :].split("/")
            file_id = urllib.parse.unquote(rest[0])
            if len(rest) == 1 and m == "GET":
                self._get(file_id)
            elif len(rest) == 1 and m == "PATCH":
                self._update(file_id)
            elif len(rest) == 1 and m == "DELETE":
                self._delete(file_id)
            elif rest[1:] == ["permissions"] and m == "POST":
                self._permission(file_id)
            elif rest[1:] == ["permissions"] and m == "GET":
                self._list_permissions(file_id)
            elif len(rest) == 3 and rest[1] == "permissions" and m == "DELETE":
                self._delete_permission(file_id, urllib.parse.unquote(rest[2]))
            else:
                raise _HttpError(404, "Not Found", reason="notFound")
        else:
            raise _HttpError(404, f"Not Found: {m} {path}", reason="notFound")

    def _fields_tree(self, default: str) -> dict[str, Any]:
        return _parse_fields(self._query.get("fields") or default)

    def _file_or_404(self, file_id: str) -> dict[str, Any]:
        rec = self.server.state.files.get(file_id)
        if rec is None:
            msg = f"File not found: {file_id}."
            raise _HttpError(404, msg, reason="notFound")
        return rec

    # -- uploads
    def _account(self) -> str:
        """Whose upload this is: the bearer token (one per signed-in account), else anonymous."""
        return self.headers.get("Authorization") or "anonymous"

    def _create_session(self) -> None:
        self._apply_fault("create_session")
        self.server.state.check_cap(self._account())
        metadata = self._json_body()
        st = self.server.state
        st.check_parents(list(metadata.get("parents") or []))
        total_hdr = self.headers.get("X-Upload-Content-Length")
        upload_id = "ADPycd" + secrets.token_urlsafe(32)
        sess = _Session(
            id=upload_id,
            metadata=metadata,
            total=int(total_hdr) if total_hdr else None,
            mime=self.headers.get("X-Upload-Content-Type") or "application/octet-stream",
            fields=self._query.get("fields"),
            part=str(st.dir / "sessions" / f"{upload_id}.part"),
            md5=hashlib.md5(),
        )
        Path(sess.part).write_bytes(b"")
        with st.lock:
            st.sessions[upload_id] = sess
            st.sessions_created += 1
        st.save()
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        location = f"http://{host}/upload/drive/v3/files?uploadType=resumable&upload_id={upload_id}"
        self._entry["session"] = upload_id
        self._send_json(200, None, headers={"Location": location, "X-GUploader-UploadID": upload_id})

    def _complete_response(self, sess: _Session) -> None:
        rec = self._file_or_404(sess.complete_file_id or "")
        self._send_json(200, _select(_public(rec), _parse_fields(sess.fields or _DEFAULT_FILE_FIELDS)))

    def _range_headers(self, sess: _Session) -> dict[str, str]:
        return {"Range": f"bytes=0-{sess.offset - 1}"} if sess.offset > 0 else {}

    def _put_chunk(self) -> None:
        st = self.server.state
        upload_id = self._query.get("upload_id", "")
        content_range = self.headers.get("Content-Range", "")
        length = self._length()
        self._entry.update(content_range=content_range, body_bytes=length, session=upload_id)
        is_query = content_range.startswith("bytes */")
        fault = self._apply_fault("status_query" if is_query else "upload_chunk")
        sess = st.sessions.get(upload_id)
        if fault is not None and fault.action == "expire_session" and sess is not None:
            sess.expired = True
            st.save()
        if sess is None or sess.expired:
            raise _HttpError(404, "Upload session not found or expired.", reason="notFound")
        with sess.lock:
            if sess.complete_file_id is not None:
                self._complete_response(sess)
                return
            if is_query:
                self._send_json(308, None, headers=self._range_headers(sess), reason="Resume Incomplete")
                return
            st.check_cap(self._account())
            before = sess.offset
            try:
                self._write_chunk(sess, content_range, length, fault)
            finally:
                st.count(self._account(), sess.offset - before)

    def _write_chunk(self, sess: _Session, content_range: str, length: int, fault: Fault | None) -> None:
        st = self.server.state
        if content_range:
            try:
                unit, spec = content_range.split(" ", 1)
                span, total_s = spec.split("/")
                start_s, end_s = span.split("-")
                start, end = int(start_s), int(end_s)
                total = None if total_s == "*" else int(total_s)
            except ValueError as e:
                raise _HttpError(400, f"Invalid Content-Range: {content_range}") from e
            if unit != "bytes" or end - start + 1 != length:
                raise _HttpError(400, f"Content-Range {content_range} does not match {length} bytes")
        else:
            # No Content-Range: the whole (rest of the) content in one request, e.g. an empty file.
            start, total = sess.offset, sess.offset + length
        if total is not None and sess.total is not None and total != sess.total:
            raise _HttpError(400, f"Total size {total} differs from the declared {sess.total}.")
        if start > sess.offset:
            raise _HttpError(400, f"Missing bytes: chunk starts at {start}, server has {sess.offset}.")
        final = total is not None and start + length == total
        if not final and length % CHUNK_ALIGN:
            raise _HttpError(400, "Non-final chunks must be a multiple of 256 KiB.", reason="badRequest")

        # How much of this body to read and to keep.
        read_limit = length
        keep = length
        drop = fault is not None and fault.action == "drop"
        if fault is not None and drop:
            read_limit = fault.after_bytes if fault.after_bytes is not None else length // 2
            keep = min(fault.keep_bytes or 0, read_limit)
        elif fault is not None and fault.action == "keep_partial":
            keep = fault.keep_bytes if fault.keep_bytes is not None else (length // 2) // CHUNK_ALIGN * CHUNK_ALIGN
        skip = sess.offset - start  # bytes the server already has: resent overlap is ignored
        corrupt = fault is not None and fault.action == "corrupt"

        self._body_read = True
        got = 0
        self.connection.settimeout(self.server.body_timeout)
        try:
            with open(sess.part, "r+b") as out:
                out.seek(sess.offset)
                while got < read_limit:
                    block = self.rfile.read(min(_BLOCK, read_limit - got))
                    if not block:
                        break
                    lo, hi = max(skip - got, 0), min(keep - got, len(block))
                    if hi > lo:
                        piece = block[lo:hi]
                        if corrupt:
                            piece = bytes([piece[0] ^ 0xFF]) + piece[1:]
                            corrupt = False
                        out.write(piece)
                        sess.md5.update(piece)
                        sess.offset += len(piece)
                    got += len(block)
        except (TimeoutError, ConnectionError):
            self._entry["status"] = "incomplete-body"
            raise _Drop from None
        finally:
            self.connection.settimeout(None)
        if drop:
            self._entry["status"] = "dropped"
            raise _Drop
        if got < length:
            self._entry["status"] = "incomplete-body"
            raise _Drop
        if total is not None and sess.offset == total:
            rec = st.add_file(sess.metadata, sess.mime, Path(sess.part), sess.md5.hexdigest(), total)
            sess.complete_file_id = rec["id"]
            st.save()
            self._complete_response(sess)
        else:
            self._send_json(308, None, headers=self._range_headers(sess), reason="Resume Incomplete")

    def _multipart(self, upload_type: str) -> None:
        fault = self._apply_fault("multipart")
        raw = self._read_small_body()
        ctype = self.headers.get("Content-Type", "")
        if upload_type == "media":
            metadata: dict[str, Any] = {}
            media, media_type = raw, ctype
        elif upload_type == "multipart":
            metadata, media, media_type = _parse_multipart(raw, ctype)
        else:
            raise _HttpError(400, f"Invalid uploadType {upload_type}")
        if fault is not None and fault.action == "corrupt" and media:
            media = bytes([media[0] ^ 0xFF]) + media[1:]
        st = self.server.state
        st.check_cap(self._account())
        st.check_parents(list(metadata.get("parents") or []))
        st.count(self._account(), len(media))
        tmp = st.dir / "sessions" / f"multipart-{secrets.token_hex(8)}"
        tmp.write_bytes(media)
        rec = st.add_file(metadata, media_type, tmp, hashlib.md5(media).hexdigest(), len(media))
        self._send_json(200, _select(_public(rec), self._fields_tree(_DEFAULT_FILE_FIELDS)))

    # -- metadata
    def _create_metadata(self) -> None:
        self._apply_fault("create_folder")
        metadata = self._json_body()
        self.server.state.check_parents(list(metadata.get("parents") or []))
        rec = self.server.state.add_file(metadata, metadata.get("mimeType", ""), None, None, None)
        self._send_json(200, _select(_public(rec), self._fields_tree(_DEFAULT_FILE_FIELDS)))

    def _list(self) -> None:
        self._apply_fault("list")
        st = self.server.state
        q = self._query.get("q", "")
        predicate = _compile_q(q) if q.strip() else (lambda f: True)
        try:
            size = int(self._query.get("pageSize") or 100)
        except ValueError as e:
            raise _HttpError(400, "Invalid pageSize") from e
        if not 1 <= size <= 1000:
            raise _HttpError(400, f"Invalid value '{size}'. Values must be within the range: [1, 1000]")
        size = min(size, st.max_page_size)
        with st.lock:
            matches = [_public(f) for f in st.files.values() if predicate(f)]
        order = self._query.get("orderBy", "")
        matches.sort(key=lambda f: f["id"])
        for key in reversed([k.strip() for k in order.split(",") if k.strip()]):
            name, _, direction = key.partition(" ")
            if name not in ("createdTime", "modifiedTime", "name", "folder"):
                raise _HttpError(400, f"Invalid orderBy {order}")
            if name == "folder":
                matches.sort(key=lambda f: f["mimeType"] != FOLDER_MIME, reverse=direction == "desc")
            else:
                matches.sort(key=operator.itemgetter(name), reverse=direction.strip() == "desc")
        start = 0
        token = self._query.get("pageToken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
            except (ValueError, IndexError) as e:
                raise _HttpError(400, "Invalid pageToken", reason="invalid") from e
        page = matches[start : start + size]
        body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False, "files": page}
        if start + size < len(matches):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"p:{start + size}".encode()).decode()
        fields = self._query.get("fields")
        if fields:
            tree = _parse_fields(fields)
        else:
            tree = {
                "kind": None,
                "incompleteSearch": None,
                "nextPageToken": None,
                "files": _parse_fields(_DEFAULT_FILE_FIELDS),
            }
        self._send_json(200, _select(body, tree))

    def _get(self, file_id: str) -> None:
        if self._query.get("alt") == "media":
            self._download(file_id)
            return
        self._apply_fault("get")
        rec = self._file_or_404(file_id)
        self._send_json(200, _select(_public(rec), self._fields_tree(_DEFAULT_FILE_FIELDS)))

    def _download(self, file_id: str) -> None:
        """``alt=media``: the bytes, or the ``Range: bytes=S-E`` / ``S-`` slice of them (206 + Content-Range;
        416 + ``Content-Range: bytes */SIZE`` past the end), as Google serves downloads."""
        fault = self._apply_fault("download")
        rec = self._file_or_404(file_id)
        if "path" not in rec:
            raise _HttpError(403, "Only files with binary content can be downloaded.", "fileNotDownloadable")
        size = os.path.getsize(rec["path"])
        start, end, status = 0, size - 1, 200
        wanted = self.headers.get("Range")
        self._entry["range"] = wanted
        if wanted:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if m is None:
                raise _HttpError(400, f"Invalid Range header {wanted!r}", reason="badRequest")
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            if start >= size or end < start:
                self._entry["status"] = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = end - start + 1
        self._entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", rec["mimeType"])
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        # drop: send `after_bytes` of the body (default half), then reset; corrupt: flip the first byte sent.
        cut = None
        if fault is not None and fault.action == "drop":
            cut = fault.after_bytes if fault.after_bytes is not None else length // 2
        with open(rec["path"], "rb") as fh:
            fh.seek(start)
            left, sent = length, 0
            while left > 0:
                block = fh.read(min(_BLOCK, left))
                if not block:
                    break
                if fault is not None and fault.action == "corrupt" and sent == 0:
                    block = bytes([block[0] ^ 0xFF]) + block[1:]
                if cut is not None and sent + len(block) >= cut:
                    self.wfile.write(block[: max(0, cut - sent)])
                    self.wfile.flush()
                    self._entry["status"] = "dropped"
                    raise _Drop
                self.wfile.write(block)
                sent += len(block)
                left -= len(block)

    def _update(self, file_id: str) -> None:
        self._apply_fault("update")
        body = self._json_body()
        st = self.server.state
        with st.lock:
            rec = self._file_or_404(file_id)
            add = [p for p in self._query.get("addParents", "").split(",") if p]
            st.check_parents(add)
            for key in ("name", "trashed", "description", "appProperties", "properties"):
                if key in body:
                    rec[key] = body[key]
            remove = set(p for p in self._query.get("removeParents", "").split(",") if p)
            rec["parents"] = [p for p in rec["parents"] if p not in remove] + add
            rec["modifiedTime"] = st.now_rfc3339()
        st.save()
        self._send_json(200, _select(_public(rec), self._fields_tree(_DEFAULT_FILE_FIELDS)))

    def _delete(self, file_id: str) -> None:
        self._apply_fault("delete")
        st = self.server.state
        with st.lock:
            self._file_or_404(file_id)
            doomed, frontier = {file_id}, [file_id]
            while frontier:  # descendants go along, as in Drive
                parent = frontier.pop()
                for f in st.files.values():
                    if parent in f["parents"] and f["id"] not in doomed:
                        doomed.add(f["id"])
                        frontier.append(f["id"])
            for fid in doomed:
                rec = st.files.pop(fid)
                if "path" in rec:
                    with contextlib.suppress(OSError):
                        os.unlink(rec["path"])
        st.save()
        self._send_json(204, None)

    def _permission(self, file_id: str) -> None:
        self._apply_fault("permission")
        body = self._json_body()
        st = self.server.state
        with st.lock:
            rec = self._file_or_404(file_id)
            perm = {"kind": "drive#permission", "id": secrets.token_hex(8), **body}
            rec["permissions"].append(perm)
        st.save()
        self._send_json(200, _select(perm, self._fields_tree("kind,id,type,role")))

    def _list_permissions(self, file_id: str) -> None:
        self._apply_fault("permission")
        with self.server.state.lock:
            perms = [dict(p) for p in self._file_or_404(file_id)["permissions"]]
        body = {"kind": "drive#permissionList", "permissions": perms}
        self._send_json(200, _select(body, self._fields_tree("kind,permissions(kind,id,type,role)")))

    def _delete_permission(self, file_id: str, perm_id: str) -> None:
        self._apply_fault("permission")
        st = self.server.state
        with st.lock:
            rec = self._file_or_404(file_id)
            kept = [p for p in rec["permissions"] if p["id"] != perm_id]
            if len(kept) == len(rec["permissions"]):
                raise _HttpError(404, f"Permission not found: {perm_id}.", reason="notFound")
            rec["permissions"] = kept
        st.save()
        self._send_json(204, None)

    def _about(self) -> None:
        self._apply_fault("about")
        if not self._query.get("fields"):
            raise _HttpError(400, "The 'fields' parameter is required for this method.", reason="required")
        srv = self.server.owner  # read per request: a test may change the account while serving
        body = {
            "kind": "drive#about",
            "user": {
                "kind": "drive#user",
                "displayName": srv.user_name,
                "emailAddress": srv.user_email,
                "me": True,
                "permissionId": "0" + hashlib.md5(srv.user_email.encode()).hexdigest()[:19],
            },
            "storageQuota": {"limit": str(15 * 1024**3), "usage": "0"},
        }
        self._send_json(200, _select(body, self._fields_tree("")))

    # -- control (subprocess mode)
    def _control(self, method: str, path: str) -> None:
        srv: DriveServer = self.server.owner
        if path == "/_control/faults" and method == "POST":
            body = json.loads(self._read_small_body() or b"{}")
            for item in body if isinstance(body, list) else [body]:
                try:
                    srv.add_fault(Fault(**item))
                except (TypeError, ValueError) as e:
                    raise _HttpError(400, str(e)) from e
            self._send_json(200, {"pending": len(srv.faults_pending())})
        elif path == "/_control/faults" and method == "DELETE":
            srv.clear_faults()
            self._send_json(200, {"pending": 0})
        elif path == "/_control/state" and method == "GET":
            self._send_json(
                200,
                {
                    "files": srv.files(),
                    "sessions": srv.sessions(),
                    "sessions_created": srv.sessions_created(),
                    "requests": srv.requests(),
                    "faults": srv.faults_pending(),
                },
            )
        elif path == "/_control/expire_sessions" and method == "POST":
            self._read_small_body()
            self._send_json(200, {"expired": srv.expire_sessions()})
        elif path == "/_control/cap" and method == "POST":
            body = json.loads(self._read_small_body() or b"{}")
            if "cap" in body:
                srv.set_daily_cap(body["cap"])
            if "day" in body:
                srv.set_day(int(body["day"]))
            self._send_json(200, {"usage": srv.usage()})
        elif path == "/_control/reset_log" and method == "POST":
            self._read_small_body()
            srv.reset_log()
            self._send_json(200, {})
        else:
            raise _HttpError(404, "unknown control endpoint", reason="notFound")


def _parse_multipart(raw: bytes, ctype: str) -> tuple[dict[str, Any], bytes, str]:
    """Split a multipart/related body (JSON metadata part, then media part)."""
    boundary = None
    for param in ctype.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise _HttpError(400, "multipart upload without boundary")
    delim = b"--" + boundary.encode()
    pieces = raw.split(delim)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break
        piece = piece[2:] if piece.startswith(b"\r\n") else piece[1:] if piece.startswith(b"\n") else piece
        # The generator may use \n or \r\n line ends: the earlier blank line ends the part headers.
        ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := piece.find(sep)) >= 0]
        if not ends:
            raise _HttpError(400, "malformed multipart part")
        cut, sep_len = min(ends)
        head, content = piece[:cut], piece[cut + sep_len :]
        # The line break before the next delimiter belongs to the delimiter, not the content.
        if content.endswith(b"\r\n"):
            content = content[:-2]
        elif content.endswith(b"\n"):
            content = content[:-1]
        headers = {}
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, content))
    if len(parts) != 2:
        raise _HttpError(400, f"multipart upload needs 2 parts, got {len(parts)}")
    try:
        metadata = json.loads(parts[0][1] or b"{}")
    except ValueError as e:
        raise _HttpError(400, "Invalid JSON metadata part", reason="parseError") from e
    return metadata, parts[1][1], parts[1][0].get("content-type", "application/octet-stream")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: _State
    owner: DriveServer
    verbose: bool
    body_timeout: float


# ---------------------------------------------------------------------------------------- public API


class _FaultApi:
    """Fault shortcuts shared by the in-process server and the subprocess controller."""

    def add_fault(self, fault: Fault) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def fail_next(self, kind: str, preset: str, *, times: int = 1, skip: int = 0) -> None:
        """Answer the next ``times`` ``kind`` requests (after ``skip``) with a preset Google error."""
        self.add_fault(Fault(kind=kind, action="error", preset=preset, times=times, skip=skip))

    def fail_next_with(
        self,
        kind: str,
        status: int,
        reason: str,
        message: str,
        *,
        domain: str = "global",
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """Answer with an arbitrary Google-shaped error."""
        self.add_fault(
            Fault(
                kind=kind,
                action="error",
                status=status,
                reason=reason,
                message=message,
                domain=domain,
                times=times,
                skip=skip,
            )
        )

    def drop_next_chunk(
        self, *, after_bytes: int | None = None, keep_bytes: int = 0, skip: int = 0, times: int = 1
    ) -> None:
        """Read ``after_bytes`` of the next chunk (default half), keep ``keep_bytes``, reset the socket."""
        self.add_fault(
            Fault(
                kind="upload_chunk",
                action="drop",
                after_bytes=after_bytes,
                keep_bytes=keep_bytes,
                skip=skip,
                times=times,
            )
        )

    def drop_next_download(self, *, after_bytes: int | None = None, skip: int = 0, times: int = 1) -> None:
        """Send ``after_bytes`` of the next download's body (default half), then reset the connection."""
        self.add_fault(Fault(kind="download", action="drop", after_bytes=after_bytes, skip=skip, times=times))

    def keep_partial_next_chunk(self, *, keep_bytes: int | None = None, skip: int = 0) -> None:
        """Accept the next chunk but keep only ``keep_bytes`` (default half, 256 KiB aligned)."""
        self.add_fault(Fault(kind="upload_chunk", action="keep_partial", keep_bytes=keep_bytes, skip=skip))

    def expire_next_chunk(self, *, skip: int = 0) -> None:
        """The session of the next chunk expires: 404 now and from then on."""
        self.add_fault(Fault(kind="upload_chunk", action="expire_session", skip=skip))

    def corrupt_next(self, kind: str = "upload_chunk", *, skip: int = 0) -> None:
        """Flip the first stored byte of the next chunk/multipart body (md5 will differ)."""
        self.add_fault(Fault(kind=kind, action="corrupt", skip=skip))

    def delay_next(self, kind: str, seconds: float, *, times: int = 1, skip: int = 0) -> None:
        """Sleep before answering the next ``times`` ``kind`` requests."""
        self.add_fault(Fault(kind=kind, action="delay", seconds=seconds, times=times, skip=skip))


class DriveServer(_FaultApi):
    """In-process Drive v3 server on 127.0.0.1 (a background thread). Thread-safe control methods."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str] | None = None,
        *,
        port: int = 0,
        max_page_size: int = 2,
        body_timeout: float = 5.0,
        verbose: bool = False,
        user_email: str = "operator@example.edu",
        user_name: str = "NVR Operator",
    ) -> None:
        self._own_dir = state_dir is None
        # The signed-in account `about.get` reports; may be changed while running.
        self.user_email, self.user_name = user_email, user_name
        self.state_dir = Path(state_dir) if state_dir is not None else Path(tempfile.mkdtemp(prefix="drive-"))
        self._port = port
        self._max_page_size = max_page_size
        self._body_timeout = body_timeout
        self._verbose = verbose
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> DriveServer:
        httpd = _Server(("127.0.0.1", self._port), _Handler)
        httpd.state = _State(self.state_dir, self._max_page_size)
        httpd.owner = self
        httpd.verbose = self._verbose
        httpd.body_timeout = self._body_timeout
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name="drive-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            # Let requests in progress (a delayed chunk, say) finish before their files go away.
            self.wait_idle(5)
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> DriveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def _state(self) -> _State:
        assert self._httpd is not None, "server not started"
        return self._httpd.state

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being handled (idle keep-alive connections don't count)."""
        deadline = time.monotonic() + timeout
        while self._state.in_flight:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # -- knobs
    @property
    def max_page_size(self) -> int:
        return self._state.max_page_size

    @max_page_size.setter
    def max_page_size(self, value: int) -> None:
        self._state.max_page_size = value

    def add_shared_drive(self, drive_id: str) -> None:
        """A shared drive the account can use: a valid parent from now on."""
        with self._state.lock:
            self._state.shared_drives.add(drive_id)
        self._state.save()

    # -- faults
    def add_fault(self, fault: Fault) -> None:
        with self._state.lock:
            self._state.faults.append(fault)

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()

    def faults_pending(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [asdict(f) for f in self._state.faults]

    def expire_sessions(self) -> int:
        """Expire every unfinished upload session now; returns how many."""
        st = self._state
        n = 0
        with st.lock:
            for sess in st.sessions.values():
                if sess.complete_file_id is None and not sess.expired:
                    sess.expired = True
                    n += 1
        st.save()
        return n

    # -- the daily upload cap
    def set_daily_cap(self, cap: int | None) -> None:
        """Enforce a cap of `cap` bytes per account per day (None: no cap, the default)."""
        with self._state.lock:
            self._state.daily_cap = cap

    def set_day(self, day: int) -> None:
        """Move the server's clock to day `day` (each day starts with nothing used: the cap lifts)."""
        with self._state.lock:
            self._state.day = day

    def next_day(self) -> None:
        with self._state.lock:
            self._state.day += 1

    def usage(self, every_day: bool = False) -> dict[str, int]:
        """Bytes kept today (or on every day) per account (its Authorization header, or "anonymous")."""
        out: dict[str, int] = {}
        with self._state.lock:
            for (a, d), n in self._state.usage.items():
                if every_day or d == self._state.day:
                    out[a] = out.get(a, 0) + n
        return out

    # -- introspection
    def files(self) -> list[dict[str, Any]]:
        """Every file and folder, all fields, plus ``path`` (stored bytes) for non-folders."""
        with self._state.lock:
            return [dict(f) for f in self._state.files.values()]

    def file(self, file_id: str) -> dict[str, Any]:
        with self._state.lock:
            return dict(self._state.files[file_id])

    def file_bytes(self, file_id: str) -> bytes:
        return Path(self.file(file_id)["path"]).read_bytes()

    def sessions_created(self) -> int:
        return self._state.sessions_created

    def sessions(self) -> list[dict[str, Any]]:
        with self._state.lock:
            return [
                {
                    "id": s.id,
                    "name": s.metadata.get("name"),
                    "offset": s.offset,
                    "total": s.total,
                    "complete_file_id": s.complete_file_id,
                    "expired": s.expired,
                }
                for s in self._state.sessions.values()
            ]

    def requests(self) -> list[dict[str, Any]]:
        """Log of API requests (not control ones): method, path, kind, status, fault, ..."""
        with self._state.lock:
            return [dict(e) for e in self._state.log]

    def reset_log(self) -> None:
        with self._state.lock:
            self._state.log.clear()


class DriveServerProcess(_FaultApi):
    """The server as a child process (``python -m tests.support.drive_server``), steered over HTTP.

    It outlives the app processes a test kills; ``kill()`` + ``start()`` with the same state dir
    and port restarts the server itself with its files and sessions.
    """

    def __init__(self, state_dir: str | os.PathLike[str], *, port: int = 0, max_page_size: int = 2) -> None:
        self.state_dir = Path(state_dir)
        self._port = port
        self._max_page_size = max_page_size
        self._proc: subprocess.Popen[str] | None = None
        self.root_url = ""

    def start(self, timeout: float = 10.0) -> DriveServerProcess:
        repo_root = Path(__file__).resolve().parents[2]
        cmd = [
            sys.executable,
            "-m",
            "tests.support.drive_server",
            "--port",
            str(self._port),
            "--state-dir",
            str(self.state_dir),
            "--page-size",
            str(self._max_page_size),
        ]
        self._proc = subprocess.Popen(cmd, cwd=repo_root, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)  # POSIX pipes only
        line = self._proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.kill()
            raise RuntimeError(f"drive server did not start: {line!r}")
        self.root_url = line.split()[1]
        # Same port on restart, so session URIs the app saved stay valid.
        self._port = int(urllib.parse.urlsplit(self.root_url).port or 0)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None

    def kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> DriveServerProcess:
        return self.start()

    @property
    def pid(self) -> int:
        """The server process's id (bench/upload.py reads its CPU time)."""
        assert self._proc is not None, "the server is not running"
        return self._proc.pid

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root_url + path.lstrip("/"), data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"control call {method} {path} failed: {e.read()!r}") from e

    def add_fault(self, fault: Fault) -> None:
        self._call("POST", "/_control/faults", asdict(fault))

    def clear_faults(self) -> None:
        self._call("DELETE", "/_control/faults")

    def expire_sessions(self) -> int:
        return int(self._call("POST", "/_control/expire_sessions", {})["expired"])

    def reset_log(self) -> None:
        self._call("POST", "/_control/reset_log", {})

    def set_daily_cap(self, cap: int | None) -> None:
        self._call("POST", "/_control/cap", {"cap": cap})

    def set_day(self, day: int) -> None:
        self._call("POST", "/_control/cap", {"day": day})

    def usage(self) -> dict[str, int]:
        return dict(self._call("POST", "/_control/cap", {})["usage"])

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "/_control/state"))

    def files(self) -> list[dict[str, Any]]:
        return list(self.state()["files"])

    def file_bytes(self, file_id: str) -> bytes:
        rec = next(f for f in self.files() if f["id"] == file_id)
        return Path(rec["path"]).read_bytes()

    def sessions_created(self) -> int:
        return int(self.state()["sessions_created"])

    def sessions(self) -> list[dict[str, Any]]:
        return list(self.state()["sessions"])

    def requests(self) -> list[dict[str, Any]]:
        return list(self.state()["requests"])

    def faults_pending(self) -> list[dict[str, Any]]:
        return list(self.state()["faults"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Drive v3 protocol server for tests")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--page-size", type=int, default=2, help="most entries per list page")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--user-email", default="operator@example.edu", help="the account about.get reports")
    args = parser.parse_args(argv)
    server = DriveServer(args.state_dir, port=args.port, max_page_size=args.page_size, verbose=args.verbose,
                         user_email=args.user_email)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"READY {server.root_url}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
