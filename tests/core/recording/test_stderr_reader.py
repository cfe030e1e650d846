"""FFmpeg's stderr read off the engine thread: a child writing far more than a pipe holds finishes while the
thread that started it does nothing, and every byte reaches the feed, the last ones when the run is closed."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from PySide6.QtCore import QProcess

from nvr_console.core.recording import stderr_reader
from nvr_console.core.recording.stderr_reader import StderrPipe

pytestmark = pytest.mark.skipif(not stderr_reader.supported(), reason="POSIX only")

LINES = 40_000  # 40,000 lines of 50 bytes: 2 MB, 30 times the default 64 KiB pipe


def test_a_child_writing_megabytes_is_not_blocked_by_a_thread_that_reads_nothing(qapp: object) -> None:
    got: list[bytes] = []
    feeders: set[str] = set()

    def feed(data: bytes) -> None:
        got.append(data)
        feeders.add(threading.current_thread().name)

    proc = QProcess()
    pipe = StderrPipe(proc, feed)
    proc.setProgram(sys.executable)
    proc.setArguments(["-c", f"import sys\nfor i in range({LINES}): sys.stderr.write('%049d\\n' % i)"])
    proc.start()
    pipe.started()
    # This thread runs no event loop, and QProcess has no stderr channel to read while it waits: the child can
    # only finish because the reader thread empties its pipe.
    assert proc.waitForFinished(60_000), proc.errorString()
    pipe.close()
    pipe.close()  # idempotent
    lines = b"".join(got).split(b"\n")
    assert lines[-1] == b"" and len(lines) == LINES + 1
    assert lines[0] == b"0" * 49 and lines[LINES - 1] == b"%049d" % (LINES - 1)
    assert proc.exitCode() == 0 and "ffmpeg-stderr" in feeders


def _open_fds() -> int:
    return len(os.listdir("/dev/fd"))


def test_pipes_are_closed_whether_the_run_started_or_not(qapp: object) -> None:
    before = _open_fds()
    proc = QProcess()
    pipe = StderrPipe(proc, lambda data: None)
    assert _open_fds() == before + 2
    pipe.close()  # never started (FFmpeg missing: the recorder closes it in its error handler)
    pipe.started()  # after close: nothing opened again
    assert _open_fds() == before
    proc = QProcess()
    pipe = StderrPipe(proc, lambda data: None)
    proc.setProgram("true")
    proc.start()
    pipe.started()
    assert proc.waitForFinished(30_000)
    pipe.close()
    assert _open_fds() == before
