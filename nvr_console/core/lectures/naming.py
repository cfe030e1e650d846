"""Lecture files and folders: `<YYYY-MM-DD>_<HH-MM>_<room>_<camera>_<title>.mp4` in `lectures.folder`.

A title is whatever the timetable says ("Algebra: Groups & Rings / Part 2?", "CON", a 300-character seminar
name, emoji): `safe_title` makes it a name every file system takes (Windows, macOS, Linux, Drive) and that
passes folder_names.name_problem: forbidden and invisible characters become '-', no leading '.', no trailing
'.' or space, no Windows device name, at most 80 bytes of UTF-8 cut at a character boundary. Pure functions.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, tzinfo

from nvr_console.core.folder_names import FORBIDDEN_CHARS, RESERVED_PREFIX, _invisible, name_problem

TITLE_BYTES = 80  # the file name adds date, time, room and camera (up to 2 x 100 bytes are rare; 255 is the cap)
FILE_NAME_BYTES = 240
_WINDOWS_DEVICE = re.compile(r"^(con|prn|aux|nul|conin\$|conout\$|(com|lpt)[0-9¹²³])(\..*)?$", re.IGNORECASE)


def _cut(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def safe_title(title: str, limit: int = TITLE_BYTES) -> str:
    """`title` as a file and folder name part that every file system takes; 'untitled' when nothing is left."""
    text = unicodedata.normalize("NFC", title)
    text = "".join("-" if c in FORBIDDEN_CHARS or _invisible(c) or unicodedata.category(c) == "Cs" else c
                   for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"-{2,}", "-", text)
    text = _cut(text, limit).strip()
    text = text.lstrip(RESERVED_PREFIX + " ").rstrip(". -")
    if _WINDOWS_DEVICE.match(text):
        text = f"_{text}"
    if not text or name_problem(text) is not None:
        return "untitled"
    return text


def file_name(start: datetime, room: str, camera: str, title: str, zone: tzinfo | None) -> str:
    """`2026-03-05_10-15_A-101_front_Algebra- Groups & Rings.mp4` (the lecture's local start)."""
    local = start.astimezone(zone) if zone is not None else start.astimezone()
    head = f"{local:%Y-%m-%d_%H-%M}_{room}_{camera}_"
    room_budget = FILE_NAME_BYTES - len(head.encode("utf-8")) - len(".mp4")
    return f"{head}{safe_title(title, max(16, min(TITLE_BYTES, room_budget)))}.mp4"


def folder_parts(template: str, title: str, room: str, organizer: str) -> list[str]:
    """`lectures.folder` with its placeholders filled, as folder names (each made safe)."""
    values = {"title": title, "room": room, "organizer": organizer.split("<")[0].strip() or organizer}
    parts = []
    for part in template.split("/"):
        filled = re.sub(r"{(title|room|organizer)}", lambda m: values[m.group(1)], part)
        parts.append(safe_title(filled, 100))
    return parts
