"""One refresh of the rooms' timetables: fetch (conditionally), keep the last good copy, expand the room's
lectures over [now - 1 day, now + calendar.horizon) and bring the lecture rows in line; raise or resolve the
`calendar_unreadable` alert of each room through the alert machinery (monitoring.alert_store).

A calendar that cannot be fetched or parsed changes nothing: the last good copy is expanded as before, so
the lectures stay as they were. `now` is the caller's clock (the tests control it). Blocking (network,
database): run on a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_sync, timetable_store
from nvr_console.core.lectures.lecture_sync import RoomOccurrences, SyncResult
from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable, describe, fetch
from nvr_console.core.lectures.timetable_parse import Occurrence, expander, occurrences, parse
from nvr_console.core.lectures.timetable_series import SeriesCache, SplitCalendar
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


@dataclass
class _Known:
    """What a long-lived refresher remembers of a room between refreshes (TimetableCache)."""

    sha: str
    query: Any  # the parsed calendar: its series (SplitCalendar) or its expander
    synced: list[Occurrence] | None = None  # what the last sync wrote
    synced_at: float = 0.0  # monotonic
    checked_at: float = 0.0  # monotonic: the last `checked_at` written
    error: str = ""


class TimetableCache:
    """Parsed calendars and the last sync per room, so a refresh where nothing changed costs an expansion and
    no writes. A full sync and a `checked_at` write still happen every FULL_SYNC_S. One per refreshing thread."""

    FULL_SYNC_S = 600.0

    def __init__(self) -> None:
        self.rooms: dict[int, _Known] = {}
        self.series = SeriesCache()  # a calendar's unchanged series are not parsed nor expanded again


def _prepare(body: bytes, tt: Timetable, cache: TimetableCache | None) -> Any:
    """The calendar ready to expand: its series (kept in `cache`) or, without a cache or for a calendar the
    series cannot stand for, its expander. CalendarUnreadable for garbage."""
    split = cache.series.split(body, describe(tt.source)) if cache is not None else None
    return split if split is not None else expander(parse(body, describe(tt.source)))


def expand(settings: Settings, tt: Timetable, body: bytes | Any, start: datetime, end: datetime) -> list[Occurrence]:
    """The room's occurrences in [start, end) from a calendar's bytes, or its _prepare'd form
    (CalendarUnreadable)."""
    if isinstance(body, SplitCalendar):
        return body.occurrences(start, end, room=tt.room, location_match=tt.location,
                                no_record=settings.lectures.no_record, floating_zone=_zone(settings))
    source = parse(body, describe(tt.source)) if isinstance(body, bytes) else body
    return occurrences(source, start, end, room=tt.room, location_match=tt.location,
                       no_record=settings.lectures.no_record, floating_zone=_zone(settings))


def _span(settings: Settings, now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + timedelta(seconds=settings.calendar.horizon)


def _read_room(db: Database, settings: Settings, tt: Timetable, now: datetime, cache: TimetableCache | None
               ) -> tuple[RoomRefresh, list[Occurrence] | None, _Known | None]:
    """Fetch one room's calendar and expand it: (the refresh, the occurrences to sync or None when its lectures
    are known to be in line already, what the cache knows). Never raises for the calendar's faults."""
    body = tt.body
    sha = tt.body_sha or ""
    fetched = False
    error = ""
    known = cache.rooms.get(tt.room_id) if cache is not None else None
    try:
        got = fetch(tt.source, tt.etag if tt.body else None, tt.last_modified if tt.body else None,
                    settings.calendar.timeout)
        if got.body is not None:
            new_query = _prepare(got.body, tt, cache)  # garbage never replaces the good copy
            if timetable_store.save_copy(db, tt.room_id, tt.source, got.body, got.etag, got.last_modified, now):
                body, fetched, sha = got.body, True, hashlib.sha256(got.body).hexdigest()
                known = _Known(sha, new_query)
        elif known is None or known.error or time.monotonic() - known.checked_at > TimetableCache.FULL_SYNC_S:
            timetable_store.note_checked(db, tt.room_id, tt.source, now)
            if known is not None:
                known.checked_at, known.error = time.monotonic(), ""
    except CalendarUnreadable as exc:
        error = str(exc)
        timetable_store.note_checked(db, tt.room_id, tt.source, now, error)
        log.warning("room %s: %s", tt.room, error)
    if body is None:
        return RoomRefresh(tt.room, fetched, error, None), None, None
    try:
        if known is None or known.sha != sha:
            known = _Known(sha, _prepare(body, tt, cache))
        known.error = error
        if cache is not None:
            cache.rooms[tt.room_id] = known
        occs = expand(settings, tt, known.query, *_span(settings, now))
    except CalendarUnreadable as exc:  # the stored copy itself no longer expands (should not happen)
        return RoomRefresh(tt.room, fetched, error or str(exc), None), None, None
    if occs == known.synced and time.monotonic() - known.synced_at < TimetableCache.FULL_SYNC_S:
        # the same lectures as the last sync wrote: nothing to change
        return RoomRefresh(tt.room, fetched, error, SyncResult()), None, known
    return RoomRefresh(tt.room, fetched, error, None), occs, known


def refresh_all(db: Database, settings: Settings, node: str, now: datetime | None = None,
                cache: TimetableCache | None = None) -> list[RoomRefresh]:
    """Every room with a calendar, one after the other (one room's failure never stops another), their lectures
    brought in line together (lecture_sync), then the alerts: `calendar_unreadable` fires for a room whose
    calendar failed, and resolves once it reads again. `cache`: kept by a long-lived caller (the lecture worker)
    between refreshes."""
    now = now or datetime.now(UTC)
    reads = [(tt, *_read_room(db, settings, tt, now, cache)) for tt in timetable_store.with_calendar(db)]
    todo = [RoomOccurrences(tt.room_id, tt.room, occs) for tt, _r, occs, _k in reads if occs is not None]
    synced = lecture_sync.sync_rooms(db, todo, *_span(settings, now)) if todo else {}
    out = []
    conditions = []
    for tt, r, occs, known in reads:
        if occs is not None:
            r = replace(r, sync=synced[tt.room_id])
            if known is not None:
                known.synced, known.synced_at = occs, time.monotonic()
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
