"""Parse and format durations the way operators write them: `30m`, `10s`, `1h30m`, `90d`, or plain seconds."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|ms|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: str | int | float) -> float:
    """Seconds in `value`; raises ValueError for anything else (negative included)."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip().lower().replace(" ", "")
        if not text:
            raise ValueError("empty duration")
        try:
            seconds = float(text)
        except ValueError:
            pos, seconds = 0, 0.0
            for m in _PART.finditer(text):
                if m.start() != pos:
                    raise ValueError(f"cannot read {value!r}") from None
                seconds += float(m.group(1)) * _UNITS[m.group(2).lower()]
                pos = m.end()
            if pos != len(text) or pos == 0:
                raise ValueError(f"cannot read {value!r}") from None
    if seconds < 0 or seconds != seconds:  # NaN
        raise ValueError("negative duration")
    return seconds


def format_duration(seconds: float) -> str:
    """`1800` -> `30m`, `90` -> `1m30s`, `5.5` -> `5.5s`: the inverse of parse_duration for display."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    s = int(seconds)
    if s > 86400 and s % 86400 == 0:  # retention periods: 90d rather than 2160h (24h stays 24h)
        return f"{s // 86400}d"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{sec}s" if sec else "")
    return out or "0s"
