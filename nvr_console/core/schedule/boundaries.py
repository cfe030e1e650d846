"""Wall-clock slot math in the configured time zone, mirroring FFmpeg's `-segment_atclocktime`.

FFmpeg cuts when (local time of day in seconds) modulo (segment length) wraps, using `localtime_r`
(so the TZ we pass in its environment). Slots therefore restart at every local midnight: with a
length that does not divide a day, the last slot of a day is short. These functions agree with that
rule, so the engine and every FFmpeg process name the same slot for the same instant.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo


def now_in(zone: ZoneInfo | None) -> datetime:
    """The current aware time in `zone` (None = the system's local time)."""
    return datetime.now(zone) if zone is not None else datetime.now().astimezone()


def localize(naive: datetime, zone: ZoneInfo | None) -> datetime:
    """A naive wall-clock time read from a file name, made aware in `zone` (None = local)."""
    if zone is not None:
        return naive.replace(tzinfo=zone)
    return naive.astimezone()  # naive is interpreted as system local time


def _seconds_since_midnight(moment: datetime) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def _wall(moment: datetime, seconds: float, tz: tzinfo | None) -> datetime:
    """Local midnight of `moment`'s day plus `seconds` of wall-clock time, aware again."""
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    naive = midnight + timedelta(seconds=seconds)
    if isinstance(tz, ZoneInfo):
        return naive.replace(tzinfo=tz)
    return naive.astimezone()


def slot_start(moment: datetime, length: float) -> datetime:
    """Start of the slot holding `moment` (aware, already in the configured zone)."""
    secs = _seconds_since_midnight(moment)
    n = math.floor(secs / length + 1e-9)
    return _wall(moment, n * length, moment.tzinfo)


def next_boundary(moment: datetime, length: float) -> datetime:
    """The first cut strictly after `moment`: the next multiple of `length`, or the next midnight."""
    secs = _seconds_since_midnight(moment)
    n = math.floor(secs / length + 1e-9) + 1
    if n * length >= 86400:
        return _wall(moment, 86400, moment.tzinfo)
    return _wall(moment, n * length, moment.tzinfo)


def slot_of_epoch(epoch: float, length: float, zone: ZoneInfo | None) -> datetime:
    """Start of the slot holding the instant `epoch` (seconds), in `zone`."""
    moment = datetime.fromtimestamp(epoch, zone) if zone is not None else datetime.fromtimestamp(epoch).astimezone()
    return slot_start(moment, length)
