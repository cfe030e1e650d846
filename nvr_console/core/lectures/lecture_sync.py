"""The calendar's side of the lecture rows: bring the lectures of many rooms in line with their calendars' occurrences
in a few statements per group of rooms (lecture_store.sync is the same for one room).

New occurrences are added, edited ones changed, vanished ones cancelled, privacy matches skipped; lectures already
assembling or delivered are not changed (`lectures redo` builds them again). One read of the rooms' rows, then
one write transaction per group of rooms: each insert ignores a row another node added a moment ago (the unique
key on room, UID and RECURRENCE-ID), and each change is conditional on the state and version read, so two nodes
refreshing at once cannot both win; every statement's own count says whether it did. The read is its own
transaction (SQLite cannot turn a reading snapshot into a writer once another connection wrote). Blocking
(database): any thread but the UI's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db.models import Lecture, LectureState
from nvr_console.core.db.session import Database
from nvr_console.core.db.types import utcnow
from nvr_console.core.lectures.timetable_parse import Occurrence

log = logging.getLogger(__name__)

OPEN = (LectureState.SCHEDULED.value, LectureState.RECORDING.value)  # the calendar may still change these
EDITABLE = (*OPEN, LectureState.CANCELLED.value, LectureState.SKIPPED.value)
ROOMS_PER_TRANSACTION = 25  # bounds how long another node's refresh may wait on these rows (MariaDB)

_T = cast(Table, Lecture.__table__)
_COLUMNS = (_T.c.id, _T.c.room_id, _T.c.uid_key, _T.c.recurrence_id, _T.c.uid, _T.c.title, _T.c.organizer,
            _T.c.start, _T.c.end, _T.c.state, _T.c.private_reason, _T.c.categories, _T.c.version)
# Built once: their compiled forms are reused for every row.
_INSERT = insert(_T).prefix_with("OR IGNORE", dialect="sqlite").prefix_with("IGNORE", dialect="mysql") \
    .prefix_with("IGNORE", dialect="mariadb")
_READ_AS = and_(_T.c.id == bindparam("b_id"), _T.c.state == bindparam("b_state"),
                _T.c.version == bindparam("b_version"))
_CHANGE = update(_T).where(_READ_AS).values(
    state=bindparam("n_state"), start=bindparam("n_start"), end=bindparam("n_end"), title=bindparam("n_title"),
    organizer=bindparam("n_organizer"), private_reason=bindparam("n_private"), categories=bindparam("n_categories"),
    version=bindparam("n_version"), updated_at=bindparam("n_updated"))
_CANCEL = update(_T).where(_READ_AS).values(state=bindparam("n_state"), version=bindparam("n_version"),
                                            updated_at=bindparam("n_updated"))


@dataclass(frozen=True)
class SyncResult:
    added: int = 0
    changed: int = 0
    cancelled: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class RoomOccurrences:
    """What a room's calendar says for the span."""

    room_id: int
    room: str
    occurrences: Sequence[Occurrence]


def join_categories(categories: tuple[str, ...]) -> str:
    """The event's categories as stored (commas inside a category would split it: they become spaces)."""
    return ",".join(c.replace(",", " ") for c in categories)[:1000]


def split_categories(text: str) -> tuple[str, ...]:
    return tuple(c for c in (text or "").split(",") if c)


@dataclass
class _Plan:
    """One room's writes: inserts (occurrence), changes (row, occurrence, new state), cancels (row)."""

    room: RoomOccurrences
    inserts: list[Occurrence] = field(default_factory=list)
    changes: list[tuple[Any, Occurrence, str]] = field(default_factory=list)
    cancels: list[Any] = field(default_factory=list)


def sync_rooms(db: Database, rooms: Sequence[RoomOccurrences], span_start: datetime,
               span_end: datetime) -> dict[int, SyncResult]:
    """Bring each room's lectures starting in [span_start, span_end) in line with its occurrences; room id ->
    what changed."""
    out: dict[int, SyncResult] = {}
    for i in range(0, len(rooms), ROOMS_PER_TRANSACTION):
        chunk = rooms[i:i + ROOMS_PER_TRANSACTION]
        try:
            out.update(_sync_chunk(db, chunk, span_start, span_end))
        except IntegrityError:  # a room removed meanwhile (SQLite checks the foreign key): room by room
            for room in chunk:
                try:
                    out.update(_sync_chunk(db, [room], span_start, span_end))
                except IntegrityError as exc:
                    log.info("lectures of room %s not brought in line: %s (the room was removed?)", room.room,
                             exc.orig)
                    out[room.room_id] = SyncResult()
    return out


def _sync_chunk(db: Database, rooms: Sequence[RoomOccurrences], span_start: datetime,
                span_end: datetime) -> dict[int, SyncResult]:
    wanted = {r.room_id: {(o.uid_key, o.recurrence_id): o for o in r.occurrences} for r in rooms}
    keys = {rid: {k for k, _r in per} for rid, per in wanted.items()}
    with db.session() as s:
        rows = s.connection().execute(select(*_COLUMNS).where(
            _T.c.room_id.in_(sorted(wanted)),
            or_(and_(_T.c.start >= span_start, _T.c.start < span_end),
                _T.c.uid_key.in_(sorted(set().union(*keys.values())) or [""])))
            .order_by(_T.c.room_id, _T.c.id)).all()
    have: dict[int, dict[tuple[str, str], Any]] = defaultdict(dict)
    for row in rows:  # the query asked for any of the group's UIDs: keep each room's own
        if span_start <= row.start < span_end or row.uid_key in keys[row.room_id]:
            have[row.room_id][(row.uid_key, row.recurrence_id)] = row
    plans = [_plan(r, wanted[r.room_id], have[r.room_id], span_start, span_end) for r in rooms]
    if not any(p.inserts or p.changes or p.cancels for p in plans):
        return {r.room_id: SyncResult() for r in rooms}
    with db.session() as s:
        conn = s.connection()
        return {p.room.room_id: _write(conn, p) for p in plans}


def _plan(room: RoomOccurrences, wanted: dict[tuple[str, str], Occurrence], have: dict[tuple[str, str], Any],
          span_start: datetime, span_end: datetime) -> _Plan:
    plan = _Plan(room)
    for key, occ in wanted.items():
        seen = have.get(key)
        if seen is None:
            plan.inserts.append(occ)
            continue
        if seen.state not in EDITABLE:
            continue
        state = LectureState.SKIPPED.value if occ.private_reason else (
            seen.state if seen.state in OPEN else LectureState.SCHEDULED.value)
        same = (seen.start, seen.end, seen.title, seen.organizer, seen.state, seen.private_reason,
                join_categories(split_categories(seen.categories))) == (
            occ.start, occ.end, occ.title[:512], occ.organizer[:512], state, occ.private_reason,
            join_categories(occ.categories))
        if not same:
            plan.changes.append((seen, occ, state))
    plan.cancels = [seen for key, seen in have.items()
                    if key not in wanted and seen.state in OPEN and span_start <= seen.start < span_end]
    return plan


def _write(conn: Connection, plan: _Plan) -> SyncResult:
    added = changed = cancelled = skipped = 0
    room = plan.room
    now = utcnow()
    for occ in plan.inserts:
        state = LectureState.SKIPPED if occ.private_reason else LectureState.SCHEDULED
        if not conn.execute(_INSERT, {
                "room_id": room.room_id, "room_name": room.room, "uid": occ.uid, "uid_key": occ.uid_key,
                "recurrence_id": occ.recurrence_id, "title": occ.title[:512], "organizer": occ.organizer[:512],
                "start": occ.start, "end": occ.end, "state": state.value, "private_reason": occ.private_reason[:255],
                "categories": join_categories(occ.categories), "notes": "", "version": 1}).rowcount:
            continue  # another node added it a moment ago
        added += 1
        if occ.private_reason:
            skipped += 1
            _log_skipped(occ, room.room)
    for seen, occ, new_state in plan.changes:
        if conn.execute(_CHANGE, {
                "b_id": seen.id, "b_state": seen.state, "b_version": seen.version, "n_state": new_state,
                "n_start": occ.start, "n_end": occ.end, "n_title": occ.title[:512], "n_organizer": occ.organizer[:512],
                "n_private": occ.private_reason[:255], "n_categories": join_categories(occ.categories),
                "n_version": seen.version + 1, "n_updated": now}).rowcount:
            changed += 1
            if new_state == LectureState.SKIPPED.value and seen.state != new_state:
                skipped += 1
                _log_skipped(occ, room.room)
    for seen in plan.cancels:
        if conn.execute(_CANCEL, {"b_id": seen.id, "b_state": seen.state, "b_version": seen.version,
                                  "n_state": LectureState.CANCELLED.value, "n_version": seen.version + 1,
                                  "n_updated": now}).rowcount:
            cancelled += 1
            log.info("lecture %s (UID %s %s) of room %s cancelled: it is no longer in the calendar", seen.title,
                     seen.uid, seen.recurrence_id, room.room)
    return SyncResult(added, changed, cancelled, skipped)


def _log_skipped(occ: Occurrence, room: str) -> None:
    log.info("lecture %s (UID %s %s) of room %s skipped: %s (lectures.no_record)", occ.title, occ.uid,
             occ.recurrence_id, room, occ.private_reason)
