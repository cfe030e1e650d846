"""A run's in-band picture: the camera's parameter sets as FFmpeg's trace shows them (parameter_sets), and
whether the run ends because the picture changed in-band (the segment muxer would copy the new SPS into the
open file, so the recorder starts a new run: a new file holding only the new picture; docs/streams.md).
"""

from __future__ import annotations

from nvr_console.core.recording.parameter_sets import TRACE_MARK, SpsWatch

_MARK = TRACE_MARK.encode()
UNIT_LINES_MAX = 400  # a unit's field lines kept for the comparison (an SPS has ~60)


class PictureChangeWatch:
    """One recorder's picture-change watch, run after run: `read` on the thread that reads FFmpeg's stderr,
    `offer` on the engine thread."""

    def __init__(self) -> None:
        self._sps = SpsWatch()
        self.change = ""  # this run stops because the picture changed: the operator sentence ("" = it does not)
        self._previous: list[bytes] = []  # the last unit's field lines (after their prefix)
        self._unit: list[bytes] = []  # this unit's, so far
        self._same = False  # this unit's lines so far are the last unit's: not read yet

    def new_run(self) -> None:
        """A new FFmpeg starts: its parameter sets are not known yet."""
        self._sps, self.change = SpsWatch(), ""
        self._previous, self._unit, self._same = [], [], False

    def read_raw(self, raw: bytes) -> str:
        """One trace line as FFmpeg wrote it (starting with TRACE_MARK); like `read`, but the fields of a unit
        that repeat the last unit's line for line are not read at all: a camera sends the same SPS at every
        keyframe (~60 lines each, 100 lines a second per camera on the test server), and reading them was most
        of the engine's cost of the trace. Such a unit cannot change the picture and leaves the watch as the
        last one did; at the first line that differs, the lines before it are read, then the rest."""
        body = raw[raw.find(b"] ", len(_MARK)) + 2:]
        if not body[:1].isdigit():  # a header (a packet, a unit): always read; a unit begins
            if self._unit:
                self._previous = self._unit
            self._unit, self._same = [], True
            return self.read(body.decode("utf-8", "replace"))
        if len(self._unit) < UNIT_LINES_MAX:
            self._unit.append(body)
        if self._same:
            at = len(self._unit) - 1
            if at < len(self._previous) and self._previous[at] == body:
                return ""
            self._same = False
            for earlier in self._unit[:-1]:
                self._sps.feed(earlier.decode("utf-8", "replace"))  # the same as the last unit's: no change
        return self.read(body.decode("utf-8", "replace"))

    @property
    def sps_read(self) -> int:
        """In-band SPS read this run (repeats skipped by `read_raw` are not; tests and logs)."""
        return self._sps.seen

    def picture(self) -> tuple[int, int] | None:
        """The picture size the parameter sets say, if known."""
        return self._sps.picture()

    def read(self, line: str) -> str:
        """One trace line (with or without its TRACE_MARK prefix); the sentence when it completes an in-band SPS
        of another picture, else ""."""
        change = self._sps.feed(line)
        return change[0].upper() + change[1:] if change else ""

    def offer(self, change: str, armed: bool) -> str:
        """A change `read` found. Returns it when it ends the run: the run's first change, while `armed` (the
        recorder is wanted and not already stopping); "" otherwise."""
        if not change or self.change or not armed:
            return ""
        self.change = change
        return self.change
