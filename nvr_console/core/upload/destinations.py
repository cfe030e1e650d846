"""Upload destinations: Google Drive (resumable, chunked, verified) and a local archive folder.

One destination object per upload worker thread (the Drive one owns that thread's httplib2 connection,
which is not thread-safe). `upload()` runs on that worker thread and either returns a verified
`Outcome` or raises an `errors.UploadError` subclass saying what the queue should do.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import google.auth.credentials
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaIoBaseUpload

from nvr_console.core.config import Settings
from nvr_console.core.upload.drive_service import build_drive_service
from nvr_console.core.upload.errors import (
    FileFailed,
    FolderMissing,
    Retryable,
    SessionExpired,
    UploadError,
    VerifyMismatch,
    classify,
    http_error_reason,
)
from nvr_console.core.upload.folders import DriveFolders
from nvr_console.core.upload.naming import remote_name, suffix_of, with_file
from nvr_console.core.upload.queue import Job

log = logging.getLogger(__name__)

_HASH_BLOCK = 1 << 20
FILE_FIELDS = "id,name,size,md5Checksum,webViewLink,parents"
MIME_TYPES = {".mp4": "video/mp4", ".mkv": "video/x-matroska", ".ts": "video/mp2t", ".mov": "video/quicktime"}


@dataclass(frozen=True)
class Outcome:
    """A verified copy at the destination."""

    destination: str
    file_id: str | None
    folder_id: str | None
    web_link: str | None
    folder_link: str | None
    md5: str
    size: int


class Hooks(Protocol):
    """What a destination may ask of the worker running it (all called on that worker thread)."""

    def save(self, session_uri: str | None, offset: int) -> None: ...  # persist; raises Stopped if not ours
    def progress(self, sent: int, total: int) -> None: ...
    def sleep(self, seconds: float) -> None: ...  # interruptible; raises Stopped when stopping
    def check(self) -> None: ...  # raises Stopped when stopping


def file_md5(path: Path, check: Callable[[], None] | None = None) -> str:
    """MD5 of a file read in 1 MiB blocks (bounded memory)."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        n = 0
        while block := fh.read(_HASH_BLOCK):
            h.update(block)
            n += 1
            if check is not None and n % 64 == 0:
                check()
    return h.hexdigest()


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter in [0.5, 1] of the step (never 0, never above `cap`)."""
    step: float = min(cap, base * (2 ** max(attempt - 1, 0)))
    return step * random.uniform(0.5, 1.0)


class ChunkedFileUpload(MediaIoBaseUpload):
    """Resumable upload whose chunks are read as bytes, not a stream slice.

    With a stream, the client library re-sends an already consumed slice on retry (an empty body with a
    full Content-Length). As bytes, any retry re-sends the real data; the cost is one chunk in memory,
    which is also the bound on memory per worker.
    """

    def __init__(self, fd: io.BufferedIOBase, mimetype: str, chunksize: int) -> None:
        super().__init__(fd, mimetype, chunksize=chunksize, resumable=True)
        self._file = fd  # our own reference: the base class keeps it in a private field
        # MD5 of the bytes as they are sent, so the file is read once, not twice (a hash pre-pass cost
        # about 20% of the throughput on loopback).
        self._md5 = hashlib.md5()
        self._hashed = 0
        self._hashing: threading.Thread | None = None

    def has_stream(self) -> bool:
        return False

    def getbytes(self, begin: int, length: int) -> bytes:
        """The chunk to send (worker thread). Its new bytes are hashed on a helper thread while the library
        sends them: hashlib releases the GIL, so hashing overlaps the network instead of preceding it
        (bench/upload.py: ratio to a plain PUT 0.81 -> 0.93). Bytes re-read for a retry are not hashed again."""
        self._wait_hash()  # in order, and never more than this one chunk held
        data: bytes = super().getbytes(begin, length)
        if begin <= self._hashed < begin + len(data):
            piece = memoryview(data)[self._hashed - begin :]
            self._hashed = begin + len(data)
            self._hashing = threading.Thread(target=self._md5.update, args=(piece,), daemon=True,
                                             name=f"{threading.current_thread().name}-md5")
            self._hashing.start()
        return data

    def _wait_hash(self) -> None:
        if self._hashing is not None:
            self._hashing.join()
            self._hashing = None

    def md5_hex(self, check: Callable[[], None] | None = None) -> str:
        """MD5 of the whole file: what was hashed while sending plus anything never read (a resumed session)."""
        self._wait_hash()
        if self._hashed < (self.size() or 0):
            self._file.seek(self._hashed)
            n = 0
            while block := self._file.read(_HASH_BLOCK):
                self._md5.update(block)
                self._hashed += len(block)
                n += 1
                if check is not None and n % 64 == 0:
                    check()
        return self._md5.hexdigest()


class DriveDestination:
    """Uploads to Google Drive (or any Drive v3 compatible API root). One per worker thread."""

    name = "drive"

    def __init__(
        self,
        settings: Settings,
        folders: DriveFolders,
        credentials: google.auth.credentials.Credentials | None,
        *,
        retry_base_s: float = 1.0,
        max_inline_retries: int = 6,
        timeout_s: float = 120.0,
    ) -> None:
        self._settings = settings
        self._folders = folders
        self._retry_base = retry_base_s
        self._max_inline = max_inline_retries
        self.service = build_drive_service(settings.drive.api_root, credentials, timeout=timeout_s)
        self._zone = settings.recording.zone()

    # Runs on the worker thread.
    def upload(self, job: Job, hooks: Hooks) -> Outcome:
        path = Path(job.local_path)
        size = path.stat().st_size
        names = with_file(remote_name(job.slot_start, job.room, job.camera, self._zone, suffix_of(job.local_path),
                                      job.start_time), job.remote_name)
        folder = self._folders.folder_for(self.service, job.room, job.room_folder, names.day, names.time)
        uri = job.session_uri
        offset = job.bytes_confirmed if uri else 0
        resp, md5 = self._put(path, size, folder.id, names.file, {}, uri, offset, hooks, f"recording {job.id}")
        if job.md5 and job.size == size and job.md5 != md5:
            log.warning("%s changed since it was finalized (MD5 differs); the copy sent is what is on disk now", path)
        return self._verify(resp, size, md5, folder.id, folder.web_link, names.file, hooks)

    def put_file(self, path: Path, folder_id: str, folder_link: str | None, name: str, hooks: Hooks, *,
                 description: str = "", session_uri: str | None = None, offset: int = 0) -> Outcome:
        """Upload any file (a lecture's, say) as `name` into the Drive folder `folder_id`: resumable, chunked,
        verified by size and MD5 like every recording. Worker thread."""
        size = path.stat().st_size
        extra = {"description": description[:25000]} if description else {}
        resp, md5 = self._put(path, size, folder_id, name, extra, session_uri, offset if session_uri else 0, hooks,
                              name)
        return self._verify(resp, size, md5, folder_id, folder_link, name, hooks)

    def _put(self, path: Path, size: int, folder_id: str, name: str, extra: dict[str, str], uri: str | None,
             offset: int, hooks: Hooks, what: str) -> tuple[dict[str, Any], str]:
        """Send the file (a new session, or `uri` resumed from `offset`); returns Drive's answer and the MD5 of
        what was sent."""
        mimetype = MIME_TYPES.get(suffix_of(str(path)).lower(), "application/octet-stream")
        restarts = 0
        with open(path, "rb") as fh:
            media = ChunkedFileUpload(fh, mimetype, self._settings.upload.chunk_size)
            while True:
                req = self.service.files().create(
                    body={"name": name, "parents": [folder_id], **extra},  # type: ignore[typeddict-item]
                    media_body=media, fields=FILE_FIELDS, supportsAllDrives=True,
                )
                try:
                    if uri:
                        # Resume a saved session (maybe from another process): the next chunk call first
                        # asks the server how much it holds, then continues from there.
                        req.resumable_uri = uri
                        req.resumable_progress = offset
                        req._in_error_state = True  # type: ignore[attr-defined]  # private: the stubs omit it
                    else:
                        uri = self._start_session(req, media, hooks, folder_id)
                        hooks.save(uri, 0)
                    resp = self._send(req, size, hooks)
                    break
                except SessionExpired:
                    restarts += 1
                    if restarts > 3:
                        raise Retryable("Google Drive keeps expiring upload sessions; retrying later") from None
                    log.info("upload session of %s expired; starting a new one", what)
                    uri, offset = None, 0
                    hooks.save(None, 0)
            return resp, media.md5_hex(hooks.check)

    def _start_session(self, req: HttpRequest, media: ChunkedFileUpload, hooks: Hooks, folder_id: str) -> str:
        """POST the metadata and get the session URI, so it is saved before the first byte is sent.

        (The library would open the session and send the first chunk in one call; a crash in between
        would leave us unable to resume.)
        """
        headers = dict(req.headers or {})
        headers["X-Upload-Content-Type"] = media.mimetype()
        headers["X-Upload-Content-Length"] = str(media.size())
        headers["content-length"] = str(req.body_size)
        failures = 0
        while True:
            hooks.check()
            try:
                resp, content = req.http.request(req.uri, method=req.method, body=req.body, headers=headers)
                if resp.status == 200 and "location" in resp:
                    req.resumable_uri = resp["location"]
                    return str(resp["location"])
                raise HttpError(resp, content, uri=req.uri)
            except HttpError as exc:
                if http_error_reason(exc)[0] == 404:
                    raise FolderMissing(folder_id) from None
                err = classify(exc)
            except Exception as exc:  # transport errors
                err = classify(exc)
            failures = self._retry_or_raise(err, failures, hooks)

    def _retry_or_raise(self, err: UploadError, failures: int, hooks: Hooks) -> int:
        if isinstance(err, Retryable) and failures < self._max_inline:
            failures += 1
            log.info("%s (try %d of %d)", err, failures, self._max_inline)
            hooks.sleep(backoff(failures, self._retry_base, 60.0))
            return failures
        raise err

    def _send(self, req: HttpRequest, size: int, hooks: Hooks) -> dict[str, Any]:
        """Send chunks until the server returns the file; persist the confirmed offset after every chunk."""
        failures = 0
        while True:
            hooks.check()
            try:
                _status, resp = req.next_chunk(num_retries=0)  # our own retry policy (see errors.classify)
            except Exception as exc:
                err = classify(exc)
                if isinstance(err, SessionExpired):
                    raise err from None
                # The request is now in its error state: the next call asks the server for its offset.
                failures = self._retry_or_raise(err, failures, hooks)
                continue
            failures = 0
            if resp is not None:
                hooks.save(req.resumable_uri, size)
                hooks.progress(size, size)
                return dict(resp)
            hooks.save(req.resumable_uri, req.resumable_progress)
            hooks.progress(req.resumable_progress, size)

    def _verify(self, resp: dict[str, Any], size: int, md5: str, folder_id: str,
                folder_link: str | None, name: str, hooks: Hooks) -> Outcome:
        got_size = int(resp.get("size", -1) or -1)
        got_md5 = str(resp.get("md5Checksum", "")).lower()
        if got_size != size or got_md5 != md5.lower():
            file_id = resp.get("id")
            log.warning("Drive copy of %s differs (size %s vs %s, md5 %s vs %s): deleting it and uploading again",
                        name, got_size, size, got_md5, md5)
            if file_id:
                with contextlib.suppress(HttpError):
                    self.service.files().delete(fileId=file_id, supportsAllDrives=True).execute(num_retries=5)
            hooks.save(None, 0)
            raise VerifyMismatch(
                f"Drive's copy of {name} did not match the local file (size {got_size} vs {size}, MD5 "
                f"{got_md5 or '?'} vs {md5}); the bad copy was deleted and it will be uploaded again"
            )
        return Outcome("drive", resp.get("id"), folder_id, resp.get("webViewLink"), folder_link, md5, size)


class LocalDestination:
    """Copies into `upload.local_dir/<room>/<YYYY-MM-DD>/<HH-MM>/<name>`: temp file + rename, verified."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self._root = settings.upload.local_dir
        self._chunk = settings.upload.chunk_size
        self._zone = settings.recording.zone()

    # Runs on the worker thread.
    def upload(self, job: Job, hooks: Hooks) -> Outcome:
        src = Path(job.local_path)
        size = src.stat().st_size
        names = with_file(remote_name(job.slot_start, job.room, job.camera, self._zone, suffix_of(job.local_path),
                                      job.start_time), job.remote_name)
        folder = self._root / job.room / names.day / names.time_local
        return self._copy(src, size, folder, names.file, hooks, job.md5 if job.size == size else None)

    def put_file(self, src: Path, folder: Path, name: str, hooks: Hooks) -> Outcome:
        """Copy any file (a lecture's, say) as `name` into `folder` (made if missing): temp file + rename,
        verified by size and MD5 like every recording. Worker thread."""
        return self._copy(src, src.stat().st_size, folder, name, hooks, None)

    def _copy(self, src: Path, size: int, folder: Path, name: str, hooks: Hooks, expected_md5: str | None) -> Outcome:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Retryable(f"cannot create archive folder {folder}: {exc.strerror or exc}") from None
        tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.part"
        h = hashlib.md5()
        sent = 0
        try:
            with open(src, "rb") as fin, open(tmp, "wb") as fout:
                while block := fin.read(self._chunk):
                    fout.write(block)
                    h.update(block)
                    sent += len(block)
                    hooks.progress(sent, size)
                    hooks.check()
                fout.flush()
                os.fsync(fout.fileno())
            md5 = h.hexdigest()
            if expected_md5 and expected_md5 != md5:
                raise FileFailed(f"{src} changed since it was finalized (MD5 differs); check the disk")
            dest = self._free_name(folder, name, size, md5)
            if dest.exists():  # an identical copy is already there (a run killed after the rename)
                tmp.unlink()
            else:
                os.replace(tmp, dest)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise Retryable(f"cannot write to the archive {folder}: {exc.strerror or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        # Verify what is on disk now, not what we meant to write.
        if dest.stat().st_size != size or file_md5(dest) != md5:
            dest.unlink()
            raise VerifyMismatch(f"the archive copy {dest} did not match the recording; copying again")
        return Outcome("local", None, None, dest.as_uri(), folder.as_uri(), md5, size)

    @staticmethod
    def _free_name(folder: Path, name: str, size: int, md5: str) -> Path:
        """`name`, or the identical file already there, or `name_2`, `name_3`... (two files of one slot)."""
        stem, ext = os.path.splitext(name)
        for n in range(1, 1000):
            cand = folder / (name if n == 1 else f"{stem}_{n}{ext}")
            if not cand.exists():
                return cand
            if cand.stat().st_size == size and file_md5(cand) == md5:
                return cand
        raise FileFailed(f"too many archive files named like {name} in {folder}")
