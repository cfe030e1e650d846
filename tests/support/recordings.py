"""Recording rows and files for tests that read recordings back (coverage, export, the Recordings view)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from nvr_console.core.config import Settings
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database


def add_local_recording(db: Database, settings: Settings, camera_id: int, room: str, camera: str, start: datetime,
                        clip: Path, seconds: float, status: str = RecordingStatus.READY.value, **extra: object) -> Path:
    """Copy `clip` to where the finalizer would have put it and add its row (as the finalizer leaves it)."""
    zone = ZoneInfo(settings.recording.timezone) if settings.recording.timezone != "local" else None
    local = start.astimezone(zone) if zone else start.astimezone()
    path = settings.recording.dir / room / camera / f"{local:%Y-%m-%d}" / f"{local:%H-%M-%S}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(clip, path)
    data = path.read_bytes()
    with db.session() as s:
        s.add(Recording(camera_id=camera_id, room_name=room, camera_name=camera, slot_start=start, start_time=start,
                        end_time=start + timedelta(seconds=seconds), local_path=str(path), local_path_key=str(path),
                        size=len(data), duration=seconds, md5=hashlib.md5(data).hexdigest(), status=status,
                        **extra))
    return path
