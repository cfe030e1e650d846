"""Whether a run's output still grows: the current file's size, the number of finished files and FFmpeg's
out_time are its progress; none of them moving for longer than the limit is a stalled stream (the recorder
restarts FFmpeg).
"""

from __future__ import annotations

Progress = tuple[int, int, int]  # (current file size, finished files, out_time in µs)


class StallWatch:
    """One recorder's stall watchdog, run after run. Engine thread (the recorder's ~1 Hz poll)."""

    def __init__(self) -> None:
        self.stalled = False  # this run was found stalled (and is stopped for it)
        self._last_growth = 0.0
        self._progress: Progress = (0, 0, 0)

    def new_run(self, now: float) -> None:
        """A new FFmpeg started at `now`: its limit counts from there."""
        self.stalled, self._last_growth, self._progress = False, now, (0, 0, 0)

    def check(self, now: float, progress: Progress, limit_s: float) -> bool:
        """True when `progress` has not moved for more than `limit_s` (the run is then marked stalled)."""
        if progress != self._progress:
            self._progress, self._last_growth = progress, now
        if now - self._last_growth <= limit_s:
            return False
        self.stalled = True
        return True
