"""Run one FFmpeg job of an export: progress from `-progress pipe:1`, cancel by the operator, one-line errors.

Blocking: run on a worker thread (the CLI's main thread, or a pool thread of the console).
"""

from __future__ import annotations

import collections
import contextlib
import subprocess
import threading
from collections.abc import Callable, Sequence

from nvr_console.core.export.drive_download import Cancelled
from nvr_console.core.masking import mask_secrets

POLL_S = 0.2


class ExportFailed(RuntimeError):
    """FFmpeg could not write the export; str() names the step and FFmpeg's last error line."""


def run_ffmpeg(argv: Sequence[str], what: str, *, progress: Callable[[float], None] | None = None,
               cancel: threading.Event | None = None) -> None:
    """Run `argv` (which must end its options with `-progress pipe:1 -nostats` before the output); report
    the output time reached (seconds) to `progress`; on `cancel`, stop FFmpeg and raise Cancelled."""
    # start_new_session: the console's Ctrl-C must not reach FFmpeg; cancel stops it instead.
    proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stdout is not None and proc.stderr is not None
    stderr = proc.stderr
    tail: collections.deque[str] = collections.deque(maxlen=20)
    reader = threading.Thread(target=lambda: tail.extend(
        line.decode("utf-8", "replace").rstrip() for line in stderr), daemon=True)
    reader.start()
    watcher_done = threading.Event()

    def watch_cancel() -> None:
        while not watcher_done.wait(POLL_S):
            if cancel is not None and cancel.is_set() and proc.poll() is None:
                proc.terminate()
                return

    watcher = threading.Thread(target=watch_cancel, daemon=True)
    watcher.start()
    try:
        for raw in proc.stdout:
            line = raw.decode("ascii", "replace").strip()
            if progress is not None and line.startswith("out_time_us=") and line[12:].lstrip("-").isdigit():
                progress(max(0, int(line[12:])) / 1e6)
        code = proc.wait()
    finally:
        watcher_done.set()
        if proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        reader.join(5)
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    if code != 0:
        errors = [ln for ln in tail if ln]
        raise ExportFailed(f"{what} failed: {mask_secrets(errors[-1]) if errors else f'FFmpeg exit code {code}'}")
