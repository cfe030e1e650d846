"""How numbers read on screen: sizes, rates, durations and clock times, short enough for a table cell."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo


def human_size(n: float) -> str:
    """`1536` -> `1.5 KB` (decimal units, as file managers show them)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def human_rate(bytes_per_s: float) -> str:
    return f"{human_size(bytes_per_s)}/s"


def human_duration(seconds: float) -> str:
    """`75` -> `1:15`, `3725` -> `1:02:05`."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def clock(epoch: float, zone: ZoneInfo | None = None) -> str:
    return datetime.fromtimestamp(epoch, zone).strftime("%H:%M:%S")


def now() -> float:
    """The wall clock the views read; one place so tests can reason about it."""
    return time.time()
