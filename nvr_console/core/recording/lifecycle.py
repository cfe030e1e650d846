"""The life of a Recording row: which status may follow which, and the only code that changes it.

    recording --> finalizing --> ready --> uploading --> uploaded
        |  \\________________/    ^  |   ^   |  |  \\
        |           |            |  |   |___|  |   +--> lost (the local file vanished)
        +-----------+--> failed  |  |  (takeover of an expired claim)
                           |     |  +------------------> failed
                           +-----+  (operator retry)    (released: retry later, stop, dead claimer -> ready)

Each move is one named function that also sets the timestamps and fields it implies, written as one
conditional `UPDATE ... WHERE id = ? AND status IN (its from-states)`: of two threads or processes doing
the same step at once exactly one wins (True), the other changes nothing (False).

A miss is a lost race when the row's present status can follow one of the from-states (someone else moved
it on first: a second finalizer, a claim taken over after its lease ran out). Any other present status
means the caller's idea of the row is impossible: IllegalTransition, a bug to fix, never a silent no-op.

Every function runs on the calling thread with a short session of its own (engine thread, finalizer and
upload workers, CLI).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.catalog import path_key
from nvr_console.core.db.models import Camera, Recording, RecordingStatus
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.db.types import utcnow
from nvr_console.core.recording.segment_names import final_path_for

log = logging.getLogger(__name__)

S = RecordingStatus

# The allowed moves, and nothing else: from-status -> statuses it may become.
ALLOWED: dict[RecordingStatus, frozenset[RecordingStatus]] = {
    S.RECORDING: frozenset({S.FINALIZING, S.READY, S.FAILED}),  # READY/FAILED: recovery finishes it directly
    S.FINALIZING: frozenset({S.READY, S.FAILED}),
    S.READY: frozenset({S.UPLOADING, S.READY}),  # READY -> READY: an operator retry resets its attempts
    S.UPLOADING: frozenset({S.UPLOADING, S.UPLOADED, S.READY, S.FAILED, S.LOST}),
    S.FAILED: frozenset({S.READY}),
    S.UPLOADED: frozenset(),
    S.LOST: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A move the table does not allow: names the row, where it is, where it was asked to go, and from where."""

    def __init__(self, recording_id: int, move: str, current: RecordingStatus, target: RecordingStatus,
                 sources: Iterable[RecordingStatus]) -> None:
        allowed = ", ".join(sorted(s.value for s in sources))
        super().__init__(f"recording {recording_id} is {current.value}: it cannot {move} (-> {target.value}); "
                         f"that move is allowed only from {allowed}")
        self.recording_id = recording_id
        self.current = current
        self.target = target


@dataclass(frozen=True)
class Transition:
    """One named move: from any of `sources` to `target`."""

    name: str
    sources: frozenset[RecordingStatus]
    target: RecordingStatus

    def __post_init__(self) -> None:
        for source in self.sources:
            if self.target not in ALLOWED[source]:
                raise ValueError(f"{self.name}: {source.value} -> {self.target.value} is not in lifecycle.ALLOWED")


def _t(name: str, sources: set[RecordingStatus], target: RecordingStatus) -> Transition:
    return Transition(name, frozenset(sources), target)


BEGIN_FINALIZING = _t("begin finalizing", {S.RECORDING}, S.FINALIZING)
FINALIZED = _t("be marked finalized", {S.RECORDING, S.FINALIZING}, S.READY)
FINALIZE_FAILED = _t("fail finalizing", {S.RECORDING, S.FINALIZING}, S.FAILED)
CLAIM = _t("be claimed for upload", {S.READY, S.UPLOADING}, S.UPLOADING)
UPLOADED = _t("be marked uploaded", {S.UPLOADING}, S.UPLOADED)
RELEASE = _t("be released to the queue", {S.UPLOADING}, S.READY)
UPLOAD_FAILED = _t("fail its upload", {S.UPLOADING}, S.FAILED)
LOST = _t("be marked lost", {S.UPLOADING}, S.LOST)
REQUEUE = _t("be queued again", {S.FAILED, S.READY}, S.READY)

TRANSITIONS: tuple[Transition, ...] = (
    BEGIN_FINALIZING, FINALIZED, FINALIZE_FAILED, CLAIM, UPLOADED, RELEASE, UPLOAD_FAILED, LOST, REQUEUE,
)


def reachable(sources: Iterable[RecordingStatus]) -> frozenset[RecordingStatus]:
    """Every status a row can reach from `sources` in one or more allowed moves."""
    seen: set[RecordingStatus] = set()
    todo = [t for s in sources for t in ALLOWED[s]]
    while todo:
        status = todo.pop()
        if status not in seen:
            seen.add(status)
            todo.extend(ALLOWED[status])
    return frozenset(seen)


def _move(db: Database, t: Transition, recording_id: int, values: dict[str, Any],
          where: Sequence[ColumnElement[bool]] = ()) -> bool:
    with db.session() as s:
        changed = rows_changed(
            s,
            update(Recording)
            .where(Recording.id == recording_id, Recording.status.in_(t.sources), *where)
            .values(status=t.target, **values)
            .execution_options(synchronize_session=False),
        )
        if changed == 1:
            return True
        current = s.scalar(select(Recording.status).where(Recording.id == recording_id))
    if current is None or current in reachable(t.sources):
        return False
    raise IllegalTransition(recording_id, t.name, current, t.target, t.sources)


# --- the birth of a row ------------------------------------------------------------------------------


def register_segment(db: Database, camera_id: int | None, room: str, camera: str, raw: Path,
                     slot_start: datetime, status: RecordingStatus = RecordingStatus.RECORDING, *,
                     node: str = "", lease_token: int | None = None, start_time: datetime | None = None) -> int:
    """The Recording row for a raw segment of node `node`, keyed by its FINAL path; idempotent. Any thread.

    `status` is `recording` (FFmpeg is writing it) or `finalizing` (recovery found it closed); an existing
    row in `recording` then begins finalizing. A camera removed meanwhile leaves the row named by room and
    camera only. `lease_token`: the token the node held for the camera when the piece began (None: none).
    `start_time`: when the piece began as its raw name says (1 s), shown while it is recorded; finalizing sets
    the exact one.
    """
    if status not in (S.RECORDING, S.FINALIZING):
        raise ValueError(f"a new recording starts as recording or finalizing, not {status.value}")
    final = str(final_path_for(raw))
    key = path_key(final)
    for attempt in range(3):
        try:
            with db.session() as s:
                if camera_id is not None and s.get(Camera, camera_id) is None:
                    camera_id = None
                rid = s.scalar(select(Recording.id).where(Recording.node == node, Recording.local_path_key == key))
                if rid is None:
                    row = Recording(camera_id=camera_id, room_name=room, camera_name=camera, slot_start=slot_start,
                                    local_path=final, local_path_key=key, status=status, node=node,
                                    lease_token=lease_token, start_time=start_time)
                    s.add(row)
                    s.flush()
                    return int(row.id)
        except IntegrityError:
            # Another process registered the same file, or the camera was deleted between the look and the
            # insert (its foreign key): look again.
            if attempt == 2:
                raise
            continue
        if status is S.FINALIZING:
            begin_finalizing(db, rid)
        return int(rid)
    raise AssertionError("unreachable")


# --- finalizing ---------------------------------------------------------------------------------------


def begin_finalizing(db: Database, recording_id: int) -> bool:
    """recording -> finalizing: FFmpeg closed the file; the finalizer takes it."""
    return _move(db, BEGIN_FINALIZING, recording_id, {})


def mark_finalized(db: Database, recording_id: int, *, size: int, duration: float, notes: str,
                   start_time: datetime | None, end_time: datetime | None, damaged: str | None = None) -> bool:
    """-> ready: the final MP4 is on disk; the row waits in the upload queue. `damaged` says why its media
    cannot be trusted (duration_check), None for a sound file: a damaged file is uploaded like any other."""
    return _move(db, FINALIZED, recording_id, {
        "size": size, "duration": duration, "notes": notes, "start_time": start_time, "end_time": end_time,
        "last_error": None, "damaged": damaged,
    })


def mark_finalize_failed(db: Database, recording_id: int, *, reason: str, start_time: datetime | None) -> bool:
    """-> failed: the segment cannot be made into an MP4 (its raw file is kept); the reason goes in the row."""
    return _move(db, FINALIZE_FAILED, recording_id, {"last_error": reason, "notes": reason, "start_time": start_time})


# --- the upload queue ---------------------------------------------------------------------------------


def upload_eligible(now: datetime) -> ColumnElement[bool]:
    """Rows a worker may claim now: ready and due, or uploading with a claim whose lease ran out."""
    return or_(
        and_(Recording.status == S.READY,
             or_(Recording.next_attempt_at.is_(None), Recording.next_attempt_at <= now)),
        # A claim whose lease ran out: its worker (or whole process) died.
        and_(Recording.status == S.UPLOADING,
             or_(Recording.next_attempt_at.is_(None), Recording.next_attempt_at < now)),
    )


def claim_upload(db: Database, recording_id: int, *, now: datetime, lease_until: datetime, node: str) -> bool:
    """-> uploading, if still eligible at `now`: `next_attempt_at` becomes the claim's lease expiry."""
    return _move(db, CLAIM, recording_id, {"next_attempt_at": lease_until, "claimed_by": node},
                 where=(upload_eligible(now),))


def mark_uploaded(db: Database, recording_id: int, *, destination: str, file_id: str | None, folder_id: str | None,
                  web_link: str | None, folder_link: str | None, md5: str, size: int) -> bool:
    """uploading -> uploaded: verified (size + MD5) at the destination. The only way a row gets there, so the
    only way its local file may go."""
    return _move(db, UPLOADED, recording_id, {
        "destination": destination, "drive_file_id": file_id, "drive_folder_id": folder_id, "web_link": web_link,
        "folder_link": folder_link, "md5": md5, "size": size, "uploaded_at": utcnow(), "upload_session_uri": None,
        "bytes_confirmed": size, "last_error": None, "next_attempt_at": None,
    })


def release_upload(db: Database, recording_id: int, *, error: str | None, retry_at: datetime | None,
                   count_attempt: bool, keep_session: bool = True) -> bool:
    """uploading -> ready: give a claim back (after an error, or on stop), due again at `retry_at`; the upload
    session is kept to resume unless `keep_session` is False."""
    values: dict[str, Any] = {"next_attempt_at": retry_at}
    if error is not None:
        values["last_error"] = error
    if count_attempt:
        values["attempts"] = Recording.attempts + 1
    if not keep_session:
        values["upload_session_uri"] = None
        values["bytes_confirmed"] = 0
    return _move(db, RELEASE, recording_id, values)


def reclaim_uploads(db: Database, recording_ids: Sequence[int]) -> int:
    """uploading -> ready at once, for claims of a dead engine; returns how many rows moved."""
    if not recording_ids:
        return 0
    with db.session() as s:
        return rows_changed(
            s,
            update(Recording)
            .where(Recording.id.in_(recording_ids), Recording.status.in_(RELEASE.sources))
            .values(status=RELEASE.target, next_attempt_at=None, claimed_by=None)
            .execution_options(synchronize_session=False),
        )


def mark_upload_failed(db: Database, recording_id: int, error: str) -> bool:
    """uploading -> failed: cannot be uploaded without the operator (`requeue` puts it back)."""
    return _move(db, UPLOAD_FAILED, recording_id,
                 {"last_error": error, "next_attempt_at": None, "attempts": Recording.attempts + 1})


def mark_lost(db: Database, recording_id: int, error: str) -> bool:
    """uploading -> lost: the local file vanished before it was uploaded."""
    return _move(db, LOST, recording_id,
                 {"last_error": error, "next_attempt_at": None, "attempts": Recording.attempts + 1})


def requeue(db: Database, recording_id: int) -> bool:
    """failed or ready -> ready, due now with a fresh count of attempts (the operator's retry)."""
    return _move(db, REQUEUE, recording_id, {"next_attempt_at": None, "attempts": 0, "last_error": None})
