from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core.schedule.window import RecordingWindow

TZ = ZoneInfo("Europe/Moscow")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    # 2026-11-23 is a Monday
    return datetime(2026, 11, 23 + day, hour, minute, tzinfo=TZ)


def test_always_by_default() -> None:
    w = RecordingWindow.parse("always")
    assert w.always and w.contains(at(6, 3)) and w.next_change(at(0, 0)) is None


def test_original_service_window() -> None:
    w = RecordingWindow.parse("Mon-Sat 09:00-21:00")
    assert w.contains(at(0, 9)) and w.contains(at(5, 20, 59))
    assert not w.contains(at(0, 8, 59)) and not w.contains(at(0, 21)) and not w.contains(at(6, 12))
    assert w.next_change(at(0, 8)) == at(0, 9)
    assert w.next_change(at(0, 10)) == at(0, 21)
    assert w.next_change(at(5, 22)) == at(7, 9)  # Saturday night -> next Monday


def test_overnight_and_lists() -> None:
    w = RecordingWindow.parse("Fri 22:00-06:00; Mon,Wed 12:00-13:00")
    assert w.contains(at(4, 23)) and w.contains(at(5, 5)) and not w.contains(at(5, 7))
    assert w.contains(at(2, 12, 30)) and not w.contains(at(1, 12, 30))


@pytest.mark.parametrize("text", ["Mon-Sat", "Mon-Xyz 09:00-10:00", "Mon 25:00-26:00", "daily 9-10"])
def test_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError):
        RecordingWindow.parse(text)
