"""Where a recording goes at its destination: `<YYYY-MM-DD>/<HH:MM>/<YYYY-MM-DD_HH-MM>_<room>_<camera>.mp4`.

Times are the recording's slot start in the configured time zone (the original service used Europe/Moscow).
Local archives use `HH-MM` for the time folder, because ':' is not allowed in Windows file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RemoteName:
    day: str  # 2026-11-23
    time: str  # 14:30 (Drive folder name)
    time_local: str  # 14-30 (local folder name)
    file: str  # 2026-11-23_14-30_A-101_front.mp4


def remote_name(
    slot_start: datetime, room: str, camera: str, zone: ZoneInfo | None, suffix: str = ".mp4"
) -> RemoteName:
    """The destination names of one recording. `zone` None = the system's local time."""
    t = slot_start.astimezone(zone) if zone is not None else slot_start.astimezone()
    ext = suffix if suffix.startswith(".") else "." + suffix
    return RemoteName(
        day=t.strftime("%Y-%m-%d"),
        time=t.strftime("%H:%M"),
        time_local=t.strftime("%H-%M"),
        file=f"{t.strftime('%Y-%m-%d_%H-%M')}_{room}_{camera}{ext}",
    )


def suffix_of(local_path: str) -> str:
    """`.mp4` for most recordings; the container the finalizer wrote otherwise."""
    return PurePath(local_path).suffix or ".mp4"
