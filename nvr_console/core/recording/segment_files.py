"""What a recorder's FFmpeg has done in its folder: which raw segments it opened and closed, which one it
writes now, how big that file is and how fast the recorder writes. Plain logic on the engine thread; one per
recorder.

The rate counts every byte written, across cuts: the growth of the file being written at each look, plus what a
file gained between its last look and its close (read when it is reported finished, before the finalizer
removes it). Measuring the current file alone lost every cut, and with segments shorter than the look's
period (5 s) it never saw the same file twice: no rate at all, so no forecast of a full disk.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.recording.segment_names import raw_name_time, raw_segments

# Names remembered per recorder, so one that runs for months keeps bounded memory.
REMEMBER_MAX = 512
REMEMBER_KEEP = 256


class SegmentFiles:
    """The raw segments of one recorder's runs. Engine thread."""

    def __init__(self, folder: Path, zone: ZoneInfo | None) -> None:
        self.folder = folder
        self.zone = zone
        self.current: Path | None = None  # the file FFmpeg writes now (None between runs)
        self.current_started = 0.0  # epoch s from its name
        self.current_size = 0
        self.bitrate_kbps = 0.0  # smoothed rate of writing, all files of the run
        self._first_name = ""  # files named before this belong to earlier runs
        self._started: set[str] = set()
        self._finished: set[str] = set()
        self._rate_sample: tuple[float, int] | None = None  # (when, `_written` then)
        self._written = 0  # bytes this run's files grew by, as far as seen
        self._seen: dict[str, int] = {}  # size last seen of each file not yet finished

    @property
    def finished_count(self) -> int:
        """Grows by one per segment reported finished (a watchdog's sign of life)."""
        return len(self._finished)

    def new_run(self, first_name: str) -> None:
        """FFmpeg starts again; its files are named `first_name` or later."""
        self._first_name = first_name
        self.current, self.current_size, self._rate_sample = None, 0, None
        self._written, self._seen = 0, {}

    def end_run(self) -> None:
        self.current = None

    def mark_started(self, raw: Path) -> bool:
        """Remember `raw` as opened; True the first time."""
        if raw.name in self._started:
            return False
        self._started.add(raw.name)
        if len(self._started) > REMEMBER_MAX:
            self._started = set(sorted(self._started)[-REMEMBER_KEEP:])
            self._finished = set(sorted(self._finished)[-REMEMBER_KEEP:])
        return True

    def is_finished(self, name: str) -> bool:
        return name in self._finished

    def mark_finished(self, name: str) -> None:
        """`name` is closed (and still on disk: the finalizer has not had it yet). Engine thread."""
        self._finished.add(name)
        try:
            size = (self.folder / name).stat().st_size
        except OSError:
            size = self._seen.get(name, 0)
        self._grew(name, size)
        self._seen.pop(name, None)

    def _grew(self, name: str, size: int) -> None:
        self._written += max(0, size - self._seen.get(name, 0))
        self._seen[name] = size

    def unfinished(self) -> list[Path]:
        """This run's files on disk not yet reported finished (after an exit: the ones a crash left open)."""
        return [raw for raw in raw_segments(self.folder)
                if raw.name >= self._first_name and raw.name not in self._finished]

    def scan(self, now: float) -> list[Path]:
        """Look at the folder: the current file, its size and rate. Returns this run's files not yet marked
        started (in name order) for the caller to report; it marks them."""
        files = [p for p in raw_segments(self.folder) if p.name >= self._first_name]
        new = [p for p in files if p.name not in self._finished and self.mark_started(p)]
        live = [p for p in files if p.name not in self._finished]
        current = live[-1] if live else None
        if current != self.current:
            self.current = current
            named = raw_name_time(current, self.zone) if current else None
            self.current_started = named.timestamp() if named else now
        size = 0
        if current is not None:
            try:
                size = current.stat().st_size
            except OSError:
                size = 0
            self._grew(current.name, size)
        if self._rate_sample is not None and now > self._rate_sample[0]:
            inst = (self._written - self._rate_sample[1]) * 8 / 1000 / (now - self._rate_sample[0])
            self.bitrate_kbps = inst if self.bitrate_kbps == 0 else 0.7 * self.bitrate_kbps + 0.3 * inst
        self._rate_sample = (now, self._written)
        self.current_size = size
        return new
