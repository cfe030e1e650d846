"""Recording rows written straight into a test database, in any status, for views and queries that read them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nvr_console.core import catalog
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database


def add_recording(db: Database, camera: catalog.CameraInfo, status: RecordingStatus, slot: datetime,
                  **fields: Any) -> int:
    """A Recording of `camera` for the slot starting at `slot` (aware); `fields` set any other column."""
    path = f"/rec/{camera.room}/{camera.name}/{slot:%Y-%m-%d}/{slot.astimezone(UTC):%H-%M-%S}.mp4"
    with db.session() as s:
        r = Recording(camera_id=camera.id, room_name=camera.room, camera_name=camera.name, slot_start=slot,
                      local_path=path, local_path_key=catalog.path_key(path), status=status, **fields)
        s.add(r)
        s.flush()
        return r.id
