"""Where a recording goes at its destination: `<YYYY-MM-DD>/<HH:MM>/<YYYY-MM-DD_HH-MM>_<room>_<camera>.mp4`.

Times are the recording's slot start in the configured time zone (the original service used Europe/Moscow).
Local archives use `HH-MM` for the time folder, because ':' is not allowed in Windows file names.

Pieces. A file that does not start at its slot's boundary (a camera that reconnected, an engine that
restarted, a camera handed over to another node or taken over after a failure) is a piece of its slot and
says where it starts: `2026-11-23_14-30_A-101_front_14-41-07.mp4`. A whole-slot file keeps the plain name.
Segment cuts land on the first keyframe after the boundary, so a file starting up to PIECE_TOLERANCE_S
after it is whole.

Two different files never share a name in one folder: the name is chosen once per recording, before its
first upload, under a unique key in the database (assign_remote_name). When the natural name is taken
(two whole-slot files of one slot, recorded by two nodes cut off from each other), the next candidate is
used: `_HH-MM-SS` of its start, then `_HH-MM-SS_<node>`, then `_2`, `_3`...
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database, rows_changed

# A file starting more than this after its slot's boundary is a piece (IP cameras send a keyframe every
# 1-4 s; the segment muxer cuts at the first one after the boundary).
PIECE_TOLERANCE_S = 5.0
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class RemoteName:
    day: str  # 2026-11-23
    time: str  # 14:30 (Drive folder name)
    time_local: str  # 14-30 (local folder name)
    file: str  # 2026-11-23_14-30_A-101_front.mp4 (or ..._14-41-07.mp4 for a piece)


def _local(t: datetime, zone: ZoneInfo | None) -> datetime:
    return t.astimezone(zone) if zone is not None else t.astimezone()


def _second(t: datetime, zone: ZoneInfo | None) -> str:
    """`HH-MM-SS` of the second `t` belongs to: rounded, not cut (a piece whose first frame came 60 ms before
    16:37:50 is the 16:37:50 piece, not 16:37:49)."""
    return _local(t + timedelta(microseconds=500_000), zone).replace(microsecond=0).strftime("%H-%M-%S")


def is_piece(slot_start: datetime, start: datetime | None) -> bool:
    """True if a file starting at `start` does not start at its slot's boundary."""
    return start is not None and (start - slot_start).total_seconds() > PIECE_TOLERANCE_S


def remote_name(
    slot_start: datetime, room: str, camera: str, zone: ZoneInfo | None, suffix: str = ".mp4",
    start: datetime | None = None,
) -> RemoteName:
    """The destination names of one recording. `zone` None = the system's local time; `start` = when the
    file itself starts (a piece gets `_HH-MM-SS` of it)."""
    t = _local(slot_start, zone)
    ext = suffix if suffix.startswith(".") else "." + suffix
    piece = f"_{_second(start, zone)}" if start is not None and is_piece(slot_start, start) else ""
    return RemoteName(
        day=t.strftime("%Y-%m-%d"),
        time=t.strftime("%H:%M"),
        time_local=t.strftime("%H-%M"),
        file=f"{t.strftime('%Y-%m-%d_%H-%M')}_{room}_{camera}{piece}{ext}",
    )


def with_file(names: RemoteName, file: str | None) -> RemoteName:
    """The same folders with the file name assigned to the recording (if any)."""
    return names if not file else RemoteName(names.day, names.time, names.time_local, file)


def candidates(slot_start: datetime, room: str, camera: str, zone: ZoneInfo | None, suffix: str,
               start: datetime | None, node: str) -> Iterator[str]:
    """Names to try for one recording, most natural first; endless, each different from the ones before."""
    natural = remote_name(slot_start, room, camera, zone, suffix, start).file
    yield natural
    stem, ext = natural[: -len(PurePath(natural).suffix) or None], PurePath(natural).suffix
    plain = remote_name(slot_start, room, camera, zone, suffix).file
    plain_stem = plain[: -len(ext) or None]
    at = _second(start or slot_start, zone)
    timed = f"{plain_stem}_{at}"
    if timed != stem:
        yield f"{timed}{ext}"
    tagged = f"{timed}_{_UNSAFE.sub('-', node)}" if node else timed
    if tagged != timed:
        yield f"{tagged}{ext}"
    n = 2
    while True:
        yield f"{tagged}_{n}{ext}"
        n += 1


def name_key(file: str) -> str:
    """Unique, indexable key of a destination file name (names carry date, slot, room and camera)."""
    return hashlib.sha256(file.encode("utf-8")).hexdigest()


def assign_remote_name(db: Database, recording_id: int, zone: ZoneInfo | None, limit: int = 50) -> str | None:
    """The recording's destination file name: the one chosen before, or the first free candidate, kept.

    Two uploaders (of two nodes) choosing at once cannot both get one name: the key is unique, the loser's
    UPDATE fails and it takes the next candidate. None if the row is gone. Any (worker) thread.
    """
    with db.session() as s:
        row = s.execute(select(Recording.remote_name, Recording.slot_start, Recording.start_time, Recording.room_name,
                               Recording.camera_name, Recording.local_path, Recording.node)
                        .where(Recording.id == recording_id)).first()
    if row is None:
        return None
    assigned, slot_start, start, room, camera, local_path, node = row
    if assigned:
        return str(assigned)
    for i, file in enumerate(candidates(slot_start, room, camera, zone, suffix_of(local_path), start, node or "")):
        if i >= limit:
            break
        try:
            with db.session() as s:
                named = rows_changed(s, update(Recording)
                                     .where(Recording.id == recording_id, Recording.remote_name.is_(None))
                                     .values(remote_name=file, remote_name_key=name_key(file))
                                     .execution_options(synchronize_session=False))
                if named == 1:
                    return file
        except IntegrityError:
            continue  # another file has this name
        with db.session() as s:  # someone assigned it meanwhile (another worker): use theirs
            return s.scalar(select(Recording.remote_name).where(Recording.id == recording_id))
    raise RuntimeError(f"no free destination name for recording {recording_id} after {limit} tries")


def suffix_of(local_path: str) -> str:
    """`.mp4` for most recordings; the container the finalizer wrote otherwise."""
    return PurePath(local_path).suffix or ".mp4"
