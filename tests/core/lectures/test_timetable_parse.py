"""Timetables expanded into lectures: recurrences, exceptions, moved occurrences, daylight saving, what is not a
lecture, rooms sharing a calendar, privacy, and what is not a calendar at all."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core.lectures.timetable_fetch import CalendarUnreadable
from nvr_console.core.lectures.timetable_parse import occurrences, parse
from tests.core.lectures.ics_samples import calendar, event

BERLIN = ZoneInfo("Europe/Berlin")
YEAR = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def expand(data: bytes, room: str = "A-101", match: str = "", no_record: tuple[str, ...] = ("no-recording",),
           span: tuple[datetime, datetime] = YEAR):
    return occurrences(parse(data, "test"), *span, room=room, location_match=match, no_record=no_record,
                       floating_zone=BERLIN)


def test_weekly_lecture_stays_at_10_15_berlin_across_both_daylight_saving_switches() -> None:
    # Thursdays from 5 March (CET) past 29 March (CEST) and past 25 October (CET again): 36 weeks.
    data = calendar(event("algebra@uni", "20260305T101500", "20260305T114500", "Algebra",
                          "RRULE:FREQ=WEEKLY;COUNT=36"))
    got = expand(data)
    assert len(got) == 36
    for o in got:
        local = o.start.astimezone(BERLIN)
        assert local.time() == time(10, 15) and local.weekday() == 3, local
        assert o.end - o.start == timedelta(minutes=90)
        assert o.recurrence_id == o.start.strftime("%Y-%m-%dT%H:%M:%SZ")
    utc_hours = {o.start.date(): o.start.hour for o in got}
    assert utc_hours[datetime(2026, 3, 26).date()] == 9  # CET: UTC+1
    assert utc_hours[datetime(2026, 4, 2).date()] == 8  # CEST: UTC+2, after 29 March
    assert utc_hours[datetime(2026, 10, 22).date()] == 8
    assert utc_hours[datetime(2026, 10, 29).date()] == 9  # CET again, after 25 October
    assert len({o.recurrence_id for o in got}) == 36


def test_exdate_drops_an_occurrence_and_recurrence_id_moves_one() -> None:
    data = calendar(
        event("algebra@uni", "20260305T101500", "20260305T114500", "Algebra", "RRULE:FREQ=WEEKLY;COUNT=5",
              "EXDATE;TZID=Europe/Berlin:20260312T101500"),
        event("algebra@uni", "20260320T121500", "20260320T131500", "Algebra (moved)",
              "RECURRENCE-ID;TZID=Europe/Berlin:20260319T101500"),
    )
    got = expand(data)
    local = [(o.start.astimezone(BERLIN).strftime("%m-%d %H:%M"), o.title) for o in got]
    assert local == [("03-05 10:15", "Algebra"), ("03-20 12:15", "Algebra (moved)"), ("03-26 10:15", "Algebra"),
                     ("04-02 10:15", "Algebra")]
    moved = got[1]
    # The moved occurrence keeps its identity: the original start is its RECURRENCE-ID.
    assert moved.recurrence_id == "2026-03-19T09:15:00Z"
    assert moved.end - moved.start == timedelta(hours=1)


def test_rdate_adds_an_occurrence() -> None:
    data = calendar(event("seminar@uni", "20260305T140000", "20260305T153000", "Seminar", "RRULE:FREQ=WEEKLY;COUNT=2",
                          "RDATE;TZID=Europe/Berlin:20260401T090000"))
    starts = [o.start.astimezone(BERLIN).strftime("%m-%d %H:%M") for o in expand(data)]
    assert starts == ["03-05 14:00", "03-12 14:00", "04-01 09:00"]


def test_all_day_transparent_and_cancelled_events_are_not_lectures() -> None:
    data = calendar(
        event("lecture@uni", "20260305T101500", "20260305T114500", "Physics"),
        "\n".join(["BEGIN:VEVENT", "UID:holiday@uni", "DTSTAMP:20260101T000000Z", "DTSTART;VALUE=DATE:20260306",
                   "DTEND;VALUE=DATE:20260307", "SUMMARY:Dies academicus", "END:VEVENT"]),
        event("office@uni", "20260305T130000", "20260305T140000", "Office hour", "TRANSP:TRANSPARENT"),
        event("gone@uni", "20260305T150000", "20260305T160000", "Cancelled talk", "STATUS:CANCELLED"),
        event("weekly@uni", "20260305T080000", "20260305T090000", "Weekly", "RRULE:FREQ=WEEKLY;COUNT=3"),
        event("weekly@uni", "20260312T080000", "20260312T090000", "Weekly", "STATUS:CANCELLED",
              "RECURRENCE-ID;TZID=Europe/Berlin:20260312T080000"),
    )
    got = [(o.uid, o.start.astimezone(BERLIN).strftime("%m-%d")) for o in expand(data)]
    assert got == [("weekly@uni", "03-05"), ("lecture@uni", "03-05"), ("weekly@uni", "03-19")]


def test_google_export_floating_times_with_x_wr_timezone() -> None:
    # Google writes UTC times and names the calendar's zone in X-WR-TIMEZONE; x-wr-timezone makes them local.
    data = calendar(event("g1@google.com", "20260305T091500", "20260305T104500", "Algebra", "RRULE:FREQ=WEEKLY;COUNT=6",
                          tzid=""),
                    tz="", extra="X-WR-TIMEZONE:Europe/Berlin")
    got = expand(data)
    assert [o.start.astimezone(BERLIN).time() for o in got] == [time(10, 15)] * 6


def test_one_calendar_for_several_rooms_by_location() -> None:
    data = calendar(event("a@uni", "20260305T101500", "20260305T114500", "Algebra", "LOCATION:Building 1\\, A-101"),
                    event("b@uni", "20260305T101500", "20260305T114500", "Biology", "LOCATION:Hörsaal B-2"),
                    event("c@uni", "20260305T121500", "20260305T134500", "Chemistry"))
    assert [o.uid for o in expand(data, room="A-101")] == ["a@uni", "c@uni"]
    assert [o.uid for o in expand(data, room="B2", match="hörsaal b-2")] == ["b@uni", "c@uni"]


def test_privacy_by_category_or_keyword_is_marked_not_dropped() -> None:
    data = calendar(event("p1@uni", "20260305T101500", "20260305T114500", "Exam review",
                          "CATEGORIES:Lecture,No-Recording"),
                    event("p2@uni", "20260305T121500", "20260305T134500", "Ethics (private)"),
                    event("p3@uni", "20260305T141500", "20260305T154500", "Algebra",
                          "ORGANIZER;CN=Dr. Noether:mailto:noether@uni.example"))
    got = {o.uid: o for o in expand(data, no_record=("no-recording", "private"))}
    assert got["p1@uni"].private_reason == "category 'no-recording'"
    assert got["p2@uni"].private_reason == "keyword 'private'"
    assert got["p3@uni"].private_reason == ""
    assert got["p3@uni"].organizer == "Dr. Noether <noether@uni.example>"


@pytest.mark.parametrize("garbage", [b"", b"<html><body>Sign in</body></html>",
                                     b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\x00\xff", b"\xff\xfe\x00garbage"])
def test_garbage_is_not_a_calendar(garbage: bytes) -> None:
    with pytest.raises(CalendarUnreadable, match="calendar test"):
        occurrences(parse(garbage, "test"), *YEAR, room="A-101", location_match="", no_record=())
