from __future__ import annotations

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.recording.demo import DEMO_ROOM, ensure_demo_cameras


def test_demo_cameras_only_when_none_exist(db: Database) -> None:
    added = ensure_demo_cameras(db)
    assert len(added) == 2 and all(c.stream_url.startswith("lavfi:") and c.room == DEMO_ROOM for c in added)
    assert ensure_demo_cameras(db) == []
    assert len(catalog.list_cameras(db)) == 2


def test_no_demo_cameras_beside_real_ones(db: Database) -> None:
    catalog.add_room(db, "A")
    catalog.add_camera(db, "A", "front", "rtsp://10.0.0.5/stream")
    assert ensure_demo_cameras(db) == []
