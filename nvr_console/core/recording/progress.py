"""Parse a recorder's stdout: FFmpeg ``-progress`` key=value blocks and ``-segment_list`` csv lines.

Both are written to ``pipe:1`` by FFmpeg's single muxing thread, each in whole writes, so they
interleave by line, never within a line. A progress block is a run of ``key=value`` lines ending with
``progress=continue`` or ``progress=end``; a segment line is ``name,start,end`` (seconds on the output
timeline), written once the segment file is closed and complete.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressSnapshot:
    frame: int | None
    fps: float | None
    bitrate_kbps: float | None
    total_size: int | None
    out_time_us: int | None
    speed: float | None
    dup_frames: int | None
    drop_frames: int | None
    ended: bool
    received_at: float  # time.time() when the block's last line arrived

    @property
    def out_time_s(self) -> float | None:
        return None if self.out_time_us is None else self.out_time_us / 1_000_000


@dataclass(frozen=True)
class SegmentFinished:
    """A segment file FFmpeg has closed: safe to probe, finalize and upload."""

    filename: str  # basename, as FFmpeg lists it
    start_s: float  # output timeline, seconds
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


ProgressEvent = ProgressSnapshot | SegmentFinished


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:  # "N/A"
        return None


def _float(value: str | None, suffix: str = "") -> float | None:
    if value is None:
        return None
    value = value.strip()
    if suffix and value.endswith(suffix):
        value = value[: -len(suffix)]
    try:
        return float(value)
    except ValueError:
        return None


class ProgressParser:
    """Incremental parser; feed it stdout bytes as they come (any chunking)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._fields: dict[str, str] = {}
        self.last: ProgressSnapshot | None = None
        self.segments: list[SegmentFinished] = []
        self._origin: float | None = None

    @property
    def timeline_origin(self) -> float | None:
        """Estimated epoch seconds of output time 0: min over blocks of (arrival - out_time) and observed cuts.

        A block arrives at least as late as the media it reports, so the minimum is the tightest
        estimate; the wall-clock start of a segment is then origin + SegmentFinished.start_s.
        """
        return self._origin

    def observe(self, at: float, out_time_s: float) -> None:
        """Take one more (wall-clock time, output time) pair: media up to out_time_s was written by `at`.

        A finished segment's file was last written when its cut came, stamped by the kernel: a pair that a
        starved engine thread cannot make late, as it does the blocks it reads late.
        """
        if out_time_s > 0:
            self._lower_origin(at - out_time_s)

    def _lower_origin(self, candidate: float) -> None:
        if self._origin is None or candidate < self._origin:
            self._origin = candidate

    def feed(self, data: bytes, now: float | None = None) -> list[ProgressEvent]:
        """Consume a chunk; return the progress snapshots and finished segments it completed."""
        received = time.time() if now is None else now
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        events: list[ProgressEvent] = []
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            if "=" in line:
                key, _, value = line.partition("=")
                self._fields[key.strip()] = value.strip()
                if key.strip() == "progress":
                    events.append(self._snapshot(received))
            elif segment := self._segment(line):
                self.segments.append(segment)
                events.append(segment)
        return events

    def _snapshot(self, received: float) -> ProgressSnapshot:
        f = self._fields
        self._fields = {}
        out_time_us = _int(f.get("out_time_us"))
        if out_time_us is None:
            # FFmpeg < 4.4 named it out_time_ms although it held microseconds.
            out_time_us = _int(f.get("out_time_ms"))
        snap = ProgressSnapshot(
            frame=_int(f.get("frame")),
            fps=_float(f.get("fps")),
            bitrate_kbps=_float(f.get("bitrate"), "kbits/s"),
            total_size=_int(f.get("total_size")),
            out_time_us=out_time_us,
            speed=_float(f.get("speed"), "x"),
            dup_frames=_int(f.get("dup_frames")),
            drop_frames=_int(f.get("drop_frames")),
            ended=f.get("progress") == "end",
            received_at=received,
        )
        if out_time_us is not None and out_time_us > 0 and not snap.ended:
            self._lower_origin(received - out_time_us / 1_000_000)
        self.last = snap
        return snap

    @staticmethod
    def _segment(line: str) -> SegmentFinished | None:
        # csv: FFmpeg quotes a name holding ',' or '"'.
        row = next(csv.reader([line]), [])
        if len(row) != 3:
            return None
        start, end = _float(row[1]), _float(row[2])
        if start is None or end is None:
            return None
        return SegmentFinished(filename=row[0], start_s=start, end_s=end)
