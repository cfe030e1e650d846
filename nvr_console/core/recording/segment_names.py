"""Where segments live and what their names mean.

Layout under the recordings folder (names in the configured time zone):
  <room>/<camera>/<YYYY-MM-DD>_<HH-MM-SS>.mkv     raw segment while FFmpeg writes it (flat: FFmpeg's
                                                  strftime cannot create folders, see ffmpeg_command)
  <room>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4     the final file (Recording.local_path)
  <room>/.sound/<YYYY-MM-DD>_<HH-MM-SS>.mkv       the room's sound source, raw
  .nvr-run/                                       pid files of running FFmpeg (process_group)
A Recording row is keyed by its FINAL path from the moment the raw file appears, so a crash at any
point leaves a row (or a raw file) that start-up recovery can finish.
Everything the engine keeps for itself next to room and camera folders starts with RESERVED_PREFIX ('.'),
which no room or camera name may (folder_names), so no name reaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.folder_names import RESERVED_PREFIX
from nvr_console.core.recording.ffmpeg_command import RECORDING_EXTENSION
from nvr_console.core.recording.probe import MediaInfo
from nvr_console.core.schedule.boundaries import localize

FINAL_EXTENSION = "mp4"
SOUND_DIR = RESERVED_PREFIX + "sound"
RUN_DIR = RESERVED_PREFIX + "nvr-run"
PARTIAL_SUFFIX = ".partial"  # on `.<name>.mp4`: see partial_path_for
_RAW_NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}-\d{2}-\d{2})\.(?P<ext>mkv)$")
_DATE_DIR = re.compile(r"\d{4}-\d{2}-\d{2}")
_FINAL_NAME = re.compile(r"\d{2}-\d{2}-\d{2}\." + FINAL_EXTENSION)


@dataclass(frozen=True)
class FinishedSegment:
    """A raw segment FFmpeg has closed. Times are epoch seconds (wall clock) or None when unknown."""

    source_key: str  # "camera:<id>" or "sound:<room id>"
    camera_id: int | None
    room: str
    name: str  # camera name (or the room name for a sound source)
    raw_path: Path
    wall_start: float | None
    wall_end: float | None
    # The streams FFmpeg said it writes (its stderr header): with them the finalizer needs no ffprobe of
    # the raw file; None if FFmpeg had not said (the finalizer probes then).
    streams: MediaInfo | None = None


def camera_dir(root: Path, room: str, camera: str) -> Path:
    return root / room / camera


def sound_dir(root: Path, room: str) -> Path:
    return root / room / SOUND_DIR


def run_dir(root: Path) -> Path:
    return root / RUN_DIR


def raw_name_time(raw: Path, zone: ZoneInfo | None) -> datetime | None:
    """The wall-clock time FFmpeg opened `raw` (from its name, 1 s resolution), aware; None if not ours."""
    m = _RAW_NAME.match(raw.name)
    if not m:
        return None
    try:
        naive = datetime.strptime(f"{m['date']} {m['time']}", "%Y-%m-%d %H-%M-%S")
    except ValueError:
        return None
    return localize(naive, zone)


def is_raw_segment(path: Path) -> bool:
    return _RAW_NAME.match(path.name) is not None


def final_path_for(raw: Path) -> Path:
    """`<dir>/2026-11-24_01-18-14.mkv` -> `<dir>/2026-11-24/01-18-14.mp4`."""
    m = _RAW_NAME.match(raw.name)
    if not m:
        raise ValueError(f"{raw.name} is not a raw segment name")
    return raw.parent / m["date"] / f"{m['time']}.{FINAL_EXTENSION}"


def raw_path_for(final: Path) -> Path:
    """Inverse of final_path_for."""
    return final.parent.parent / f"{final.parent.name}_{final.stem}.{RECORDING_EXTENSION}"


def partial_path_for(final: Path) -> Path:
    """Where the finalizer writes before the atomic rename (hidden, so nobody picks up half a file)."""
    return final.with_name(f".{final.name}{PARTIAL_SUFFIX}")


def raw_segments(directory: Path) -> list[Path]:
    """Raw segments in one camera or sound folder, oldest first (names sort by time)."""
    try:
        return sorted(p for p in directory.iterdir() if p.is_file() and is_raw_segment(p))
    except OSError:
        return []


def final_segments(directory: Path) -> list[Path]:
    """Final files in one camera folder (`<YYYY-MM-DD>/<HH-MM-SS>.mp4`), oldest first."""
    try:
        days = sorted(p for p in directory.iterdir() if p.is_dir() and _DATE_DIR.fullmatch(p.name))
        return [f for d in days for f in sorted(d.iterdir()) if f.is_file() and _FINAL_NAME.fullmatch(f.name)]
    except OSError:
        return []


def name_for(moment: datetime) -> str:
    """The raw name FFmpeg gives a segment opened at `moment` (for "not older than" comparisons)."""
    return moment.strftime("%Y-%m-%d_%H-%M-%S") + f".{RECORDING_EXTENSION}"
