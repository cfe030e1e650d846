"""FFmpeg's stderr read off the engine thread, so that it is drained whatever the engine thread is doing.

The recorder's FFmpeg writes its parameter-set trace (parameter_sets) on stderr, about 10 KB/s per camera. Read
through QProcess, the pipe was emptied only when the engine thread ran its event loop: held up (the database
away), the 64 KiB pipe filled in 6-7 s and FFmpeg blocked writing to it and cut no file (issue #18). Here each run
gets a pipe of our own for its stderr (QProcess opens `/dev/fd/N`, so FFmpeg writes straight into it) and one
thread per process, `READER`, waits on all of them with a selector and hands the bytes to each recorder's feed
(recorder_stderr: lines, tail, trace parsing), which passes the few events the engine acts on to the engine
thread through a queued signal. Memory stays bounded: nothing is queued here, the feed keeps a tail.

POSIX only (a pipe's `/dev/fd` name and a selector over pipes); elsewhere the recorder reads QProcess's channel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QProcess

log = logging.getLogger(__name__)

CHUNK = 65536
READS_PER_TURN = 8  # per pipe and wake-up: one busy FFmpeg does not hold up the others
# After each round the thread rests this long, so a round reads what FFmpeg wrote meanwhile in one go: it writes
# its trace a line (two write calls) at a time, some 100 lines a second per camera, and woken per write the
# thread would run ~200 times a second per camera. 0.1 s lets 1 KB of a camera's trace gather in a 64 KiB pipe,
# and a picture change is still acted on within about 0.1 s (FFmpeg itself reads `q` every 0.1 s).
REST_S = 0.1

Feed = Callable[[bytes], None]


def supported() -> bool:
    """Whether stderr can be read by the reader thread here (POSIX)."""
    return os.name == "posix" and os.path.isdir("/dev/fd")


class _Source:
    """One pipe's read end while the reader owns it."""

    def __init__(self, fd: int, feed: Feed) -> None:
        self.fd, self.feed = fd, feed
        self.closed = False


class StderrReader:
    """One thread reading every registered pipe; attach, pump and detach from any thread."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()  # held while a pipe is read and fed, and while the set of pipes changes
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None

    def attach(self, fd: int, feed: Feed) -> _Source:
        """Read `fd` (a pipe's read end, now ours to close) on the reader thread into `feed` until its end."""
        os.set_blocking(fd, False)
        source = _Source(fd, feed)
        with self._lock:
            self._selector.register(fd, selectors.EVENT_READ, source)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ffmpeg-stderr", daemon=True)
                self._thread.start()
        with contextlib.suppress(BlockingIOError):  # (full: a wake-up is pending anyway)
            os.write(self._wake_w, b"x")  # a selector that copies its set per call (poll, select) takes it up now
        return source

    def pump(self, source: _Source) -> None:
        """Read what the pipe holds now into its feed, on the calling thread (e.g. the header, before a use)."""
        with self._lock:
            if not source.closed and self._read(source):
                self._close(source)

    def detach(self, source: _Source) -> None:
        """Read what is left (its writer is gone, or no longer of interest), then close the pipe: its feed is
        not called again once this returns."""
        with self._lock:
            if not source.closed:
                self._read(source)
                self._close(source)

    def _run(self) -> None:
        while True:
            ready = self._selector.select()
            with self._lock:
                for key, _ in ready:
                    source = key.data
                    if source is None:
                        _drain(self._wake_r)
                    elif isinstance(source, _Source) and not source.closed and self._read(source):
                        self._close(source)
            time.sleep(REST_S)

    def _read(self, source: _Source) -> bool:
        """Up to READS_PER_TURN chunks into the feed; True at the pipe's end (every writer closed it)."""
        for _ in range(READS_PER_TURN):
            try:
                data = os.read(source.fd, CHUNK)
            except BlockingIOError:
                return False
            except OSError as exc:
                log.warning("reading FFmpeg's stderr (fd %d): %s", source.fd, exc)
                return True
            if not data:
                return True
            try:
                source.feed(data)
            except Exception:  # a bug in one recorder's parsing must not stop the others' reading
                log.exception("handling FFmpeg's stderr")
        return False

    def _close(self, source: _Source) -> None:
        source.closed = True
        self._selector.unregister(source.fd)
        os.close(source.fd)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


READER = StderrReader()  # one per process (a node runs one engine): one thread for every recorder


class StderrPipe:
    """One FFmpeg run's stderr through a pipe of ours, read by READER (POSIX; elsewhere QProcess's own channel,
    read on the engine thread as it comes). Engine thread (the recorder's)."""

    def __init__(self, proc: QProcess, feed: Feed) -> None:
        """Point `proc`'s stderr at a new pipe (call before start)."""
        self._proc, self._feed = proc, feed
        self._read_fd = self._write_fd = -1
        self._source: _Source | None = None
        if not supported():
            proc.readyReadStandardError.connect(self.pump)
            return
        self._read_fd, self._write_fd = os.pipe()
        # QProcess opens the file in this process before forking (a second descriptor of the same pipe).
        proc.setStandardErrorFile(f"/dev/fd/{self._write_fd}")

    def started(self) -> None:
        """After QProcess.start(): let go of our write end (FFmpeg's is the only one) and begin reading."""
        if self._write_fd >= 0:
            os.close(self._write_fd)
            self._write_fd = -1
            self._source = READER.attach(self._read_fd, self._feed)

    def pump(self) -> None:
        """Read what FFmpeg has written so far, now."""
        if self._source is not None:
            READER.pump(self._source)
        elif self._read_fd < 0 and (data := bytes(self._proc.readAllStandardError().data())):
            self._feed(data)

    def close(self) -> None:
        """The run is over: read the rest and close the pipe (idempotent)."""
        if self._write_fd >= 0:  # never started
            os.close(self._write_fd)
            os.close(self._read_fd)
            self._write_fd = self._read_fd = -2
        elif self._source is not None:
            READER.detach(self._source)
            self._source = None
        elif self._read_fd == -1:
            self.pump()
