"""Segment lines that wait for a run's second progress block before they are reported.

FFmpeg's first -progress block comes before it flushes what it buffered while probing (out_time 1 ms, then ~1 s
of media at once): timeline_origin is ~1 s late until the second block, which at -stats_period 5 can follow the
first cut. A segment line before that block waits for it (or for the exit).
"""

from __future__ import annotations

from nvr_console.core.recording.progress import SegmentFinished


class SegmentLineHold:
    """One recorder's held segment lines, run after run. Engine thread."""

    def __init__(self) -> None:
        self._blocks = 0  # progress blocks seen in this run
        self._held: list[SegmentFinished] = []

    def new_run(self) -> None:
        """A new FFmpeg starts: no block seen, nothing held."""
        self._blocks, self._held = 0, []

    def block(self) -> list[SegmentFinished]:
        """A progress block came: the lines it lets go (every held one, from the run's second block on)."""
        self._blocks += 1
        return self.release() if self._blocks >= 2 else []

    def segment(self, line: SegmentFinished) -> list[SegmentFinished]:
        """A segment line came: [line] to report now, or [] while it waits for the second block."""
        if self._blocks < 2:
            self._held.append(line)
            return []
        return [line]

    def release(self) -> list[SegmentFinished]:
        """The lines still held, let go (the run ended)."""
        held, self._held = self._held, []
        return held
