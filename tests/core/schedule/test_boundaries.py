"""Slot math agrees with FFmpeg's -segment_atclocktime: local time of day modulo the length."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from nvr_console.core.schedule.boundaries import localize, next_boundary, slot_of_epoch, slot_start

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def test_half_hour_slots_at_00_and_30() -> None:
    t = datetime(2026, 11, 24, 10, 47, 13, 500000, tzinfo=MSK)
    assert slot_start(t, 1800) == datetime(2026, 11, 24, 10, 30, tzinfo=MSK)
    assert next_boundary(t, 1800) == datetime(2026, 11, 24, 11, 0, tzinfo=MSK)
    on = datetime(2026, 11, 24, 11, 0, tzinfo=MSK)
    assert slot_start(on, 1800) == on
    assert next_boundary(on, 1800) == datetime(2026, 11, 24, 11, 30, tzinfo=MSK)


def test_length_not_dividing_a_day_restarts_at_midnight() -> None:
    # 7 s: 86400 = 12342 * 7 + 6, so the day's last slot is 6 s long, as FFmpeg cuts it.
    late = datetime(2026, 11, 24, 23, 59, 58, tzinfo=MSK)
    assert slot_start(late, 7) == datetime(2026, 11, 24, 23, 59, 54, tzinfo=MSK)
    assert next_boundary(late, 7) == datetime(2026, 11, 25, 0, 0, tzinfo=MSK)


def test_slots_follow_wall_clock_across_dst() -> None:
    # Berlin, 2026-03-29: 02:00 -> 03:00. Slots stay on wall-clock :00/:30.
    after = datetime(2026, 3, 29, 3, 40, tzinfo=BERLIN)
    assert slot_start(after, 1800) == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert slot_of_epoch(after.timestamp(), 1800, BERLIN) == datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)


def test_epoch_slots_are_the_same_instant_in_every_zone_for_whole_hour_offsets() -> None:
    epoch = datetime(2026, 11, 24, 7, 31, 5, tzinfo=ZoneInfo("UTC")).timestamp()
    a = slot_of_epoch(epoch, 1800, MSK)
    b = slot_of_epoch(epoch, 1800, ZoneInfo("UTC"))
    assert a.timestamp() == b.timestamp()


def test_local_zone_is_supported() -> None:
    t = localize(datetime(2026, 11, 24, 10, 47, 13), None)
    assert t.tzinfo is not None
    assert slot_start(t, 600).minute == 40


@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)),
    length=st.sampled_from([5.0, 7.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 5400.0]),
)
def test_slot_contains_moment_and_boundary_is_after(moment: datetime, length: float) -> None:
    t = moment.replace(tzinfo=MSK)
    start, nxt = slot_start(t, length), next_boundary(t, length)
    assert start <= t < nxt
    assert nxt - start <= timedelta(seconds=length)
    assert slot_start(start, length) == start
