"""How numbers read on screen: sizes, rates, durations and clock times, short enough for a table cell."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

# Sizes and rates have one formatter for the whole program (IEC units: KiB, MiB, GiB); these are its names here.
from nvr_console.core.text.sizes import format_rate as human_rate
from nvr_console.core.text.sizes import format_size as human_size

__all__ = ["clock", "compact_duration", "human_duration", "human_rate", "human_size", "now"]


def human_duration(seconds: float) -> str:
    """`75` -> `1:15`, `3725` -> `1:02:05`."""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def compact_duration(seconds: float) -> str:
    """How long something has lasted, two units at most: `45s`, `2m31s`, `1h02m`, `3d04h`."""
    s = max(0, int(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d{h:02d}h"
    if h:
        return f"{h}h{m:02d}m"
    return f"{m}m{s:02d}s" if m else f"{s}s"


def clock(epoch: float, zone: ZoneInfo | None = None) -> str:
    return datetime.fromtimestamp(epoch, zone).strftime("%H:%M:%S")


def now() -> float:
    """The wall clock the views read; one place so tests can reason about it."""
    return time.time()
