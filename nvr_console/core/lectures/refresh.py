"""One refresh of the rooms' timetables: fetch (conditionally), keep the last good copy, expand the room's
lectures over [now - 1 day, now + calendar.horizon) and bring the lecture rows in line; raise or resolve the
`calendar_unreadable` alert of each room through the alert machinery (monitoring.alert_store).

A calendar that cannot be fetched or parsed changes nothing: the last good copy is expanded as before, so
the lectures stay as they were. `now` is the caller's clock (the tests control it). Blocking (network,
database): run on a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store, timetable_store
from nvr_console.core.lectures.lecture_store import SyncResult
from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable, describe, fetch
from nvr_console.core.lectures.timetable_parse import Occurrence, occurrences, parse
from nvr_console.core.lectures.timetable_store import Timetable
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CALENDAR_UNREADABLE, Condition, Status

log = logging.getLogger(__name__)

PAST = timedelta(days=1)  # lectures that started this long ago may still be edited by the calendar


@dataclass(frozen=True)
class RoomRefresh:
    room: str
    fetched: bool  # a new copy was stored
    error: str  # why the calendar could not be used this time ('' = it could)
    sync: SyncResult | None  # None: no copy to expand yet


def alert_key(room_id: int) -> str:
    return f"{CALENDAR_UNREADABLE.name}:room:{room_id}"


def _zone(settings: Settings) -> tzinfo:
    zone = settings.recording.zone()
    if zone is not None:
        return zone
    local = datetime.now().astimezone().tzinfo
    return local if local is not None else UTC


def expand(settings: Settings, tt: Timetable, body: bytes, start: datetime, end: datetime) -> list[Occurrence]:
    """The room's occurrences in [start, end) from a calendar's bytes (CalendarUnreadable if they are none)."""
    cal = parse(body, describe(tt.source))
    return occurrences(cal, start, end, room=tt.room, location_match=tt.location,
                       no_record=settings.lectures.no_record, floating_zone=_zone(settings))


def refresh_room(db: Database, settings: Settings, tt: Timetable, now: datetime) -> RoomRefresh:
    """Fetch one room's calendar and bring its lectures in line. Never raises for the calendar's faults."""
    body = tt.body
    fetched = False
    error = ""
    try:
        got = fetch(tt.source, tt.etag if tt.body else None, tt.last_modified if tt.body else None,
                    settings.calendar.timeout)
        if got.body is not None:
            parse(got.body, describe(tt.source))  # garbage never replaces the last good copy
            if timetable_store.save_copy(db, tt.room_id, tt.source, got.body, got.etag, got.last_modified, now):
                body, fetched = got.body, True
        else:
            timetable_store.note_checked(db, tt.room_id, tt.source, now)
    except CalendarUnreadable as exc:
        error = str(exc)
        timetable_store.note_checked(db, tt.room_id, tt.source, now, error)
        log.warning("room %s: %s", tt.room, error)
    result: SyncResult | None = None
    if body is not None:
        span_start, span_end = now - PAST, now + timedelta(seconds=settings.calendar.horizon)
        try:
            occs = expand(settings, tt, body, span_start, span_end)
            result = lecture_store.sync(db, tt.room_id, tt.room, occs, span_start, span_end)
        except CalendarUnreadable as exc:  # the stored copy itself no longer expands (should not happen)
            error = error or str(exc)
    return RoomRefresh(tt.room, fetched, error, result)


def refresh_all(db: Database, settings: Settings, node: str, now: datetime | None = None) -> list[RoomRefresh]:
    """Every room with a calendar, one after the other (one room's failure never stops another), then the
    alerts: `calendar_unreadable` fires for a room whose calendar failed, and resolves once it reads again."""
    now = now or datetime.now(UTC)
    out = []
    conditions = []
    for tt in timetable_store.with_calendar(db):
        r = refresh_room(db, settings, tt, now)
        out.append(r)
        conditions.append(Condition(alert_key(tt.room_id), CALENDAR_UNREADABLE, f"room {tt.room}",
                                    Status.ACTIVE if r.error else Status.INACTIVE,
                                    f"the timetable of room {tt.room} cannot be read: {r.error}; its lectures stay "
                                    "as they were" if r.error else "", now.timestamp()))
    if conditions:
        alert_store.apply(db, conditions, node, settings.alerts.repeat_every, now)
    return out


def check(settings: Settings, tt: Timetable, now: datetime, days: float = 14) -> list[Occurrence]:
    """`calendar check ROOM`: fetch now (not conditionally) and return the next lectures; raises
    CalendarUnreadable. Changes nothing in the database."""
    got = fetch(tt.source, None, None, settings.calendar.timeout)
    assert got.body is not None
    return [o for o in expand(settings, tt, got.body, now - timedelta(hours=12), now + timedelta(days=days))
            if o.end > now]
