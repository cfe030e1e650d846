"""Room sound: pair each finished camera segment of a room that has a sound source with every room sound
segment it overlaps (by wall clock). Plain logic on the engine thread; finalize_dispatch.py feeds it and runs what
it pairs.

A camera cuts at the first keyframe AFTER a boundary, the sound recorder right at it, so a camera segment
spans the end of one sound segment and the start of the next (measured on loopback, 3 s segments, 2 s GOP:
camera pieces of 4.0 s against sound pieces of 3.0 s; the one best piece covered 55-75 % of each). The next
sound segment closes a whole segment later (30 minutes by default), far beyond SOUND_WAIT_S, so its head is
read from the file the sound recorder is still writing: Matroska with a cluster closed every 0.5 s and
flushed (ffmpeg_command), so what was written OPEN_HEAD_S ago is on disk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.recording.finalizer import SoundPiece
from nvr_console.core.recording.segment_names import FinishedSegment, raw_name_time, raw_segments, sound_dir
from nvr_console.core.status import CameraState

SOUND_WAIT_S = 10.0  # how long a finished camera segment waits for its room's sound segment
# The sound recorder's open file holds its audio this long after the wall clock (clusters of 0.5 s, flushed).
OPEN_HEAD_S = 1.5
# Sound that ends this close before the video's end is complete (the two recorders' clock estimates differ by
# a few ms; one AAC frame at 16 kHz is 64 ms).
END_SLACK_S = 0.1
# The open file's name (1 s resolution) says it is the one following the last closed piece.
NAME_SLACK_S = 2.0
# A sound recorder in these states may still close the segment a camera segment waits for.
ALIVE = frozenset({CameraState.RECORDING, CameraState.STARTING, CameraState.STOPPING})

# The room's sound recorder as the pairing sees it: (state, last error), or None when the room has none running.
SoundSourceState = Callable[[str], tuple[CameraState, str] | None]


@dataclass(frozen=True)
class Paired:
    """A camera segment ready to finalize: with the room's sound pieces it overlaps, in order, or without them
    and why."""

    segment: FinishedSegment
    recording_id: int
    sounds: tuple[SoundPiece, ...]
    note: str  # "room audio missing: ..." when sounds is empty


@dataclass(frozen=True)
class _Waiting:
    segment: FinishedSegment
    recording_id: int
    deadline: float


class SoundPairing:
    """The rooms' closed sound segments and the camera segments waiting for one. Engine thread."""

    def __init__(self, segment_length: float, zone: ZoneInfo | None = None) -> None:
        self.segment_length = segment_length
        self.zone = zone  # the recordings' time zone: what their names mean
        self._sound: dict[str, list[SoundPiece]] = {}
        self._waiting: list[_Waiting] = []

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def waiting_for(self, camera_id: int) -> bool:
        return any(w.segment.camera_id == camera_id for w in self._waiting)

    def add_sound(self, room: str, piece: SoundPiece) -> None:
        """A sound source segment closed."""
        self._sound.setdefault(room, []).append(piece)

    def wait(self, segment: FinishedSegment, recording_id: int, now: float | None = None) -> None:
        """A camera segment of a room with a sound source closed: it waits up to SOUND_WAIT_S for its sound."""
        self._waiting.append(_Waiting(segment, recording_id, (now if now is not None else time.time()) + SOUND_WAIT_S))

    def resolve(self, sound_source: SoundSourceState, now: float | None = None) -> list[Paired]:
        """The waiting segments that can go now: their sound is complete (closed pieces up to the video's end,
        or the head of the piece being written), or it will not come (sound source not recording, or the wait
        is over)."""
        now = now if now is not None else time.time()
        ready: list[Paired] = []
        still: list[_Waiting] = []
        for w in self._waiting:
            seg = w.segment
            pieces = self.overlapping(seg)
            source = sound_source(seg.room)
            alive = source is not None and source[0] in ALIVE
            if self._complete(seg, pieces):
                ready.append(Paired(seg, w.recording_id, tuple(pieces), ""))
            elif alive and (head := self._open_head(seg, pieces, now)) is not None:
                ready.append(Paired(seg, w.recording_id, (*pieces, head), ""))
            elif not alive or now >= w.deadline:
                if pieces:
                    ready.append(Paired(seg, w.recording_id, tuple(pieces), ""))
                else:
                    why = "the sound source is not recording"
                    if source is not None and source[1]:
                        why = f"the sound source is {source[0].value}: {source[1]}"
                    elif alive:
                        why = "no sound source file for this time"
                    ready.append(Paired(seg, w.recording_id, (), f"room audio missing: {why}"))
            else:
                still.append(w)
        self._waiting = still
        return ready

    def overlapping(self, seg: FinishedSegment) -> list[SoundPiece]:
        """The room's closed sound pieces overlapping `seg`, in wall-clock order."""
        if seg.wall_start is None or seg.wall_end is None:
            return []
        out = []
        for piece in self._sound.get(seg.room, []):
            if piece.wall_start is None:
                continue
            end = piece.wall_end if piece.wall_end is not None else piece.wall_start + self.segment_length
            if min(end, seg.wall_end) - max(piece.wall_start, seg.wall_start) > 0:
                out.append(piece)
        return sorted(out, key=lambda p: p.wall_start or 0.0)

    def _complete(self, seg: FinishedSegment, pieces: list[SoundPiece]) -> bool:
        """The closed sound reaches the video's end, or sound after it has closed (a gap is not waited for)."""
        if seg.wall_end is None:
            return False
        ends = [p.wall_end for p in pieces if p.wall_end is not None]
        later = any(p.wall_start is not None and p.wall_start >= seg.wall_end for p in self._sound.get(seg.room, []))
        return later or (bool(ends) and max(ends) >= seg.wall_end - END_SLACK_S)

    def _open_head(self, seg: FinishedSegment, pieces: list[SoundPiece], now: float) -> SoundPiece | None:
        """The file the sound recorder is writing after the last closed piece, once it holds the sound up to the
        video's end; None before that or when there is no such file."""
        if not pieces or seg.wall_end is None or now < seg.wall_end + OPEN_HEAD_S:
            return None
        last = pieces[-1]
        if last.wall_end is None:
            return None
        known = {p.path for p in self._sound.get(seg.room, [])}
        for raw in raw_segments(last.path.parent):
            named = raw_name_time(raw, self.zone)
            if raw not in known and named is not None and abs(named.timestamp() - last.wall_end) <= NAME_SLACK_S:
                return SoundPiece(raw, last.wall_end, None)
        return None

    def adopt_leftovers(self, root: Path, zone: ZoneInfo | None) -> None:
        """Sound segments a crash left behind: recovery jobs may use them; afterwards they age out."""
        for room_dir in (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for raw in raw_segments(sound_dir(root, room_dir.name)):
                named = raw_name_time(raw, zone)
                self.add_sound(room_dir.name, SoundPiece(raw, named.timestamp() if named else None, None))

    def drop_old(self, in_use: set[Path], everything: bool = False, now: float | None = None) -> None:
        """Delete sound segments no camera segment can still need (none while any camera segment waits)."""
        horizon = (now if now is not None else time.time()) - 2 * self.segment_length - 30
        for room, pieces in self._sound.items():
            keep = []
            for piece in pieces:
                old = everything or (piece.wall_end or piece.wall_start or 0) < horizon
                if old and piece.path not in in_use and not self._waiting:
                    piece.path.unlink(missing_ok=True)
                else:
                    keep.append(piece)
            self._sound[room] = keep
