"""A calendar cut into its series (the events of one UID: a rule, its EXDATEs, its moved occurrences), each parsed
and expanded once while its text stays the same.

Parsing a timetable with icalendar and expanding it is most of a refresh's CPU; an edited calendar usually
differs from the last copy in one or two events, and a calendar serving several rooms arrives once per room.
Each series is parsed as a calendar of its own: the calendar's properties, its VTIMEZONEs in their places, and
the series' VEVENTs (recurring-ical-events builds one series per UID and never mixes them, so the lectures are
the same as from the whole calendar). A series' expansion over a window padded to whole days is kept, and a
refresh picks from it the occurrences that the library would have returned for the asked span (its own
`time_span_contains_event`). Any calendar this cutting does not understand exactly (text after the calendar,
a VEVENT inside another component, UIDs that differ once parsed) is parsed whole as before (`split` None).
Pure functions and caches of one refreshing thread.
"""

from __future__ import annotations

import functools
import hashlib
import re
import weakref
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from icalendar.parser.content_line import NEWLINE, UFOLD, Contentline
from icalendar.parser_tools import to_unicode
from recurring_ical_events.util import time_span_contains_event

from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable
from nvr_console.core.lectures.timetable_parse import Occurrence, belongs, expander, lecture_of, ordered, parse

# A plain BEGIN/END/UID line (anything else that could be one is asked of icalendar's own line parser).
_BEGIN_END = re.compile(r"(BEGIN|END):([A-Za-z0-9-]+)", re.IGNORECASE)
_UID = re.compile(r"UID:(.*)", re.IGNORECASE | re.DOTALL)
_DAY = timedelta(days=1)


class _Item:
    """One expanded occurrence: its times as the library compares them, and the lecture it is."""

    __slots__ = ("end", "lecture", "plain", "start")

    def __init__(self, start: Any, end: Any, lecture: Occurrence) -> None:
        self.start, self.end, self.lecture = start, end, lecture
        # Zoned and not empty: the library's test is the plain overlap (no floating time to make comparable).
        self.plain = isinstance(start, datetime) and isinstance(end, datetime) and start.tzinfo is not None \
            and end.tzinfo is not None and start < end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """recurring-ical-events' own test of whether the occurrence is in [start, end) (aware, start < end)."""
        if self.plain:
            return bool(self.start < end and start < self.end)
        return bool(time_span_contains_event(start, end, self.start, self.end))


class Series:
    """The VEVENTs of one UID (or one VEVENT without UID), parsed, with its last expansion."""

    def __init__(self, text: str, where: str) -> None:
        cal = parse(text.encode("utf-8"), where)
        self.uids = {str(ev.get("UID", "")) for ev in cal.walk("VEVENT")}
        # An event ending before it starts makes the library drop the rest of its series at that point, which
        # depends on the span asked: such a series is expanded for the exact span every time.
        self.exact_only = any(_ends_before_start(ev) for ev in cal.walk("VEVENT"))
        self.query = expander(cal)
        self._key: tuple[object, ...] | None = None
        self._items: list[_Item] = []

    def items(self, start: datetime, end: datetime, no_record: tuple[str, ...], zone: tzinfo) -> list[_Item]:
        """The lectures of an expansion covering [start, end) (kept while the padded window covers it)."""
        window = (start, end) if self.exact_only else padded(start, end)
        key = (window, no_record, zone)
        if key != self._key:
            try:
                events = self.query.between(*window)
            except Exception as exc:  # a broken RRULE and the like
                raise CalendarUnreadable(f"the calendar's recurrences cannot be expanded: {exc}") from None
            self._items = [_Item(ev["DTSTART"].dt, ev["DTEND"].dt, got) for ev in events
                           if (got := lecture_of(ev, no_record, zone)) is not None]
            self._key = key
        return self._items


def padded(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end) widened to whole days (UTC): the refreshes of one day share one expansion."""
    a = datetime.combine(start.astimezone(UTC).date(), time(), UTC)
    b = datetime.combine(end.astimezone(UTC).date(), time(), UTC) + _DAY
    return a, b


def _ends_before_start(ev: Any) -> bool:
    a, b = ev.get("DTSTART"), ev.get("DTEND")
    try:
        return a is not None and b is not None and bool(b.dt < a.dt)
    except TypeError:  # a date against a datetime, or naive against aware: left to the library
        return True


@dataclass
class SplitCalendar:
    """A calendar as its series; `occurrences` gives what timetable_parse.occurrences gives for the whole."""

    series: list[Series]

    def occurrences(self, start: datetime, end: datetime, *, room: str, location_match: str,
                    no_record: tuple[str, ...], floating_zone: tzinfo = UTC) -> list[Occurrence]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("occurrences needs aware datetimes")
        out: dict[tuple[str, str], Occurrence] = {}
        for series in self.series:
            for item in series.items(start, end, no_record, floating_zone):
                occ = item.lecture
                if belongs(occ.location, room, location_match) and (
                        item.overlaps(start, end) if start < end else
                        time_span_contains_event(start, end, item.start, item.end)):
                    out[(occ.uid, occ.recurrence_id)] = occ
        return ordered(out)


class SeriesCache:
    """Series by their text, shared by every calendar that holds them (rooms sharing a calendar, a calendar
    and its next copy); a series lives while a calendar kept by the caller holds it."""

    def __init__(self) -> None:
        self._series: weakref.WeakValueDictionary[str, Series] = weakref.WeakValueDictionary()

    def split(self, data: bytes, where: str) -> SplitCalendar | None:
        """The calendar as its series (CalendarUnreadable as `parse`), or None when it must be parsed whole."""
        texts = cut(data)
        if texts is None:
            return None
        out: list[Series] = []
        seen: set[str] = set()
        for text in texts:
            key = hashlib.sha256(text.encode("utf-8")).hexdigest()
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = Series(text, where)
            if len(series.uids) > 1 or series.uids & seen:
                return None  # raw UIDs that parse alike or apart: the whole calendar decides
            seen |= series.uids - {""}
            out.append(series)
        return SplitCalendar(out)


def _kind(line: str) -> tuple[str, str] | None:
    """('BEGIN'|'END', component name) when the line opens or closes a component, else None."""
    head = line[:5].upper()
    if not (head.startswith("BEGIN") or head.startswith("END")):
        return None
    plain = _BEGIN_END.fullmatch(line)
    if plain is not None:
        return plain.group(1).upper(), plain.group(2).upper()
    try:
        name, _params, value = Contentline(line).parts()  # type: ignore[no-untyped-call]  # unannotated
    except ValueError:  # a broken line: icalendar's parse of its component decides
        return None
    return (name.upper(), value.upper()) if name.upper() in ("BEGIN", "END") else None


def _uid(lines: list[str]) -> str | None:
    """The raw UID of a VEVENT's own lines (not of its alarms), None without one or when unsure."""
    depth = 0
    for line in lines[1:-1]:
        kind = _kind(line)
        if kind is not None:
            depth += 1 if kind[0] == "BEGIN" else -1
        elif depth == 0 and line[:3].upper() == "UID":
            plain = _UID.fullmatch(line)
            return plain.group(1) if plain is not None else None
    return None


def cut(data: bytes) -> list[str] | None:
    """Each series' calendar text (in the order of their first event), then one of the other components (a VTODO
    parsed for its faults alone); None for a calendar that is not simply one VCALENDAR of components."""
    # As icalendar's Contentlines.from_ical reads them (its own decoding, unfolding and line split).
    lines = [line for line in NEWLINE.split(UFOLD.sub("", to_unicode(data.lstrip(b"\xef\xbb\xbf").lstrip())))
             if line]
    if len(lines) < 2 or _kind(lines[0]) != ("BEGIN", "VCALENDAR") or _kind(lines[-1]) != ("END", "VCALENDAR"):
        return None
    head: list[str] = []
    blocks: list[tuple[str, list[str]]] = []  # (component name, its lines)
    depth = 0
    for line in lines[1:-1]:
        kind = _kind(line)
        if depth == 0 and kind is None:
            head.append(line)
            continue
        if kind is None:
            blocks[-1][1].append(line)
            continue
        if depth == 0:
            if kind[0] != "BEGIN":
                return None
            blocks.append((kind[1], []))
        elif kind == ("BEGIN", "VEVENT") or kind[1] == "VCALENDAR":
            return None  # a VEVENT inside another component (the library walks into it), or a calendar in one
        blocks[-1][1].append(line)
        depth += 1 if kind[0] == "BEGIN" else -1
        if depth < 0:
            return None
    if depth:
        return None
    return list(_texts(head, blocks))


def _texts(head: list[str], blocks: list[tuple[str, list[str]]]) -> Iterator[str]:
    groups: dict[str, list[int]] = {}
    others: list[int] = []
    for i, (name, block) in enumerate(blocks):
        uid = _uid(block) if name == "VEVENT" else None
        if name == "VEVENT":
            groups.setdefault(uid if uid is not None else f"\0{i}", []).append(i)
        else:
            others.append(i)
    # A VTIMEZONE whose TZID zoneinfo knows changes nothing for icalendar (it looks the name up), so the series
    # leave it out (it is half of a small series' text); every VTIMEZONE is parsed with the other components.
    zones = [i for i, (name, block) in enumerate(blocks) if name == "VTIMEZONE" and _tzid(block) not in _known()]
    for members in [*groups.values(), *([others] if others else [])]:
        chosen = sorted({*zones, *members})
        yield "\r\n".join(["BEGIN:VCALENDAR", *head, *(line for i in chosen for line in blocks[i][1]),
                           "END:VCALENDAR", ""])


def _tzid(block: list[str]) -> str | None:
    for line in block[1:]:
        if _kind(line) is not None:
            return None  # its own TZID comes before its STANDARD/DAYLIGHT parts
        if line[:5].upper() == "TZID:":
            return line[5:]
    return None


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
