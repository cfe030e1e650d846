"""Printing for the admin commands: aligned tables for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from nvr_console.core.text.sizes import format_size


def print_json(data: Any, out: TextIO | None = None) -> None:
    out = out or sys.stdout  # looked up per call: sys.stdout may be re-pointed after import
    json.dump(data, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO | None = None,
                empty: str = "(none)") -> None:
    out = out or sys.stdout
    if not rows:
        out.write(empty + "\n")
        return
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    out.write("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for r in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n")


def human_size(n: int | None) -> str:
    """A size for a table cell in IEC units (core.text.sizes, as everywhere); '' when unknown."""
    return "" if n is None else format_size(n)
