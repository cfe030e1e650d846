"""Byte sizes as operators read and write them: IEC units (KiB, MiB, GiB, TiB: powers of 1024) everywhere,
in the console, the command line, `config show` and the logs.

`parse_size` also reads decimal units (`5GB` = 5 x 1000^3 bytes), since people write them; what is shown is
always IEC, so one screen never mixes the two.
"""

from __future__ import annotations

import re

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$", re.IGNORECASE)
_FACTORS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2,
            "mib": 1024**2, "g": 1024**3, "gb": 1000**3, "gib": 1024**3, "t": 1024**4,
            "tb": 1000**4, "tib": 1024**4}


def format_size(n: float, exact: bool = False) -> str:
    """`1536` -> `1.5 KiB`, `16777216` -> `16 MiB`, `512` -> `512 B`.

    At most one decimal, dropped when it is 0. `exact=True` gives a text `parse_size` reads back to the same
    number (the largest unit that holds `n` a whole number of times: `16 MiB`, `1000 B`), for settings.
    """
    if exact:
        whole = int(n)
        if whole != n:
            raise ValueError(f"{n!r} is not a whole number of bytes")
        for power in range(len(_UNITS) - 1, 0, -1):
            factor = 1024**power
            if whole and whole % factor == 0:
                return f"{whole // factor} {_UNITS[power]}"
        return f"{whole} B"
    sign = "-" if n < 0 else ""
    size = abs(float(n))
    power = 0
    while power < len(_UNITS) - 1 and round(size, 1) >= 1024:
        size /= 1024
        power += 1
    if power == 0:
        return f"{sign}{size:.0f} B"
    text = f"{size:.1f}".removesuffix(".0")
    return f"{sign}{text} {_UNITS[power]}"


def format_rate(bytes_per_s: float) -> str:
    """`1572864` -> `1.5 MiB/s`."""
    return f"{format_size(bytes_per_s)}/s"


def parse_size(value: str | int) -> int:
    """Bytes in `16MiB`, `16 MiB`, `10GB`, `512k` or a plain number; ValueError for anything else."""
    if isinstance(value, bool):
        raise ValueError("not a size")
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        m = _SIZE.match(value.strip())
        if not m:
            raise ValueError("not a size")
        n = int(float(m.group(1)) * _FACTORS[(m.group(2) or "").lower()])
    else:
        raise ValueError("not a size")
    if n < 0:
        raise ValueError("negative size")
    return n
