"""What a recorder's FFmpeg says on stderr: its lines masked, the last of them (why it exited), the output
streams its start-up header names, the in-band picture (the parameter-set trace), and the per-camera log file
they are written to.

Fed on the stderr reader's thread (stderr_reader), read on the engine thread: what the engine acts on (error
lines, the streams learnt, a picture change) waits here until it takes it, and a new batch of it calls `notify`
once (the recorder's queued signal), so the engine thread wakes up for events, not for every read.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nvr_console.core.ffmpeg.error_lines import is_error_line
from nvr_console.core.recording.parameter_sets import TRACE_MARK
from nvr_console.core.recording.picture_change import PictureChangeWatch
from nvr_console.core.recording.probe import MediaInfo, parse_ffmpeg_output_streams
from nvr_console.core.system.logging_setup import PrivateRotatingFileHandler
from nvr_console.core.text.masking import mask_secrets

# FFmpeg's start-up header (input and output dumps, stream mapping) is some 20-60 lines; stop looking for
# the output streams after this many lines of a run.
HEADER_LINES = 300
TAIL_LINES = 60
_MARK = TRACE_MARK.encode()


@dataclass
class StderrNews:
    """What the engine acts on, fed since it last took it."""

    errors: list[str] = field(default_factory=list)  # lines that read like errors (the last TAIL_LINES)
    learnt: bool = False  # the output streams became known
    changes: list[str] = field(default_factory=list)  # picture changes in-band (the operator's sentence)

    def __bool__(self) -> bool:
        return bool(self.errors or self.learnt or self.changes)


class RecorderStderr:
    """One recorder's stderr, run after run. `feed` on the reader thread (or any one thread), the rest on the
    engine thread; create and close it there."""

    def __init__(self, log_dir: Path | None, key: str, file_name: str,
                 notify: Callable[[], None] | None = None) -> None:
        """`log_dir`: where `ffmpeg/<file_name>.log` goes (None: no log file); `key` names its logger; `notify`:
        called (on the feeding thread) when news waits and was not announced yet."""
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.streams: MediaInfo | None = None  # what this run writes into its segments, from the header
        self.picture = PictureChangeWatch()  # the run's in-band parameter sets
        self._notify = notify
        self._lock = threading.Lock()  # the tail and the news, between the feeding and the engine thread
        self._news = StderrNews()
        self._announced = False
        self._buf = b""
        self._header: list[str] = []  # this run's first lines, until its output streams are known
        self._file_log = _file_log(log_dir, f"{key}.{id(self)}", file_name)

    def new_run(self) -> None:
        """A new FFmpeg starts (the last one's stderr is closed): nothing it says is known yet. Engine thread."""
        with self._lock:
            self.tail.clear()
            self._buf = b""
            self._header, self.streams = [], None
            self._news, self._announced = StderrNews(), False
            self.picture.new_run()

    def feed(self, data: bytes) -> None:
        """Take what FFmpeg wrote since the last call: its whole lines are masked, kept in the tail and written
        to the log file; the trace goes to the picture watch. Error lines, the streams learnt and a picture
        change wait for `take`. The reader thread (one thread at a time)."""
        self._buf += data
        *raw_lines, self._buf = self._buf.split(b"\n")
        kept: list[str] = []
        changes: list[str] = []
        for raw in raw_lines:
            if (at := raw.find(_MARK)) >= 0:  # the SPS watch's trace: for the recorder, never logged
                if change := self.picture.read_raw(raw[at:]):
                    changes.append(change)
                raw = raw[:at]
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            if "://" in line or "=" in line:  # all mask_secrets can change; most lines have neither
                line = mask_secrets(line)
            kept.append(line)
        self.write(kept)
        learnt = self._read_header(kept)
        errors = [line for line in kept if is_error_line(line)]
        with self._lock:
            self.tail.extend(kept)
            news = self._news
            news.errors = (news.errors + errors)[-TAIL_LINES:]
            news.learnt = news.learnt or learnt
            news.changes = (news.changes + changes)[-2:]
            if news and not self._announced and self._notify is not None:
                self._announced = True
                self._notify()  # under the lock: once `close` has returned it is never called again

    def take(self) -> StderrNews:
        """The news fed since the last call. Engine thread."""
        with self._lock:
            news, self._news, self._announced = self._news, StderrNews(), False
        return news

    def tail_text(self, lines: int = 30) -> str:
        """The last `lines` lines, for classifying why FFmpeg exited. Engine thread."""
        with self._lock:
            return "\n".join(list(self.tail)[-lines:])

    def write(self, lines: list[str]) -> None:
        """One log record per batch, each line stamped: logging per line was most of the stderr cost."""
        if self._file_log is not None and lines:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            self._file_log.info("\n".join(f"{stamp} {line}" for line in lines))

    def close(self) -> None:
        """No more news (the recorder goes away); release the log file. Engine thread."""
        with self._lock:
            self._notify = None
        if self._file_log is not None:
            for h in list(self._file_log.handlers):
                h.close()
                self._file_log.removeHandler(h)

    def _read_header(self, lines: list[str]) -> bool:
        """Learn this run's output streams from FFmpeg's start-up header, so the finalizer need not probe each
        segment (an ffprobe start is ~0.1 CPU-s per file); True when they just became known."""
        if self.streams is not None or len(self._header) >= HEADER_LINES or not lines:
            return False
        self._header += lines[:HEADER_LINES - len(self._header)]
        self.streams = parse_ffmpeg_output_streams(self._header)
        if self.streams is not None or len(self._header) >= HEADER_LINES:
            self._header = []
        return self.streams is not None


def _file_log(log_dir: Path | None, key: str, file_name: str) -> logging.Logger | None:
    """FFmpeg's stderr, per camera, in `<log dir>/ffmpeg/<file_name>.log` (rotating, masked); `key`: a logger
    of its own (one per recorder, whose handlers it closes)."""
    if log_dir is None:
        return None
    try:
        folder = log_dir / "ffmpeg"
        folder.mkdir(parents=True, exist_ok=True)
        logger = logging.getLogger(f"nvr_console.ffmpeg.{key}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = PrivateRotatingFileHandler(folder / f"{file_name}.log", maxBytes=1024 * 1024, backupCount=2,
                                             encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(message)s"))  # lines come stamped
        logger.addHandler(handler)
        return logger
    except OSError:
        return None
