"""Start-up recovery: finish what a crash (or SIGKILL, or power loss) left half-done.

Runs before any recorder starts: FFmpeg left running by a dead engine is stopped first (process_group),
then every row still `recording`/`finalizing` and every raw segment on disk without a row becomes a
FinalizeJob (tolerant remux: a killed MKV plays up to its last flushed packet); in a database with no
recording yet (a damaged one moved aside), every finished MP4 on disk gets its row back, ready for upload.
The jobs themselves run on the finalizer's worker threads like any other.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from nvr_console.core.catalog import path_key
from nvr_console.core.db.models import Camera, Recording, RecordingStatus, Room
from nvr_console.core.db.session import Database
from nvr_console.core.recording.finalizer import FinalizeJob, SoundPiece
from nvr_console.core.recording.lifecycle import register_segment
from nvr_console.core.recording.ownership import adopt_legacy_rows
from nvr_console.core.recording.segment_names import (
    PARTIAL_SUFFIX,
    RUN_DIR,
    SOUND_DIR,
    final_segments,
    name_for,
    raw_name_time,
    raw_path_for,
    raw_segments,
)
from nvr_console.core.schedule.boundaries import slot_of_epoch
from nvr_console.core.system import process_group

log = logging.getLogger(__name__)


def reap(root: Path) -> None:
    """Stop FFmpeg a previous engine of this machine left running (before any recorder of ours starts)."""
    stopped = process_group.reap_leftovers(root / RUN_DIR)
    if stopped:
        log.warning("stopped %d FFmpeg process(es) left running by a previous engine", len(stopped))


def plan_recovery(db: Database, root: Path, segment_length: float, zone: ZoneInfo | None, *, node: str = "",
                  before: float | None = None, reap_first: bool = True) -> list[FinalizeJob]:
    """Stop leftover FFmpeg (`reap_first`), then list the jobs that finish every interrupted segment of this
    node: its rows still `recording`/`finalizing` and raw files on its disk without a row. `before` (epoch s):
    only raw files opened before then, by an earlier process (later ones are this process's own: its
    recorders write them, its finalizing takes them). Blocking, any thread."""
    if reap_first:
        reap(root)
    adopt_legacy_rows(db, node)
    jobs: list[FinalizeJob] = []
    seen: set[Path] = set()
    sounds = _sound_pieces(root, zone)
    cutoff = name_for(datetime.fromtimestamp(before, zone) if zone is not None else
                      datetime.fromtimestamp(before)) if before is not None else None
    with db.session() as s:
        # A database with no recording at all was just made (a damaged one moved aside): the files already on
        # disk are registered again. Asked once, before anything below adds rows.
        fresh = s.scalar(select(Recording.id).limit(1)) is None
        rows = list(s.scalars(select(Recording).where(Recording.node == node, Recording.status.in_(
            [RecordingStatus.RECORDING, RecordingStatus.FINALIZING]))))
        cams = {(c.room.name, c.name): c.id for c in s.scalars(select(Camera).join(Room))}
        for row in rows:
            raw = raw_path_for(Path(row.local_path))
            seen.add(raw)
            if cutoff is not None and raw.name >= cutoff:
                continue  # this process's own: being written now, or already in its finalizing
            jobs.append(_job(row.id, row.camera_id, row.room_name, row.camera_name, raw, zone, sounds))
    if root.is_dir():
        for room_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            for cam_dir in sorted(p for p in room_dir.iterdir() if p.is_dir() and p.name != SOUND_DIR):
                for partial in cam_dir.glob(f"*/.*{PARTIAL_SUFFIX}"):
                    partial.unlink(missing_ok=True)  # a remux cut short; its raw file is still there
                for raw in raw_segments(cam_dir):
                    if raw in seen or (cutoff is not None and raw.name >= cutoff):
                        continue
                    named = raw_name_time(raw, zone)
                    when = named.timestamp() if named else raw.stat().st_mtime
                    slot = slot_of_epoch(when, segment_length, zone).astimezone(UTC)
                    rid = register_segment(db, cams.get((room_dir.name, cam_dir.name)), room_dir.name, cam_dir.name,
                                           raw, slot, RecordingStatus.FINALIZING, node=node)
                    jobs.append(_job(rid, cams.get((room_dir.name, cam_dir.name)), room_dir.name, cam_dir.name,
                                     raw, zone, sounds))
                if fresh:
                    jobs += _unregistered_finals(db, cam_dir, cams.get((room_dir.name, cam_dir.name)),
                                                 room_dir.name, segment_length, zone, node)
    if jobs:
        log.info("recovering %d segment(s) left by an unclean stop", len(jobs))
    return jobs


def _unregistered_finals(db: Database, cam_dir: Path, camera_id: int | None, room: str, segment_length: float,
                         zone: ZoneInfo | None, node: str = "") -> list[FinalizeJob]:
    """Finished MP4s with no row, in a database started afresh (a damaged one moved aside). Each gets its row
    back and is queued for upload like any recovered file; nothing is deleted (its raw file is gone, so the
    finalizer only reads the MP4 and marks the row ready). Only for a fresh database: listing every finished
    file costs about 0.7 s per 30,000 files, and with rows in place a file without one is not ours to judge
    (another node's, or kept on purpose)."""
    finals = final_segments(cam_dir)
    if not finals:
        return []
    keys = {path_key(str(p)): p for p in finals}
    wanted = list(keys)
    known: set[str] = set()
    with db.session() as s:
        for i in range(0, len(wanted), 500):  # bound the IN list (SQLite limits bound parameters)
            known.update(s.scalars(select(Recording.local_path_key).where(
                Recording.node == node, Recording.local_path_key.in_(wanted[i:i + 500]))))
    jobs = []
    for key, final in keys.items():
        raw = raw_path_for(final)
        named = raw_name_time(raw, zone)
        if key in known or named is None or raw.exists():
            continue
        slot = slot_of_epoch(named.timestamp(), segment_length, zone).astimezone(UTC)
        rid = register_segment(db, camera_id, room, cam_dir.name, raw, slot, RecordingStatus.FINALIZING, node=node)
        jobs.append(FinalizeJob(rid, camera_id, room, cam_dir.name, raw, named.timestamp(), None, recovery=True))
    if jobs:
        log.warning("%s/%s: %d finished file(s) had no row in the database; registered them for upload", room,
                    cam_dir.name, len(jobs))
    return jobs


def _job(rid: int, camera_id: int | None, room: str, camera: str, raw: Path, zone: ZoneInfo | None,
         sounds: dict[str, list[SoundPiece]]) -> FinalizeJob:
    named = raw_name_time(raw, zone)
    start = named.timestamp() if named else None
    chosen: tuple[SoundPiece, ...] = ()
    note = ""
    if sounds.get(room) and start is not None:
        # Names have 1 s resolution: the best a crash leaves us. The sound piece opened last before (or within
        # a second after) the video covers its start, or the one before it does; the video runs on past the
        # next boundary (a camera cuts at the keyframe after it) into the piece after that. The finalizer keeps
        # the ones heard, trimmed to the video.
        timed = sorted((p for p in sounds[room] if p.wall_start is not None), key=lambda p: p.wall_start or 0.0)
        first = max((i for i, p in enumerate(timed) if (p.wall_start or 0.0) <= start + 1.0), default=None)
        if first is not None:
            chosen = tuple(timed[max(first - 1, 0):first + 2])
        else:
            note = "room audio missing: no sound source file covers this recovered segment"
    return FinalizeJob(rid, camera_id, room, camera, raw, start, None, chosen, note, recovery=True)


def _sound_pieces(root: Path, zone: ZoneInfo | None) -> dict[str, list[SoundPiece]]:
    out: dict[str, list[SoundPiece]] = {}
    if not root.is_dir():
        return out
    for room_dir in root.iterdir():
        d = room_dir / SOUND_DIR
        if d.is_dir():
            pieces = []
            for raw in raw_segments(d):
                named = raw_name_time(raw, zone)
                pieces.append(SoundPiece(raw, named.timestamp() if named else None, None))
            out[room_dir.name] = pieces
    return out
