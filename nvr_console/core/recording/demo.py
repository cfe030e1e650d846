"""Demo cameras from FFmpeg's own test sources, so the whole pipeline runs on a machine with no cameras."""

from __future__ import annotations

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.recording.ffmpeg_command import DEMO_URL

DEMO_ROOM = "Demo room"
# (camera name, lavfi source): a moving picture plus a tone each, different so they are told apart.
DEMO_CAMERAS = (
    ("test pattern", DEMO_URL),
    ("counter", "lavfi:testsrc=size=640x360:rate=25;sine=frequency=660:sample_rate=16000"),
)


def ensure_demo_cameras(db: Database) -> list[catalog.CameraInfo]:
    """With no cameras configured, add the demo room and cameras; returns what was added. Any thread."""
    if catalog.list_cameras(db):
        return []
    if not any(r.name == DEMO_ROOM for r in catalog.list_rooms(db)):
        catalog.add_room(db, DEMO_ROOM, notes="FFmpeg test sources; remove when real cameras are added")
    return [catalog.add_camera(db, DEMO_ROOM, name, url) for name, url in DEMO_CAMERAS]
