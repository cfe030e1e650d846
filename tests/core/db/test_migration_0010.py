"""Migration 0010 (a camera's live URL) on a database that already holds a camera, both ways, on both backends."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from nvr_console.core import catalog
from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database


def test_existing_cameras_get_no_live_url_and_the_column_goes_and_comes_back(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.upgrade(db, "0009")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO rooms (name, drive_folder, notes, created_at, updated_at) "
                          "VALUES ('A', '', '', '2026-12-07 10:00:00', '2026-12-07 10:00:00')"))
        room_id = conn.execute(text("SELECT id FROM rooms")).scalar_one()
        conn.execute(text("INSERT INTO cameras (room_id, name, stream_url, rtsp_transport, enabled, desired_state, "
                          "created_at, updated_at) VALUES (:r, 'front', 'rtsp://h/main', 'tcp', 1, 'recording', "
                          "'2026-12-07 10:00:00', '2026-12-07 10:00:00')"), {"r": room_id})
    migrate.upgrade(db)
    (cam,) = catalog.list_cameras(db)
    assert cam.live_url is None and cam.wall_url == "rtsp://h/main"
    catalog.edit_camera(db, "A", "front", live_url="rtsp://u:pw@h/sub")
    assert catalog.get_camera(db, "A", "front").wall_url == "rtsp://u:pw@h/sub"
    with db.engine.begin() as conn:
        command.downgrade(migrate._config(conn), "0009")
    assert "live_url" not in {c["name"] for c in inspect(db.engine).get_columns("cameras")}
    migrate.upgrade(db)
    assert catalog.get_camera(db, "A", "front").live_url is None
    db.dispose()
