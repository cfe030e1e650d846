"""Room sound: pair each finished camera segment of a room that has a sound source with the room's sound
segment covering it (by wall clock), waiting briefly for that sound segment to close. Plain logic on the
engine thread; finalizing.py feeds it and runs what it pairs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.recording.finalizer import SoundPiece
from nvr_console.core.recording.segments import FinishedSegment, raw_name_time, raw_segments, sound_dir
from nvr_console.core.status import CameraState

SOUND_WAIT_S = 10.0  # how long a finished camera segment waits for its room's sound segment
# A sound recorder in these states may still close the segment a camera segment waits for.
ALIVE = frozenset({CameraState.RECORDING, CameraState.STARTING, CameraState.STOPPING})

# The room's sound recorder as the pairing sees it: (state, last error), or None when the room has none running.
SoundSourceState = Callable[[str], tuple[CameraState, str] | None]


@dataclass(frozen=True)
class Paired:
    """A camera segment ready to finalize: with the room's sound piece, or without it and why."""

    segment: FinishedSegment
    recording_id: int
    sound: SoundPiece | None
    note: str  # "room audio missing: ..." when sound is None


@dataclass(frozen=True)
class _Waiting:
    segment: FinishedSegment
    recording_id: int
    deadline: float


class SoundPairing:
    """The rooms' closed sound segments and the camera segments waiting for one. Engine thread."""

    def __init__(self, segment_length: float) -> None:
        self.segment_length = segment_length
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
        """The waiting segments that can go now: their sound is complete, or it will not come (sound source
        not recording, or the wait is over)."""
        now = now if now is not None else time.time()
        ready: list[Paired] = []
        still: list[_Waiting] = []
        for w in self._waiting:
            seg = w.segment
            best, covered = self.best_sound(seg)
            length = (seg.wall_end or 0) - (seg.wall_start or 0)
            source = sound_source(seg.room)
            alive = source is not None and source[0] in ALIVE
            if best is not None and (covered >= length - 0.5 or (best.wall_end or 0) >= (seg.wall_end or 0) - 0.5):
                ready.append(Paired(seg, w.recording_id, best, ""))
            elif not alive or now >= w.deadline:
                if best is not None:
                    ready.append(Paired(seg, w.recording_id, best, ""))
                else:
                    why = "the sound source is not recording"
                    if source is not None and source[1]:
                        why = f"the sound source is {source[0].value}: {source[1]}"
                    elif alive:
                        why = "no sound source file for this time"
                    ready.append(Paired(seg, w.recording_id, None, f"room audio missing: {why}"))
            else:
                still.append(w)
        self._waiting = still
        return ready

    def best_sound(self, seg: FinishedSegment) -> tuple[SoundPiece | None, float]:
        """The room's sound piece overlapping `seg` the most, and the seconds of overlap."""
        if seg.wall_start is None or seg.wall_end is None:
            return None, 0.0
        best, best_overlap = None, 0.0
        for piece in self._sound.get(seg.room, []):
            if piece.wall_start is None:
                continue
            end = piece.wall_end if piece.wall_end is not None else piece.wall_start + self.segment_length
            overlap = min(end, seg.wall_end) - max(piece.wall_start, seg.wall_start)
            if overlap > best_overlap:
                best, best_overlap = piece, overlap
        return best, best_overlap

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
