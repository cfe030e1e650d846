"""Checks for the URLs an operator types: camera streams, room sound sources, Drive folders."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from nvr_console.core.masking import mask_url

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "udp", "srt", "rtmp")
LAVFI_PREFIX = "lavfi:"
STREAM_EXPECTED = (
    "rtsp://[user:password@]host[:port]/path (also rtsps, http, https, udp, srt, rtmp) "
    "or lavfi:<FFmpeg test source> for a demo camera"
)

_DRIVE_ID = re.compile(r"^[A-Za-z0-9_-]{10,200}$")
_DRIVE_URL_ID = re.compile(r"(?:/folders/|[?&]id=)([A-Za-z0-9_-]{10,200})")


class InvalidInput(ValueError):
    """Operator input that cannot be used; `str()` names the field, the value and the fix."""


def validate_stream_url(url: str, field: str = "URL") -> str:
    """Return the trimmed URL, or raise InvalidInput saying what is wrong (password masked)."""
    text = url.strip()
    if not text:
        raise InvalidInput(f"{field} is empty; expected {STREAM_EXPECTED}")
    if text.startswith(LAVFI_PREFIX):
        if len(text) == len(LAVFI_PREFIX):
            raise InvalidInput(f"{field} {text!r} names no test source; expected e.g. lavfi:testsrc2")
        return text
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise InvalidInput(f"{field} {mask_url(text)!r} cannot be read ({exc}); expected {STREAM_EXPECTED}") from None
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise InvalidInput(
            f"{field} {mask_url(text)!r} has scheme {parts.scheme or '(none)'!r}; expected {STREAM_EXPECTED}"
        )
    if not parts.hostname and parts.scheme.lower() != "udp":
        raise InvalidInput(f"{field} {mask_url(text)!r} names no host; expected {STREAM_EXPECTED}")
    if port == 0:
        raise InvalidInput(f"{field} {mask_url(text)!r} has port 0; expected a port from 1 to 65535")
    if any(c.isspace() for c in text):
        raise InvalidInput(f"{field} {mask_url(text)!r} contains spaces; percent-encode them as %20")
    return text


def parse_drive_folder(value: str) -> str:
    """A Drive folder id from an id or a pasted folder URL (`.../drive/folders/<id>?usp=sharing`)."""
    text = value.strip()
    if _DRIVE_ID.match(text):
        return text
    m = _DRIVE_URL_ID.search(text)
    if m and text.startswith(("https://drive.google.com/", "http://drive.google.com/")):
        return m.group(1)
    raise InvalidInput(
        f"Drive folder {text!r} is neither a folder id nor a folder link; expected an id like "
        "1AbCdEfGhIjKlMnOp or a link like https://drive.google.com/drive/folders/<id>"
    )


def drive_folder_link(folder_id: str) -> str:
    return f"https://drive.google.com/drive/folders/{folder_id}"
