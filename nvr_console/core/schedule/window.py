"""Recording windows: the days and hours when cameras record (the original: Mon-Sat 09:00-21:00).

Syntax: `always`, or one or more `DAYS HH:MM-HH:MM` separated by `;`, where DAYS is `daily`,
`weekdays`, `weekends`, a range `Mon-Sat` or a list `Mon,Wed,Fri`. `22:00-06:00` crosses midnight
and belongs to the day it starts on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(?P<days>[A-Za-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$")
EXPECTED = "'always' or 'DAYS HH:MM-HH:MM' such as 'Mon-Sat 09:00-21:00' (several joined by ';')"


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time  # end <= start means the span runs past midnight


@dataclass(frozen=True)
class RecordingWindow:
    spans: tuple[Span, ...] = ()  # empty = always
    text: str = "always"

    @property
    def always(self) -> bool:
        return not self.spans

    @classmethod
    def parse(cls, text: str) -> RecordingWindow:
        """Parse the window syntax; raises ValueError naming the part it could not read."""
        raw = text.strip()
        if raw.lower() in ("", "always", "24/7"):
            return cls()
        spans = []
        for part in raw.split(";"):
            part = part.strip()
            m = _SPAN.match(part)
            if not m:
                raise ValueError(f"cannot read {part!r}")
            spans.append(Span(_parse_days(m["days"]), _parse_time(m["start"]), _parse_time(m["end"])))
        return cls(tuple(spans), raw)

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (aware, in the configured time zone) falls inside the window."""
        if self.always:
            return True
        t, wd = moment.timetz().replace(tzinfo=None), moment.weekday()
        for s in self.spans:
            if s.end > s.start:
                if wd in s.days and s.start <= t < s.end:
                    return True
            else:  # crosses midnight: the evening part today, or the morning part of yesterday's span
                if wd in s.days and t >= s.start:
                    return True
                if (wd - 1) % 7 in s.days and t < s.end:
                    return True
        return False

    def next_change(self, moment: datetime, horizon_days: int = 8) -> datetime | None:
        """The next instant after `moment` at which `contains` flips, or None if it never does."""
        if self.always:
            return None
        state = self.contains(moment)
        candidates: list[datetime] = []
        for offset in range(-1, horizon_days + 1):
            day = (moment + timedelta(days=offset)).date()
            for s in self.spans:
                for t in (s.start, s.end):
                    c = datetime.combine(day, t, tzinfo=moment.tzinfo)
                    if c > moment:
                        candidates.append(c)
        for c in sorted(candidates):
            if self.contains(c) != state:
                return c
        return None


def _parse_days(text: str) -> frozenset[int]:
    t = text.lower()
    if t in ("daily", "everyday", "all"):
        return frozenset(range(7))
    if t == "weekdays":
        return frozenset(range(5))
    if t == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for item in t.split(","):
        if "-" in item:
            a, b = item.split("-", 1)
            i, j = _day(a), _day(b)
            k = i
            while True:
                days.add(k)
                if k == j:
                    break
                k = (k + 1) % 7
        else:
            days.add(_day(item))
    return frozenset(days)


def _day(text: str) -> int:
    key = text.strip()[:3]
    if key not in DAY_NAMES:
        raise ValueError(f"unknown day {text!r} (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)")
    return DAY_NAMES.index(key)


def _parse_time(text: str) -> time:
    h, m = (int(x) for x in text.split(":"))
    if h == 24 and m == 0:
        return time(0, 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"no such time {text!r}")
    return time(h, m)
