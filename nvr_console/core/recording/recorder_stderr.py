"""What a recorder's FFmpeg says on stderr: its lines masked, the last of them (why it exited), the output
streams its start-up header names, and the per-camera log file they are written to.

Engine thread: the recorder drains its QProcess's stderr about once a second and hands the bytes here.
"""

from __future__ import annotations

import collections
import logging
import time
from pathlib import Path

from nvr_console.core.ffmpeg.error_lines import is_error_line
from nvr_console.core.recording.parameter_sets import TRACE_MARK
from nvr_console.core.recording.probe import MediaInfo, parse_ffmpeg_output_streams
from nvr_console.core.system.logging_setup import PrivateRotatingFileHandler
from nvr_console.core.text.masking import mask_secrets

# FFmpeg's start-up header (input and output dumps, stream mapping) is some 20-60 lines; stop looking for
# the output streams after this many lines of a run.
HEADER_LINES = 300
TAIL_LINES = 60


class RecorderStderr:
    """One recorder's stderr, run after run. Create, feed and close it on the engine thread."""

    def __init__(self, log_dir: Path | None, key: str, file_name: str) -> None:
        """`log_dir`: where `ffmpeg/<file_name>.log` goes (None: no log file); `key` names its logger."""
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.streams: MediaInfo | None = None  # what this run writes into its segments, from the header
        self._buf = b""
        self._header: list[str] = []  # this run's first lines, until its output streams are known
        self._traces: list[str] = []  # the SPS watch's trace lines (parameter_sets), not yet taken
        self._file_log = _file_log(log_dir, f"{key}.{id(self)}", file_name)

    def new_run(self) -> None:
        """A new FFmpeg starts: nothing it says is known yet."""
        self.tail.clear()
        self._buf = b""
        self._header, self.streams = [], None
        self._traces = []

    def feed(self, data: bytes) -> tuple[list[str], bool]:
        """Take what FFmpeg wrote since the last call: its whole lines are masked, kept in the tail and written
        to the log file. Returns the lines that read like errors, and whether this call learnt the output
        streams."""
        self._buf += data
        *raw_lines, self._buf = self._buf.split(b"\n")
        kept: list[str] = []
        for raw in raw_lines:
            line = raw.decode("utf-8", "replace").rstrip()
            if not line:
                continue
            if (at := line.find(TRACE_MARK)) >= 0:  # the SPS watch's trace: for the recorder, never logged
                self._traces.append(line[at:])
                line = line[:at].rstrip()
                if not line:
                    continue
            if "://" in line or "=" in line:  # all mask_secrets can change; most lines have neither
                line = mask_secrets(line)
            kept.append(line)
        self.tail.extend(kept)
        self.write(kept)
        return [line for line in kept if is_error_line(line)], self._read_header(kept)

    def take_traces(self) -> list[str]:
        """The parameter-set trace lines fed since the last call (parameter_sets.SpsWatch reads them)."""
        traces, self._traces = self._traces, []
        return traces

    def tail_text(self, lines: int = 30) -> str:
        """The last `lines` lines, for classifying why FFmpeg exited."""
        return "\n".join(list(self.tail)[-lines:])

    def write(self, lines: list[str]) -> None:
        """One log record per batch, each line stamped: logging per line was most of the stderr cost."""
        if self._file_log is not None and lines:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            self._file_log.info("\n".join(f"{stamp} {line}" for line in lines))

    def close(self) -> None:
        """Release the log file."""
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
