"""A run's in-band picture: the camera's parameter sets as FFmpeg's trace shows them (parameter_sets), and
whether the run ends because the picture changed in-band (the segment muxer would copy the new SPS into the
open file, so the recorder starts a new run: a new file holding only the new picture; docs/streams.md).
"""

from __future__ import annotations

from nvr_console.core.recording.parameter_sets import SpsWatch


class PictureChangeWatch:
    """One recorder's picture-change watch, run after run: `read` on the thread that reads FFmpeg's stderr,
    `offer` on the engine thread."""

    def __init__(self) -> None:
        self._sps = SpsWatch()
        self.change = ""  # this run stops because the picture changed: the operator sentence ("" = it does not)

    def new_run(self) -> None:
        """A new FFmpeg starts: its parameter sets are not known yet."""
        self._sps, self.change = SpsWatch(), ""

    def picture(self) -> tuple[int, int] | None:
        """The picture size the parameter sets say, if known."""
        return self._sps.picture()

    def read(self, line: str) -> str:
        """One trace line; the sentence when it completes an in-band SPS of another picture, else ""."""
        change = self._sps.feed(line)
        return change[0].upper() + change[1:] if change else ""

    def offer(self, change: str, armed: bool) -> str:
        """A change `read` found. Returns it when it ends the run: the run's first change, while `armed` (the
        recorder is wanted and not already stopping); "" otherwise."""
        if not change or self.change or not armed:
            return ""
        self.change = change
        return self.change
