"""How the benchmarks print a measurement taken several times: its median and its spread."""

from __future__ import annotations

import statistics


def spread(values: list[float]) -> str:
    """Median (min-max) with three significant digits (ratios well under 0.1 stay readable)."""
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})"
