"""One size formatter for the whole program: IEC units, at most one decimal; parse_size reads what it shows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nvr_console.core.text.sizes import format_rate, format_size, parse_size


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (512, "512 B"), (1023, "1023 B"), (1024, "1 KiB"), (1536, "1.5 KiB"),
    (5_000_000, "4.8 MiB"), (16 * 1024**2, "16 MiB"), (1024**2 - 1, "1 MiB"), (5 * 1024**3, "5 GiB"),
    (3 * 1024**4 + 1024**4 // 2, "3.5 TiB"), (-2048, "-2 KiB"),
])
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text


def test_rate() -> None:
    assert format_rate(1.5 * 1024**2) == "1.5 MiB/s"


@pytest.mark.parametrize(("n", "text"), [(16 * 1024**2, "16 MiB"), (1536, "1536 B"),
                                         (3 * 1024, "3 KiB"), (1000, "1000 B"), (0, "0 B")])
def test_exact_sizes_name_the_largest_whole_unit(n: int, text: str) -> None:
    assert format_size(n, exact=True) == text


@pytest.mark.parametrize(("text", "n"), [("16MiB", 16 * 1024**2), ("16 MiB", 16 * 1024**2), ("5GB", 5 * 1000**3),
                                         ("512k", 512 * 1024), ("1024", 1024), (2048, 2048), ("1.5 KiB", 1536)])
def test_parse_size(text: str | int, n: int) -> None:
    assert parse_size(text) == n


@pytest.mark.parametrize("bad", ["", "x", "5 XB", "-1", True, -5])
def test_parse_size_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size(bad)  # type: ignore[arg-type]


@given(st.integers(0, 2**50))
def test_exact_text_reads_back(n: int) -> None:
    assert parse_size(format_size(n, exact=True)) == n
