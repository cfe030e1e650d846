"""Download a recording from Drive through the real client: in chunks (Range requests), resumable, verified.

`MediaIoBaseDownload` asks for `bytes=S-E` chunks and keeps its position in memory; a dropped connection
raises, and the next `next_chunk()` asks again from the same byte. Across runs the partial file is the
position: a download started again (an export run again after a crash) continues from the bytes already on
disk. The finished file must have Drive's size and MD5 and, when the database knows it, the MD5 the uploader
verified; otherwise it is deleted and the piece is reported, never used.

Blocking network I/O: run on a worker thread, one Drive service per thread (httplib2 is not thread-safe).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseDownload

from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.errors import Fatal, Retryable, classify, http_error_reason

log = logging.getLogger(__name__)

CHUNK = 8 * 1024 * 1024
RETRIES = 5
PART_SUFFIX = ".part"


class DownloadFailed(RuntimeError):
    """The file could not be fetched or did not verify; str() is the operator sentence."""


class Cancelled(Exception):
    """The operator cancelled the export."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HttpError) and http_error_reason(exc)[0] in (404, 410):
        return "it is no longer on Drive (404)"
    return mask_secrets(str(classify(exc, "Google Drive")))


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def download(service: Any, file_id: str, dest: Path, *, expected_md5: str | None = None,
             progress: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None,
             chunk: int = CHUNK, retries: int = RETRIES, retry_base_s: float = 0.5) -> Path:
    """Fetch Drive file `file_id` into `dest` (through `dest.part`, resumed if present); returns `dest` once its
    size and MD5 match Drive's (and `expected_md5`). Raises DownloadFailed or Cancelled. Worker thread."""
    try:
        meta = service.files().get(fileId=file_id, fields="id,name,size,md5Checksum",
                                   supportsAllDrives=True).execute(num_retries=retries)
    except Exception as exc:
        raise DownloadFailed(f"Drive file {file_id}: {_reason(exc)}") from None
    size = int(meta.get("size") or 0)
    drive_md5 = str(meta.get("md5Checksum") or "").lower()
    if expected_md5 and drive_md5 and expected_md5.lower() != drive_md5:
        raise DownloadFailed(f"Drive's copy of {meta.get('name', file_id)} is not the file that was uploaded "
                             f"(MD5 {drive_md5} vs {expected_md5})")
    if dest.exists() and dest.stat().st_size == size and _md5(dest) == drive_md5:
        return dest
    part = dest.with_name(dest.name + PART_SUFFIX)
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    failures = 0
    with part.open("ab") as fh:
        downloader = MediaIoBaseDownload(fh, service.files().get_media(fileId=file_id, supportsAllDrives=True),
                                         chunksize=chunk)
        # Resume from what is on disk (the library starts at 0 and keeps its position only in memory).
        downloader._progress = have  # type: ignore[attr-defined]  # private: the stubs omit it
        done = have >= size > 0
        while not done:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                status, done = downloader.next_chunk(num_retries=0)  # our own retry policy
            except Exception as exc:
                err = classify(exc, "Google Drive")
                if isinstance(err, Fatal) or not isinstance(err, Retryable) or failures >= retries:
                    raise DownloadFailed(f"downloading {meta.get('name', file_id)} from Drive failed: "
                                         f"{_reason(exc)}") from None
                failures += 1
                log.info("download of %s interrupted (%s); continuing from byte %d", file_id, err,
                         downloader._progress)  # type: ignore[attr-defined]  # (the same)
                time.sleep(retry_base_s * 2 ** (failures - 1))
                continue
            failures = 0
            fh.flush()
            if progress is not None:
                progress(int(status.resumable_progress), size)
        os.fsync(fh.fileno())
    got_size, got_md5 = part.stat().st_size, _md5(part)
    if got_size != size or got_md5 != drive_md5:
        part.unlink(missing_ok=True)
        raise DownloadFailed(f"the download of {meta.get('name', file_id)} did not verify (size {got_size} vs "
                             f"{size}, MD5 {got_md5} vs {drive_md5}); deleted it")
    os.replace(part, dest)
    return dest
