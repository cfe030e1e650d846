import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvr_console.core.text.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("10s", 10), ("1800", 1800), ("1h30m", 5400), ("2.5s", 2.5), (" 1H ", 3600), (15, 15),
     ("90d", 90 * 86400), ("1d12h", 129600), ("500ms", 0.5)],
)
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "-5", "abc", "10x", "m", "5m-", "1h 2", True])
def test_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)  # type: ignore[arg-type]


@given(st.integers(0, 10 * 86400))
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_whole_days_are_shown_as_days_but_one_day_as_hours() -> None:
    assert format_duration(90 * 86400) == "90d"
    assert format_duration(86400) == "24h"
