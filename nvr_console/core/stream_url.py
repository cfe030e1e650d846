"""Checks for the URLs an operator types: camera streams, room sound sources, Drive folders."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from nvr_console.core.text.masking import mask_url

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https", "udp", "srt", "rtmp")
# A demo camera: `lavfi:<video graph>[;<audio graph>]`, each given to FFmpeg's lavfi input as is.
LAVFI_PREFIX = "lavfi:"
STREAM_EXPECTED = (
    "rtsp://[user:password@]host[:port]/path (also rtsps, http, https, udp, srt, rtmp) "
    "or lavfi:<FFmpeg test source> for a demo camera"
)
# lavfi can read files (movie, amovie), text (flite), patterns (life, cellauto) and load code (frei0r_src,
# ladspa, openclsrc), so a demo camera may only use FFmpeg's test sources and a few filters that touch
# nothing outside the graph (none of them has a file, URL or path option).
LAVFI_VIDEO_SOURCES = frozenset({
    "testsrc", "testsrc2", "smptebars", "smptehdbars", "rgbtestsrc", "yuvtestsrc", "pal75bars", "pal100bars",
    "color", "colorchart", "colorspectrum", "gradients", "mandelbrot", "sierpinski", "allrgb", "allyuv",
    "nullsrc", "mptestsrc",
})
LAVFI_AUDIO_SOURCES = frozenset({"sine", "anullsrc", "anoisesrc"})
LAVFI_FILTERS = frozenset({"format", "scale", "fps", "setsar", "hflip", "vflip", "volume", "aformat", "aresample"})
LAVFI_EXPECTED = (
    "lavfi:<video source>[;<audio source>] with FFmpeg's test sources, e.g. "
    "lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440"
)
# One filter with its options. No quotes, escapes, labels or spaces: what FFmpeg then parses is exactly
# what was checked here.
_LAVFI_FILTER = re.compile(r"(?P<name>[a-z0-9_]+)(?:=[A-Za-z0-9_.:=+\-#@*/()]+)?")

_DRIVE_ID = re.compile(r"^[A-Za-z0-9_-]{10,200}$")
_DRIVE_URL_ID = re.compile(r"(?:/folders/|[?&]id=)([A-Za-z0-9_-]{10,200})")


class InvalidInput(ValueError):
    """Operator input that cannot be used; `str()` names the field, the value and the fix."""


def validate_stream_url(url: str, field: str = "URL") -> str:
    """Return the trimmed URL, or raise InvalidInput saying what is wrong (password masked)."""
    text = url.strip()
    if not text:
        raise InvalidInput(f"{field} is empty; expected {STREAM_EXPECTED}")
    hidden = sorted({c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp")})
    if hidden:
        shown = " ".join(f"U+{ord(c):04X}" for c in hidden)
        raise InvalidInput(f"{field} {mask_url(text)!r} contains {shown}, which cannot be part of a URL; type it "
                           "again (percent-encode characters a password needs, such as %0A)")
    if is_lavfi(text):
        lavfi_graphs(text, field)
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


def validate_sound_source(url: str, field: str = "sound source URL") -> str:
    """A room's sound source: a network stream like a camera's, never a lavfi test source (the recorder keeps
    only the audio of input 0, and a test source has its audio on a second input)."""
    text = validate_stream_url(url, field)
    if is_lavfi(text):
        raise InvalidInput(f"{field} {text!r} is a test source; a room's sound source must be a network stream "
                           "such as rtsp://host/audio (leave it empty for none)")
    return text


def is_lavfi(url: str) -> bool:
    """Whether `url` is a demo camera made of FFmpeg test sources (checked by lavfi_graphs)."""
    return url.startswith(LAVFI_PREFIX)


def lavfi_graphs(url: str, field: str = "URL") -> tuple[str, str | None]:
    """The video graph and the audio graph (or None) of a `lavfi:` URL, after checking every filter in them
    against the allow-lists; raises InvalidInput naming the first filter that is not allowed."""
    parts = url[len(LAVFI_PREFIX):].split(";")
    if not parts[0]:
        raise InvalidInput(f"{field} {url!r} names no test source; expected {LAVFI_EXPECTED}")
    if len(parts) > 2:
        raise InvalidInput(f"{field} {url!r} has {len(parts)} graphs; expected {LAVFI_EXPECTED}")
    for graph, sources, kind in zip(parts, (LAVFI_VIDEO_SOURCES, LAVFI_AUDIO_SOURCES), ("video", "audio"),
                                    strict=False):
        for i, spec in enumerate(graph.split(",")):
            m = _LAVFI_FILTER.fullmatch(spec)
            if m is None:
                raise InvalidInput(
                    f"{field} {url!r}: {spec!r} is not a plain filter (name=option:option, without quotes, "
                    f"escapes, labels or spaces); expected {LAVFI_EXPECTED}"
                )
            allowed = sources if i == 0 else LAVFI_FILTERS
            if m["name"] not in allowed:
                role = f"{kind} test source" if i == 0 else "filter after a test source"
                raise InvalidInput(
                    f"{field} {url!r}: {m['name']!r} is not an allowed {role} (allowed: "
                    f"{', '.join(sorted(allowed))}); a demo camera reads nothing from files or devices"
                )
    return parts[0], parts[1] if len(parts) == 2 else None


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
