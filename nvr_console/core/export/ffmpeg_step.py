"""One FFmpeg step of an export (ffmpeg.job runs it): progress from `-progress pipe:1`, cancel by the operator,
one-line errors.

Blocking: run on a worker thread (the CLI's main thread, or a pool thread of the console).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from nvr_console.core.export.drive_download import Cancelled
from nvr_console.core.ffmpeg.job import JobCancelled, JobError, run_job


class ExportFailed(RuntimeError):
    """FFmpeg could not write the export; str() names the step and FFmpeg's last error line."""


def run_ffmpeg(argv: Sequence[str], what: str, *, progress: Callable[[float], None] | None = None,
               cancel: threading.Event | None = None) -> None:
    """Run `argv` (which must end its options with `-progress pipe:1 -nostats` before the output); report
    the output time reached (seconds) to `progress`; on `cancel`, stop FFmpeg and raise Cancelled.
    No time limit: an export of a day's files takes as long as the disk needs."""

    def line(raw: bytes) -> None:
        text = raw.decode("ascii", "replace").strip()
        if progress is not None and text.startswith("out_time_us=") and text[12:].lstrip("-").isdigit():
            progress(max(0, int(text[12:])) / 1e6)

    try:
        result = run_job(argv, timeout_s=None, cancel=cancel, stdout_lines=line)
    except JobCancelled:
        raise Cancelled() from None
    except JobError as exc:
        raise ExportFailed(f"{what} failed: {exc}") from None
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if not result.ok:
        raise ExportFailed(f"{what} failed: {result.summary()}")
