"""Room and camera names as folder names: what an operator may type, and what may be recorded into.

Names become folders (`<recordings>/<room>/<camera>/`, `<archive>/<room>/`) and parts of file names
(`<YYYY-MM-DD_HH-MM>_<room>_<camera>.mp4` in the local archive). Every folder and file the engine keeps
for itself next to them starts with RESERVED_PREFIX ('.': `.nvr-run`, `<room>/.sound`, `.*.partial`),
and no name may start with it, so no room or camera can reach them.

Two checks, two purposes:
- `name_problem`: the full rules for a name an operator types (portable to Windows and macOS too,
  since a shared database may feed consoles on several systems).
- `folder_problem`: the part that matters on this machine before recording into a stored name; names
  saved by older versions were never checked against the first list, and only a name that would
  escape its folder or reach a reserved one is refused there (an old "CON" camera keeps recording on
  Linux).
"""

from __future__ import annotations

import os
import re
import unicodedata

RESERVED_PREFIX = "."
# 100 bytes each: the archive's file name joins both names with 17 characters of date and time, and its
# temporary name adds about 30 more; file names may have 255 bytes.
MAX_NAME_BYTES = 100
FORBIDDEN_CHARS = frozenset('/\\:*?"<>|')
# Windows device names, also with an extension ("nul.txt"); superscript digits count on Windows 11.
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9¹²³])(\..*)?$", re.IGNORECASE)
EXPECTED = "use letters, digits, spaces, '-', '_' or '.' (not first or last), at most 100 bytes"


def name_problem(name: str) -> str | None:
    """Why `name` (already trimmed of spaces) cannot be a room or camera name, or None if it can.

    The reason completes the sentence "room name 'x' ..." and names what to do.
    """
    if not name:
        return "is empty; give a short name such as 'A-101' or 'front'"
    if any(unicodedata.category(c) == "Cs" for c in name):
        return "holds bytes that are not UTF-8 text; type the name again in a UTF-8 terminal"
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        return f"is {size} bytes long in UTF-8; the limit is {MAX_NAME_BYTES} (fewer letters in non-Latin scripts)"
    bad = sorted({c for c in name if c in FORBIDDEN_CHARS or _invisible(c)})
    if bad:
        shown = " ".join(repr(c) if c in FORBIDDEN_CHARS else f"U+{ord(c):04X}" for c in bad)
        return f"contains {shown}, which cannot be used in file and folder names; {EXPECTED}"
    if name.startswith(RESERVED_PREFIX):
        return f"starts with {RESERVED_PREFIX!r}, which nvr-console keeps for its own folders; {EXPECTED}"
    if name.endswith((".", " ")):
        return f"ends with {name[-1]!r}, which Windows drops from folder names; {EXPECTED}"
    if _WINDOWS_DEVICE.match(name):
        return f"is a device name on Windows and cannot be a folder there; {EXPECTED}"
    return None


def _invisible(c: str) -> bool:
    """Control, format and line-separator characters: they break one-line output and make two names that
    look the same differ (zero-width joiners stay: Persian and emoji need them)."""
    category = unicodedata.category(c)
    return category in ("Cc", "Zl", "Zp") or (category == "Cf" and c not in "\u200c\u200d")


def folder_problem(name: str) -> str | None:
    """Why a stored name must not become a folder on this machine (it would escape its parent folder or
    land in one of the engine's own), or None. Any thread."""
    # On Windows ':' also escapes: "a:b" is stream b of file a, "c:x" a path on drive C.
    seps = {"/", "\0", os.sep} | ({os.altsep} if os.altsep else set()) | ({":"} if os.name == "nt" else set())
    if not name or name in (".", ".."):
        return "is not a folder name"
    if any(c in seps for c in name):
        return "contains a path separator"
    if name.startswith(RESERVED_PREFIX):
        return f"starts with {RESERVED_PREFIX!r}, which nvr-console keeps for its own folders"
    if any(unicodedata.category(c) == "Cs" for c in name):
        return "holds bytes that are not UTF-8 text"
    return None


def folder_key(name: str) -> str:
    """What two names must not share within one parent: Windows and macOS folders ignore case, and macOS
    does not tell composed from decomposed accents ('é' vs 'e' + U+0301)."""
    return unicodedata.normalize("NFC", name).casefold()
