"""Timetables as calendar programs write them (CRLF lines, VTIMEZONE blocks, DTSTAMP), built per test."""

from __future__ import annotations

BERLIN_TZ = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""


def calendar(*events: str, tz: str = BERLIN_TZ, extra: str = "") -> bytes:
    body = "\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//University//Timetable//EN", *(
        [extra] if extra else []), tz, *events, "END:VCALENDAR"])
    return ("\r\n".join(line for line in body.splitlines() if line.strip()) + "\r\n").encode()


def event(uid: str, start: str, end: str, summary: str, *lines: str, tzid: str = "Europe/Berlin") -> str:
    """A VEVENT; `start`/`end` as 20260305T101500 in `tzid` ('' for UTC with a Z, 'floating' for none)."""
    def when(name: str, value: str) -> str:
        if tzid == "":
            return f"{name}:{value}Z"
        if tzid == "floating":
            return f"{name}:{value}"
        return f"{name};TZID={tzid}:{value}"

    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", when("DTSTART", start),
                      when("DTEND", end), f"SUMMARY:{summary}", *lines, "END:VEVENT"])
