"""Which lines of FFmpeg's stderr say what went wrong, masked (FFmpeg prints input URLs, passwords included).

FFmpeg also prints banners, stream dumps and progress, and ends most failures with a generic line
("Conversion failed!") that names no cause; the lines worth showing are the last ones that read like an error.
"""

from __future__ import annotations

import re

from nvr_console.core.text.masking import mask_secrets

# Lines that carry the error.
_ERRORISH = re.compile(
    r"error|failed|refused|timed out|invalid|not found|unauthorized|denied|no such|could not|unable|"
    r"unsupported|unknown encoder|no space|no route|unreachable|resolve|can.t write",
    re.IGNORECASE,
)
# FFmpeg's closing words after the line that says why: true, but no reason.
_GENERIC = ("Conversion failed!", "Exiting normally")


def is_error_line(line: str) -> bool:
    """Whether one line of stderr reads like an error."""
    return bool(_ERRORISH.search(line))


def last_error_line(stderr_text: str) -> str | None:
    """The last line of stderr that reads like an error, masked; None when there is none."""
    lines = error_lines(stderr_text, 1)
    return lines[0] if lines else None


def error_lines(stderr_text: str, count: int) -> list[str]:
    """The last `count` lines of stderr that read like an error (FFmpeg's generic closing words left out),
    oldest first, masked."""
    found: list[str] = []
    for line in reversed(stderr_text.splitlines()):
        line = line.strip()
        if line and _ERRORISH.search(line) and not line.startswith(_GENERIC):
            found.append(mask_secrets(line))
            if len(found) == count:
                break
    return found[::-1]


def summarise(stderr_text: str, count: int = 1) -> str:
    """The last `count` error lines joined by " / "; else the last non-empty line; masked ("" for none)."""
    lines = error_lines(stderr_text, count)
    if lines:
        return " / ".join(lines)
    rest = [line.strip() for line in stderr_text.splitlines() if line.strip()]
    return mask_secrets(rest[-1]) if rest else ""
