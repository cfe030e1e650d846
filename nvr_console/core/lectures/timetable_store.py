"""Each room's calendar settings and the last good copy of its calendar (`room_timetables` rows).

The copy is replaced only by a calendar that parsed; a failed fetch only records why (`error`). Writes are
conditional on the calendar source not having changed meanwhile, so a refresh racing `rooms edit` never
stores the old calendar's copy under the new source. Blocking (database): any thread but the UI's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core import catalog
from nvr_console.core.db.models import RecordMode, Room, RoomTimetable
from nvr_console.core.db.session import Database
from nvr_console.core.lectures.timetable_fetch import describe, kind_of
from nvr_console.core.stream_url import InvalidInput, parse_drive_folder


@dataclass(frozen=True)
class Timetable:
    room_id: int
    room: str
    source: str
    location: str
    record_mode: str
    lecture_folder: str | None
    etag: str | None
    last_modified: str | None
    body: bytes | None
    body_sha: str | None
    fetched_at: datetime | None
    checked_at: datetime | None
    error: str

    def public(self) -> dict[str, object]:
        return {"room": self.room, "calendar": describe(self.source), "location": self.location,
                "record": self.record_mode, "lecture_folder": self.lecture_folder,
                "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
                "checked_at": self.checked_at.isoformat() if self.checked_at else None, "error": self.error}


def _info(row: RoomTimetable, room: str) -> Timetable:
    return Timetable(row.room_id, room, row.source, row.location, row.record_mode, row.lecture_folder, row.etag,
                     row.last_modified,
                     row.body.encode("utf-8") if row.body is not None else None, row.body_sha, row.fetched_at,
                     row.checked_at, row.error)


def _row(db: Database, room_id: int) -> None:
    """Make sure the room has a row (a second node doing the same at once loses the insert, harmlessly)."""
    with db.session() as s:
        if s.get(RoomTimetable, room_id) is not None:
            return
    try:
        with db.session() as s:
            s.add(RoomTimetable(room_id=room_id, source="", location="", record_mode=RecordMode.CONTINUOUS.value,
                                lecture_folder=None, error=""))
    except IntegrityError:
        pass


def configure(db: Database, room: str, *, source: str | None = None, location: str | None = None,
              record_mode: str | None = None, lecture_folder: str | None = None) -> Timetable:
    """`rooms edit ROOM --calendar/--calendar-location/--record/--lecture-folder`: None leaves a value as it is,
    '' clears it. A new source drops the old copy (its lectures are brought in line at the next refresh)."""
    folder_id = parse_drive_folder(lecture_folder) if lecture_folder else lecture_folder
    if source:
        source = source.strip()
        try:
            kind_of(source)
        except ValueError as exc:
            raise InvalidInput(f"--calendar: {exc}") from None
    if record_mode is not None and record_mode not in {m.value for m in RecordMode}:
        raise InvalidInput(f"--record must be one of {', '.join(m.value for m in RecordMode)}, not {record_mode!r}")
    info = catalog.get_room(db, room)
    _row(db, info.id)
    with db.session() as s:
        row = s.get(RoomTimetable, info.id)
        assert row is not None
        if source is not None and source != row.source:
            row.source = source
            row.etag = row.last_modified = row.body = row.body_sha = None
            row.fetched_at = row.checked_at = None
            row.error = ""
        if location is not None:
            row.location = location.strip()
        if record_mode is not None:
            row.record_mode = record_mode
        if folder_id is not None:
            row.lecture_folder = folder_id or None
        s.flush()
        return _info(row, info.name)


def get(db: Database, room: str) -> Timetable | None:
    info = catalog.get_room(db, room)
    with db.session() as s:
        row = s.get(RoomTimetable, info.id)
        return _info(row, info.name) if row is not None else None


def with_calendar(db: Database) -> list[Timetable]:
    """Every room that has a calendar."""
    with db.session() as s:
        rows = s.execute(select(RoomTimetable, Room.name).join(Room, Room.id == RoomTimetable.room_id)
                         .where(RoomTimetable.source != "").order_by(Room.name)).all()
        return [_info(row, name) for row, name in rows]


def all_rooms(db: Database) -> list[Timetable]:
    """Every room's timetable row (rooms never given one have none)."""
    with db.session() as s:
        rows = s.execute(select(RoomTimetable, Room.name).join(Room, Room.id == RoomTimetable.room_id)
                         .order_by(Room.name)).all()
        return [_info(row, name) for row, name in rows]


def record_modes(db: Database) -> dict[int, str]:
    """room id -> record mode, for rooms that are not continuous."""
    with db.session() as s:
        return {rid: mode for rid, mode in s.execute(
            select(RoomTimetable.room_id, RoomTimetable.record_mode)
            .where(RoomTimetable.record_mode != RecordMode.CONTINUOUS.value))}


_T = cast(Table, RoomTimetable.__table__)
# Built once (its compiled form is reused): a refresh after every calendar changed runs it once per room.
_SAVE_COPY = update(_T).where(_T.c.room_id == bindparam("b_room"), _T.c.source == bindparam("b_source")).values(
    body=bindparam("n_body"), body_sha=bindparam("n_sha"), etag=bindparam("n_etag"),
    last_modified=bindparam("n_modified"), fetched_at=bindparam("n_now"), checked_at=bindparam("n_now"), error="")


def save_copy(db: Database, room_id: int, source: str, body: bytes, etag: str | None, last_modified: str | None,
              now: datetime) -> bool:
    """A calendar that parsed becomes the last good copy; False when the room's source changed meanwhile."""
    with db.session() as s:
        return bool(s.connection().execute(_SAVE_COPY, {
            "b_room": room_id, "b_source": source, "n_body": body.decode("utf-8", "replace"),
            "n_sha": hashlib.sha256(body).hexdigest(), "n_etag": etag, "n_modified": last_modified,
            "n_now": now}).rowcount)


def note_checked(db: Database, room_id: int, source: str, now: datetime, error: str = "") -> None:
    """A fetch that changed nothing: unchanged (error '') or failed (why)."""
    with db.session() as s:
        s.execute(update(RoomTimetable).where(RoomTimetable.room_id == room_id, RoomTimetable.source == source)
                  .values(checked_at=now, error=error[:4000]))
