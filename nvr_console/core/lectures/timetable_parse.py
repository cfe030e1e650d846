"""A calendar's bytes -> the lecture occurrences of one room in a time span.

icalendar parses; x-wr-timezone turns Google's exports (floating times plus X-WR-TIMEZONE) into proper
zoned times; recurring-ical-events expands RRULE, RDATE, EXDATE and RECURRENCE-ID overrides in each
event's own time zone, so a weekly 10:15 Europe/Berlin lecture stays at 10:15 local across the daylight-saving
switches. All-day, transparent (free) and cancelled events are not lectures. The span is given by the caller:
the clock is the caller's (the tests control it). Pure functions; any thread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Event

from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable


@dataclass(frozen=True)
class Occurrence:
    """One lecture as the calendar says it: times aware UTC."""

    uid: str
    recurrence_id: str  # the occurrence's original start, UTC ISO, for a recurring event; '' for a single one
    title: str
    organizer: str
    location: str
    start: datetime
    end: datetime
    private_reason: str = ""  # lectures.no_record matched: why (category or keyword), '' otherwise
    categories: tuple[str, ...] = ()  # the event's CATEGORIES, as written

    @property
    def uid_key(self) -> str:
        return uid_key(self.uid)


def uid_key(uid: str) -> str:
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()


def parse(data: bytes, where: str) -> Calendar:
    """The calendar in `data`, standardised (X-WR-TIMEZONE applied); CalendarUnreadable when it is none."""
    text = data.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.upper().startswith(b"BEGIN:VCALENDAR"):
        first = text[:60].decode("utf-8", "replace").splitlines()[0] if text else "an empty answer"
        raise CalendarUnreadable(f"calendar {where} is not an iCalendar file (it starts with {first!r}); check that "
                                 "the address gives the calendar's ICS export, not a web page")
    try:
        cal = Calendar.from_ical(text)
        standard: Calendar = x_wr_timezone.to_standard(cal)
    except Exception as exc:  # icalendar raises ValueError and friends for broken content
        raise CalendarUnreadable(f"calendar {where} cannot be parsed: {exc}; the last good copy stays in use")\
            from None
    return standard


def _text(component: Any, name: str) -> str:
    value = component.get(name)
    return str(value).strip() if value is not None else ""


def _categories(event: Event) -> list[str]:
    found: list[str] = []
    raw = event.get("CATEGORIES")
    for item in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        cats = getattr(item, "cats", None)
        if cats is None:
            found += [c.strip() for c in str(item).split(",")]
        else:
            found += [str(c).strip() for c in cats]
    return [c for c in found if c]


def private_reason(event: Event, no_record: tuple[str, ...]) -> str:
    """Why the event must not be recorded (a category, or a keyword in its title or description), or ''."""
    words = [w.lower() for w in no_record if w]
    if not words:
        return ""
    cats = {c.lower() for c in _categories(event)}
    for w in words:
        if w in cats:
            return f"category {w!r}"
    text = f"{_text(event, 'SUMMARY')}\n{_text(event, 'DESCRIPTION')}".lower()
    for w in words:
        if w in text:
            return f"keyword {w!r}"
    return ""


def _organizer(event: Event) -> str:
    org = event.get("ORGANIZER")
    if org is None:
        return ""
    name = getattr(org, "params", {}).get("CN", "")
    addr = str(org)
    addr = addr[7:] if addr.lower().startswith("mailto:") else addr
    return f"{name} <{addr}>" if name and addr else (name or addr)


def _utc(value: date | datetime, zone: tzinfo) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError("a date")
    if value.tzinfo is None:  # floating time: the room's (recording) time zone
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def belongs(location: str, room: str, match: str) -> bool:
    """Whether an event at `location` is the room's: no LOCATION means the calendar is the room's own; else
    it must contain the room's `--calendar-location` text, or its name (case-insensitive)."""
    if not location:
        return True
    wanted = (match or room).strip().lower()
    return bool(wanted) and wanted in location.lower()


def expander(cal: Calendar) -> Any:
    """The calendar's series, ready to expand any span (building it is a third of an expansion: keep it while
    the calendar does not change)."""
    try:
        return recurring_ical_events.of(cal, skip_bad_series=True)
    except Exception as exc:  # a broken RRULE and the like
        raise CalendarUnreadable(f"the calendar's recurrences cannot be read: {exc}") from None


def occurrences(cal: Calendar | Any, start: datetime, end: datetime, *, room: str, location_match: str,
                no_record: tuple[str, ...], floating_zone: tzinfo = UTC) -> list[Occurrence]:
    """The room's lectures that overlap [start, end), sorted by start, from a calendar or its `expander`. Skips
    all-day, transparent and cancelled events; marks privacy matches (`private_reason`) rather than dropping
    them, so the decision is logged."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences needs aware datetimes")
    query = expander(cal) if isinstance(cal, Calendar) else cal
    try:
        events = query.between(start, end)
    except Exception as exc:  # a broken RRULE and the like
        raise CalendarUnreadable(f"the calendar's recurrences cannot be expanded: {exc}") from None
    out: dict[tuple[str, str], Occurrence] = {}
    for ev in events:
        got = lecture_of(ev, no_record, floating_zone)
        if got is not None and belongs(got.location, room, location_match):
            out[(got.uid, got.recurrence_id)] = got
    return ordered(out)


def ordered(found: dict[tuple[str, str], Occurrence]) -> list[Occurrence]:
    """The occurrences by start (then UID and RECURRENCE-ID): one per (UID, RECURRENCE-ID), the last found."""
    return sorted(found.values(), key=lambda o: (o.start, o.uid, o.recurrence_id))


def lecture_of(ev: Any, no_record: tuple[str, ...], floating_zone: tzinfo) -> Occurrence | None:
    """One expanded event as a lecture of whichever room its LOCATION names, or None when it is no lecture
    (all-day, no start, cancelled, transparent, no UID, no length)."""
    dtstart = ev.get("DTSTART")
    if dtstart is None or not isinstance(dtstart.dt, datetime):
        return None  # all-day (a date) or no start: not a lecture
    if _text(ev, "STATUS").upper() == "CANCELLED" or _text(ev, "TRANSP").upper() == "TRANSPARENT":
        return None
    uid = _text(ev, "UID")
    if not uid:
        return None
    s = _utc(dtstart.dt, floating_zone)
    dtend = ev.get("DTEND")
    if dtend is not None and isinstance(dtend.dt, datetime):
        e = _utc(dtend.dt, floating_zone)
    else:
        dur = ev.get("DURATION")
        e = s + (dur.dt if dur is not None and isinstance(dur.dt, timedelta) else timedelta(0))
    if e <= s:
        return None  # a zero-length event is a reminder, not a lecture
    rid = ev.get("RECURRENCE-ID")
    recurrence = ""
    if rid is not None and isinstance(rid.dt, datetime):
        # recurring-ical-events gives every occurrence of a series its RECURRENCE-ID (the original start)
        recurrence = _utc(rid.dt, floating_zone).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Occurrence(uid, recurrence, _text(ev, "SUMMARY") or "(untitled)", _organizer(ev), _text(ev, "LOCATION"),
                      s, e, private_reason(ev, no_record), tuple(_categories(ev)))
