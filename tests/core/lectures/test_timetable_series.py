"""A calendar cut into its series gives the same lectures as the whole calendar, over any span; an edit parses
and expands only the series it touched; calendars the cutting does not understand exactly are parsed whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable
from nvr_console.core.lectures.timetable_parse import expander, occurrences, parse
from nvr_console.core.lectures.timetable_series import SeriesCache
from tests.core.lectures.ics_samples import calendar, event

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
LONG_UID = "040000008200E00074C5B7101A82E00800000000D0B6A1C3E0A4DA01000000000000000010000000" + "7" * 40

CALENDARS = {
    "weekly, EXDATE, moved and cancelled occurrences, RDATE": calendar(
        event("algebra@uni", "20260305T101500", "20260305T114500", "Algebra", "RRULE:FREQ=WEEKLY;COUNT=30",
              "EXDATE;TZID=Europe/Berlin:20260312T101500", "RDATE;TZID=Europe/Berlin:20260401T090000"),
        event("algebra@uni", "20260320T121500", "20260320T131500", "Algebra (moved)",
              "RECURRENCE-ID;TZID=Europe/Berlin:20260319T101500"),
        event("algebra@uni", "20260326T101500", "20260326T114500", "Algebra", "STATUS:CANCELLED",
              "RECURRENCE-ID;TZID=Europe/Berlin:20260326T101500"),
        event("physics@uni", "20260306T080000", "20260306T093000", "Physics", "RRULE:FREQ=DAILY;COUNT=40",
              "CATEGORIES:Lecture,No-Recording"),
        "\n".join(["BEGIN:VEVENT", "UID:holiday@uni", "DTSTAMP:20260101T000000Z", "DTSTART;VALUE=DATE:20260306",
                   "DTEND;VALUE=DATE:20260307", "SUMMARY:Dies academicus", "END:VEVENT"]),
        event("office@uni", "20260305T130000", "20260305T140000", "Office hour", "TRANSP:TRANSPARENT"),
        # An alarm inside the event, a folded long UID (Outlook's), an event without UID.
        event(LONG_UID, "20260309T160000", "20260309T170000", "Seminar", "RRULE:FREQ=WEEKLY;COUNT=8",
              "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "DESCRIPTION:soon", "END:VALARM"),
        "\n".join(["BEGIN:VEVENT", "DTSTAMP:20260101T000000Z", "DTSTART;TZID=Europe/Berlin:20260305T100000",
                   "DTEND;TZID=Europe/Berlin:20260305T110000", "SUMMARY:No UID", "END:VEVENT"])),
    "floating times and a zone of its own": calendar(
        event("f@uni", "20260305T235000", "20260306T003000", "Night lab", "RRULE:FREQ=DAILY;COUNT=30",
              tzid="floating"),
        event("u@uni", "20260305T230000", "20260306T000000", "UTC talk", "RRULE:FREQ=DAILY;COUNT=30", tzid=""),
        event("c@uni", "20260305T101500", "20260305T114500", "Custom zone", "RRULE:FREQ=WEEKLY;COUNT=9",
              tzid="University Time"),
        tz="BEGIN:VTIMEZONE\nTZID:University Time\nBEGIN:STANDARD\nTZOFFSETFROM:+0300\nTZOFFSETTO:+0300\n"
           "DTSTART:19700101T000000\nEND:STANDARD\nEND:VTIMEZONE"),
    "Google's export (X-WR-TIMEZONE)": calendar(
        event("g1@google.com", "20260305T091500", "20260305T104500", "Algebra", "RRULE:FREQ=WEEKLY;COUNT=6",
              tzid=""), tz="", extra="X-WR-TIMEZONE:Europe/Berlin"),
    "rooms by location": calendar(
        event("a@uni", "20260305T101500", "20260305T114500", "Algebra", "LOCATION:Building 1\\, A-101",
              "RRULE:FREQ=DAILY;COUNT=20"),
        event("b@uni", "20260305T101500", "20260305T114500", "Biology", "LOCATION:Hörsaal B-2",
              "RRULE:FREQ=DAILY;COUNT=20")),
}


def _whole(data: bytes, start: datetime, end: datetime, room: str) -> list[object]:
    return occurrences(expander(parse(data, "test")), start, end, room=room, location_match="",
                       no_record=("no-recording",), floating_zone=BERLIN)


@pytest.mark.parametrize("name", sorted(CALENDARS))
def test_the_series_give_the_lectures_of_the_whole_calendar_over_any_span(name: str) -> None:
    data = CALENDARS[name]
    split = SeriesCache().split(data, "test")
    assert split is not None
    # Refreshes every 7 hours 13 minutes for 3 weeks, spans of a day back and 14 ahead (one expansion a day),
    # and spans with edges inside lectures.
    spans = [(T0 + timedelta(minutes=433 * i) - timedelta(days=1), T0 + timedelta(minutes=433 * i, days=14))
             for i in range(70)]
    spans += [(datetime(2026, 3, 9, 15, 30, tzinfo=UTC), datetime(2026, 3, 13, 9, 20, tzinfo=UTC)),
              (datetime(2026, 3, 6, 7, 15, tzinfo=UTC), datetime(2026, 3, 6, 7, 15, 1, tzinfo=UTC))]
    total = 0
    for start, end in spans:
        for room in ("A-101", "B-2"):
            got = split.occurrences(start, end, room=room, location_match="", no_record=("no-recording",),
                                    floating_zone=BERLIN)
            assert got == _whole(data, start, end, room), (start, end, room)
            total += len(got)
    assert total > 100


def test_an_edit_parses_only_the_series_it_touched_and_rooms_share_a_calendar() -> None:
    cache = SeriesCache()
    old = CALENDARS["weekly, EXDATE, moved and cancelled occurrences, RDATE"]
    first = cache.split(old, "test")
    again = cache.split(old, "test")  # the same calendar for another room: nothing parsed again
    assert first is not None and again is not None
    assert all(a is b for a, b in zip(first.series, again.series, strict=True))
    edited = cache.split(old.replace(b"SUMMARY:Physics", b"SUMMARY:Physics I"), "test")
    assert edited is not None and len(edited.series) == len(first.series)
    kept = [a is b for a, b in zip(first.series, edited.series, strict=True)]
    assert kept.count(False) == 1  # the physics series
    span = (T0, T0 + timedelta(days=14))
    titles = {o.title for o in edited.occurrences(*span, room="A-101", location_match="", no_record=(),
                                                  floating_zone=BERLIN)}
    assert "Physics I" in titles and "Physics" not in titles


@pytest.mark.parametrize("data", [
    calendar(event("a@uni", "20260305T101500", "20260305T114500", "A")) + b"X-COMMENT:after the calendar\r\n",
    calendar(event("a@uni", "20260305T101500", "20260305T114500", "A")) * 2,
    calendar("BEGIN:X-GROUP\n" + event("a@uni", "20260305T101500", "20260305T114500", "A") + "\nEND:X-GROUP"),
    # Two raw UIDs that are one UID once parsed: the library makes one series of them.
    calendar(event("a@uni", "20260305T101500", "20260305T114500", "A", "RRULE:FREQ=DAILY;COUNT=3"),
             event("a@uni", "20260306T121500", "20260306T131500", "A moved",
                   "RECURRENCE-ID;TZID=Europe/Berlin:20260306T101500").replace("UID:a@uni", "UID;X-P=1:a@uni")),
], ids=["text after", "two calendars", "event inside another component", "UID with a parameter"])
def test_what_the_cutting_does_not_understand_is_parsed_whole(data: bytes) -> None:
    assert SeriesCache().split(data, "test") is None


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except CalendarUnreadable:
        return CalendarUnreadable


@pytest.mark.parametrize("broken", ["RRULE:FREQ=SOMETIMES", "DTEND;TZID=Europe/Berlin:20260305T090000",
                                    "RRULE:FREQ=WEEKLY;UNTIL=notadate", "EXDATE:20260312T101500\\x"])
def test_a_broken_event_does_to_the_series_what_it_does_to_the_whole_calendar(broken: str) -> None:
    data = calendar(event("a@uni", "20260305T101500", "20260305T114500", "A", "RRULE:FREQ=DAILY;COUNT=9"),
                    event("b@uni", "20260305T101500", "20260305T114500", "B", "RRULE:FREQ=DAILY;COUNT=9")
                    .replace("DTEND;TZID=Europe/Berlin:20260305T114500", "")
                    .replace("SUMMARY:B", f"SUMMARY:B\n{broken}"))
    for start in (T0, T0 + timedelta(days=3, hours=5)):
        span = (start, start + timedelta(days=14))

        def whole(s: tuple[datetime, datetime] = span) -> object:
            return occurrences(expander(parse(data, "test")), *s, room="A-101", location_match="", no_record=())

        def series(s: tuple[datetime, datetime] = span) -> object:
            split = SeriesCache().split(data, "test")
            assert split is not None
            return split.occurrences(*s, room="A-101", location_match="", no_record=())

        assert _outcome(series) == _outcome(whole)
