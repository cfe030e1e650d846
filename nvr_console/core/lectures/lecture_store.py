"""The one owner of lecture rows and their states, and of each lecture file's claim (the calendar's side of the
rows, many rooms at once, is lecture_sync's: the same conditional writes).

Lecture states and the named transitions between them:

    scheduled --start_recording--> recording --begin_assembly--> assembling --finish--> delivered | incomplete
    scheduled | recording --(calendar: gone)--> cancelled --(calendar: back)--> scheduled
    any but delivered/incomplete/assembling --(calendar: no_record)--> skipped
    delivered | incomplete | assembling --redo--> assembling (files pending again, version bumped)

Every write is conditional on what was read (state, `version`), and rows are keyed by (room, UID, RECURRENCE-ID)
with a unique key, so two nodes refreshing or delivering at once cannot both win or duplicate a row. Times
of claims are the database's (fleet.dbtime). Blocking (database): any thread but the UI's.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Lecture, LectureFile, LectureFileState, LectureState
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.db.types import utcnow
from nvr_console.core.lectures.lecture_sync import OPEN as OPEN  # re-exported: the states the calendar may change
from nvr_console.core.lectures.lecture_sync import (
    RoomOccurrences,
    split_categories,
    sync_rooms,
)
from nvr_console.core.lectures.lecture_sync import SyncResult as SyncResult
from nvr_console.core.lectures.timetable_parse import Occurrence

log = logging.getLogger(__name__)

FINISHED = (LectureState.DELIVERED.value, LectureState.INCOMPLETE.value)


@dataclass(frozen=True)
class LectureInfo:
    id: int
    room_id: int
    room: str
    uid: str
    recurrence_id: str
    title: str
    organizer: str
    start: datetime
    end: datetime
    state: str
    private_reason: str
    coverage: float | None
    notes: str
    web_link: str | None
    delivered_at: datetime | None
    version: int
    categories: tuple[str, ...] = ()

    def public(self) -> dict[str, object]:
        return {"id": self.id, "room": self.room, "uid": self.uid, "recurrence_id": self.recurrence_id,
                "title": self.title, "organizer": self.organizer, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "state": self.state, "private_reason": self.private_reason,
                "categories": list(self.categories),
                "coverage": self.coverage, "notes": self.notes, "link": self.web_link,
                "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None}


@dataclass(frozen=True)
class FileInfo:
    id: int
    lecture_id: int
    camera_id: int | None
    camera: str
    state: str
    claimed_by: str | None
    claim_token: int
    lecture_version: int
    name: str
    coverage: float | None
    gaps: str
    size: int | None
    md5: str | None
    destination: str | None
    web_link: str | None
    folder_link: str | None
    attempts: int
    last_error: str
    delivered_at: datetime | None
    upload_session_uri: str | None = None  # the claimant's Drive session (resumed by a node taking over)
    upload_offset: int = 0
    upload_size: int | None = None

    def public(self) -> dict[str, object]:
        return {"camera": self.camera, "state": self.state, "name": self.name, "coverage": self.coverage,
                "gaps": self.gaps, "size": self.size, "md5": self.md5, "destination": self.destination,
                "link": self.web_link, "folder": self.folder_link, "claimed_by": self.claimed_by,
                "attempts": self.attempts, "last_error": self.last_error,
                "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None}


def _info(r: Lecture) -> LectureInfo:
    return LectureInfo(r.id, r.room_id, r.room_name, r.uid, r.recurrence_id, r.title, r.organizer, r.start, r.end,
                       r.state, r.private_reason, r.coverage, r.notes, r.web_link, r.delivered_at, r.version,
                       split_categories(r.categories))


def _file(f: LectureFile) -> FileInfo:
    return FileInfo(f.id, f.lecture_id, f.camera_id, f.camera_name, f.state, f.claimed_by, f.claim_token,
                    f.lecture_version, f.name, f.coverage, f.gaps, f.size, f.md5, f.destination, f.web_link,
                    f.folder_link, f.attempts, f.last_error, f.delivered_at, f.upload_session_uri, f.upload_offset,
                    f.upload_size)


# --- the calendar's side (lecture_sync for many rooms at once) ------------------------------------------------


def sync(db: Database, room_id: int, room: str, occurrences: list[Occurrence], span_start: datetime,
         span_end: datetime) -> SyncResult:
    """Bring the room's lectures starting in [span_start, span_end) in line with the calendar's occurrences:
    new ones added, edited ones changed, vanished ones cancelled, privacy matches skipped. Lectures already
    assembling or delivered are not changed (`lectures redo` builds them again)."""
    return sync_rooms(db, [RoomOccurrences(room_id, room, occurrences)], span_start, span_end)[room_id]


def _move(db: Database, seen: LectureInfo, state: str, **values: object) -> bool:
    """The one conditional write of a lecture: only from the state and version that were read."""
    with db.session() as s:
        return bool(rows_changed(s, update(Lecture).where(
            Lecture.id == seen.id, Lecture.state == seen.state, Lecture.version == seen.version)
            .values(state=state, updated_at=utcnow(), **values)))


# --- the recorder's and the assembler's side ----------------------------------------------------------------


def start_recording(db: Database, now: datetime) -> int:
    """scheduled -> recording for every lecture that has started (it stays so through its post-roll, until it is
    assembled)."""
    with db.session() as s:
        return rows_changed(s, update(Lecture).where(
            Lecture.state == LectureState.SCHEDULED.value, Lecture.start <= now)
            .values(state=LectureState.RECORDING.value, updated_at=utcnow()))


def due(db: Database, ended_before: datetime, limit: int = 50) -> list[LectureInfo]:
    """Lectures to assemble: ended (+ post-roll) before `ended_before` and not yet assembled, oldest first; and
    lectures assembling (a redo, or a node that died mid-way)."""
    with db.session() as s:
        return [_info(r) for r in s.scalars(select(Lecture).where(or_(
            and_(Lecture.state.in_(OPEN), Lecture.end <= ended_before),
            Lecture.state == LectureState.ASSEMBLING.value)).order_by(Lecture.end, Lecture.id).limit(limit))]


def begin_assembly(db: Database, lecture: LectureInfo, camera_ids: list[tuple[int, str]],
                   holder_grace_s: float = 0.0) -> bool:
    """scheduled/recording -> assembling, with one pending file row per camera (unique per lecture and camera).
    The rows come first, so a node that sees the lecture assembling sees its files. For `holder_grace_s` (database
    time) only the node holding a camera claims its file (its pieces are on that node's disk); then any node."""
    for camera_id, name in camera_ids:
        try:
            with db.session() as s:
                s.add(LectureFile(lecture_id=lecture.id, camera_id=camera_id, camera_name=name,
                                  state=LectureFileState.PENDING.value, lecture_version=lecture.version, gaps="",
                                  last_error="", claim_expires=db_now(holder_grace_s)))
        except IntegrityError:
            pass  # another node made it
    return lecture.state not in OPEN or _move(db, lecture, LectureState.ASSEMBLING.value)


def _claimable(mine: Collection[int] | None) -> ColumnElement[bool]:
    """Pending (past the holder's grace, unless the camera is one of `mine`: this node holds it, or nobody
    does; None: any camera), or assembling by a claimant that stopped renewing."""
    pending: ColumnElement[bool] = LectureFile.state == LectureFileState.PENDING.value
    if mine is not None:
        pending = and_(pending, or_(LectureFile.claim_expires.is_(None), LectureFile.claim_expires < db_now(),
                                    LectureFile.camera_id.in_(sorted(mine) or [-1])))
    return or_(pending, and_(LectureFile.state == LectureFileState.ASSEMBLING.value,
                             LectureFile.claim_expires < db_now()))


def claim_file(db: Database, lecture_id: int, node: str, ttl_s: float,
               mine: Collection[int] | None = None) -> FileInfo | None:
    """Claim one file of the lecture that is pending, or whose claimant stopped renewing (died): a conditional
    update on the token read, so of two nodes claiming at once one wins. `mine`: see _claimable."""
    with db.session() as s:
        candidates = list(s.execute(select(LectureFile.id, LectureFile.claim_token).where(
            LectureFile.lecture_id == lecture_id, _claimable(mine)).order_by(LectureFile.id)).all())
    for file_id, token in candidates:
        with db.session() as s:
            won = rows_changed(s, update(LectureFile).where(
                LectureFile.id == file_id, LectureFile.claim_token == token, _claimable(mine))
                .values(state=LectureFileState.ASSEMBLING.value, claimed_by=node, claim_token=token + 1,
                        claim_expires=db_now(ttl_s), attempts=LectureFile.attempts + 1, updated_at=utcnow()))
            if won:
                row = s.get(LectureFile, file_id)
                assert row is not None
                s.refresh(row)
                return _file(row)
    return None


def renew_claim(db: Database, file_id: int, token: int, ttl_s: float) -> bool:
    """Keep the claim while working; False when it was lost (expired and taken over, or redone)."""
    with db.session() as s:
        return bool(rows_changed(s, update(LectureFile).where(
            LectureFile.id == file_id, LectureFile.claim_token == token,
            LectureFile.state == LectureFileState.ASSEMBLING.value).values(claim_expires=db_now(ttl_s))))


def file_done(db: Database, file_id: int, token: int, *, state: LectureFileState, **values: object) -> bool:
    """The claimed file is delivered (done, verified) or there was nothing to deliver (empty); only by the
    holder of the claim."""
    with db.session() as s:
        return bool(rows_changed(s, update(LectureFile).where(
            LectureFile.id == file_id, LectureFile.claim_token == token,
            LectureFile.state == LectureFileState.ASSEMBLING.value).values(
            state=state.value, claimed_by=None, claim_expires=None, delivered_at=utcnow(), last_error="",
            upload_session_uri=None, upload_offset=0, upload_size=None, updated_at=utcnow(), **values)))


def save_upload(db: Database, file_id: int, token: int, session_uri: str | None, offset: int, size: int) -> bool:
    """The claimant's upload session and the bytes Drive confirmed (None: none open); False when the claim was
    lost (the caller stops)."""
    with db.session() as s:
        return bool(rows_changed(s, update(LectureFile).where(
            LectureFile.id == file_id, LectureFile.claim_token == token,
            LectureFile.state == LectureFileState.ASSEMBLING.value).values(
            upload_session_uri=session_uri, upload_offset=offset if session_uri else 0,
            upload_size=size if session_uri else None)))


def file_failed(db: Database, file_id: int, token: int, error: str, retry_in_s: float) -> None:
    """The claimed file failed; it is tried again after `retry_in_s` (by any node)."""
    with db.session() as s:
        s.execute(update(LectureFile).where(LectureFile.id == file_id, LectureFile.claim_token == token,
                                            LectureFile.state == LectureFileState.ASSEMBLING.value)
                  .values(claim_expires=db_now(retry_in_s), claimed_by=None, last_error=error[:4000],
                          updated_at=utcnow()))


def finish(db: Database, lecture_id: int, coverage_under: float | None) -> LectureInfo | None:
    """assembling -> delivered (every camera covered) or incomplete, once every file is done or empty."""
    with db.session() as s:
        row = s.get(Lecture, lecture_id)
        if row is None or row.state != LectureState.ASSEMBLING.value:
            return None
        seen = _info(row)
        files = [_file(f) for f in s.scalars(select(LectureFile).where(LectureFile.lecture_id == lecture_id))]
    if not files or any(f.state not in (LectureFileState.DONE.value, LectureFileState.EMPTY.value) for f in files):
        return None
    coverage = min((f.coverage or 0.0) for f in files)
    notes = "\n".join(f"{f.camera}: {f.gaps}" for f in files if f.gaps)
    link = next((f.folder_link for f in files if f.folder_link), None)
    complete = coverage >= (coverage_under if coverage_under is not None else 0.99)
    state = LectureState.DELIVERED.value if complete and not notes else LectureState.INCOMPLETE.value
    if not _move(db, seen, state, coverage=coverage, notes=notes, web_link=link, delivered_at=utcnow()):
        return None
    return get(db, lecture_id)


def redo(db: Database, lecture_id: int) -> LectureInfo:
    """`lectures redo ID`: assemble and deliver again (e.g. a late piece arrived)."""
    seen = get(db, lecture_id)
    if seen is None:
        raise LookupError(f"no lecture with id {lecture_id}; `nvr-console lectures list` shows them")
    if seen.state not in (*FINISHED, LectureState.ASSEMBLING.value):
        raise ValueError(f"lecture {lecture_id} is {seen.state}: only a delivered, incomplete or assembling lecture "
                         "can be redone")
    if not _move(db, seen, LectureState.ASSEMBLING.value, version=seen.version + 1, delivered_at=None,
                 notice_attempts=0, notice_after=None, notice_error=None):
        raise ValueError(f"lecture {lecture_id} changed meanwhile; try again")
    with db.session() as s:
        s.execute(update(LectureFile).where(LectureFile.lecture_id == lecture_id).values(
            state=LectureFileState.PENDING.value, claimed_by=None, claim_expires=None,
            claim_token=LectureFile.claim_token + 1, lecture_version=seen.version + 1, upload_session_uri=None,
            upload_offset=0, upload_size=None, updated_at=utcnow()))
    out = get(db, lecture_id)
    assert out is not None
    return out


# --- the delivery notice (lectures.notify_organizer) ---------------------------------------------------------


def _notice_owed() -> ColumnElement[bool]:
    return and_(Lecture.state.in_(FINISHED), Lecture.notice_version < Lecture.version,
                or_(Lecture.notice_after.is_(None), Lecture.notice_after < db_now()))


def notices_owed(db: Database, delivered_since: datetime, max_attempts: int, limit: int = 20) -> list[LectureInfo]:
    """Finished lectures (delivered since `delivered_since`) whose current version's notice was neither sent nor
    given up (`max_attempts`), and not waiting for a retry."""
    with db.session() as s:
        return [_info(r) for r in s.scalars(select(Lecture).where(
            _notice_owed(), Lecture.notice_attempts < max_attempts, Lecture.delivered_at >= delivered_since)
            .order_by(Lecture.delivered_at, Lecture.id).limit(limit))]


def claim_notice(db: Database, lecture: LectureInfo, max_attempts: int) -> bool:
    """Take the right to send this version's notice: of several nodes one wins, and a version's notice is
    claimed before it is sent, so it goes out at most once (a node dying mid-send loses it, never doubles it)."""
    with db.session() as s:
        return bool(rows_changed(s, update(Lecture).where(
            Lecture.id == lecture.id, Lecture.version == lecture.version, _notice_owed(),
            Lecture.notice_attempts < max_attempts)
            .values(notice_version=lecture.version, notice_attempts=Lecture.notice_attempts + 1,
                    updated_at=utcnow())))


def notice_sent(db: Database, lecture: LectureInfo) -> None:
    with db.session() as s:
        s.execute(update(Lecture).where(Lecture.id == lecture.id, Lecture.notice_version == lecture.version)
                  .values(notice_sent_at=utcnow(), notice_error="", updated_at=utcnow()))


def notice_failed(db: Database, lecture: LectureInfo, error: str, retry_in_s: float | None) -> None:
    """Not sent (the server refused or was away): owed again after `retry_in_s` (None: given up, the error
    kept for `lectures show`)."""
    values: dict[str, object] = {"notice_error": error[:4000], "updated_at": utcnow()}
    if retry_in_s is not None:
        values.update(notice_version=lecture.version - 1, notice_after=db_now(retry_in_s))
    with db.session() as s:
        s.execute(update(Lecture).where(Lecture.id == lecture.id, Lecture.notice_version == lecture.version)
                  .values(**values))


def notice_status(db: Database, lecture_id: int) -> tuple[datetime | None, str, int]:
    """(sent at, last error, attempts) of the lecture's notice."""
    with db.session() as s:
        row = s.execute(select(Lecture.notice_sent_at, Lecture.notice_error, Lecture.notice_attempts)
                        .where(Lecture.id == lecture_id)).one_or_none()
    return (row[0], row[1] or "", row[2]) if row is not None else (None, "", 0)


# --- reading -------------------------------------------------------------------------------------------------


def get(db: Database, lecture_id: int) -> LectureInfo | None:
    with db.session() as s:
        row = s.get(Lecture, lecture_id)
        return _info(row) if row is not None else None


def files_of(db: Database, lecture_id: int) -> list[FileInfo]:
    with db.session() as s:
        return [_file(f) for f in s.scalars(select(LectureFile).where(LectureFile.lecture_id == lecture_id)
                                            .order_by(LectureFile.camera_name))]


def between(db: Database, start: datetime, end: datetime, room: str | None = None) -> list[LectureInfo]:
    """Lectures starting in [start, end), by start."""
    with db.session() as s:
        q = select(Lecture).where(Lecture.start >= start, Lecture.start < end)
        if room is not None:
            q = q.where(Lecture.room_name == room)
        return [_info(r) for r in s.scalars(q.order_by(Lecture.start, Lecture.room_name, Lecture.id))]


def overlapping(db: Database, start: datetime, end: datetime, room: str | None = None) -> list[LectureInfo]:
    """Lectures with any part in [start, end) (a day's, for the Recordings timeline: also one that began the
    evening before), by start."""
    with db.session() as s:
        q = select(Lecture).where(Lecture.start < end, Lecture.end > start)
        if room is not None:
            q = q.where(Lecture.room_name == room)
        return [_info(r) for r in s.scalars(q.order_by(Lecture.start, Lecture.room_name, Lecture.id))]


def recording_windows(db: Database, room_ids: list[int], start: datetime, end: datetime, pre_roll_s: float,
                      post_roll_s: float) -> list[tuple[int, datetime, datetime]]:
    """(room id, from, until) of every lecture of `room_ids` to record whose window (pre-roll before its start
    to post-roll after its end) overlaps [start, end); skipped and cancelled lectures are not recorded."""
    if not room_ids:
        return []
    pre, post = timedelta(seconds=pre_roll_s), timedelta(seconds=post_roll_s)
    with db.session() as s:
        rows = s.execute(select(Lecture.room_id, Lecture.start, Lecture.end).where(
            Lecture.room_id.in_(room_ids),
            Lecture.state.not_in([LectureState.CANCELLED.value, LectureState.SKIPPED.value]),
            Lecture.start < end + pre, Lecture.end > start - post)).all()
    return [(rid, a - pre, b + post) for rid, a, b in rows]
