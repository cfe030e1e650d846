"""Live-status publishing: rows written when due or when a state changes, the queue's pause at once, a
stopped engine's last word."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.db.models import CameraLiveStatus, EngineStatus
from nvr_console.core.db.session import Database
from nvr_console.core.live_publisher import LIVE_STATUS_EVERY, LiveStatusPublisher
from nvr_console.core.live_status import current_pause
from nvr_console.core.status import CameraState, CameraStatus, QueueStatus


def _rows(db: Database) -> dict[int, tuple[str, int]]:
    with db.session() as s:
        return {r.camera_id: (r.state, r.file_size) for r in s.scalars(select(CameraLiveStatus))}


def test_rows_follow_state_changes_at_once_and_sizes_when_due(db: Database) -> None:
    catalog.add_room(db, "A")
    cam = catalog.add_camera(db, "A", "front", "rtsp://h/1")
    pub = LiveStatusPublisher(db)
    pub.record(CameraStatus(cam.id, "A", "front", CameraState.RECORDING, time.time(), file_size=10))
    pub.tick(1)
    assert _rows(db) == {cam.id: ("recording", 10)}
    pub.record(CameraStatus(cam.id, "A", "front", CameraState.RECORDING, time.time(), file_size=20))
    pub.tick(2)
    assert _rows(db) == {cam.id: ("recording", 10)}  # same state: the size waits for the periodic write
    pub.tick(LIVE_STATUS_EVERY)
    assert _rows(db) == {cam.id: ("recording", 20)}
    pub.record(CameraStatus(cam.id, "A", "front", CameraState.STALLED, time.time(), file_size=20))
    pub.tick(LIVE_STATUS_EVERY + 1)
    assert _rows(db) == {cam.id: ("stalled", 20)}
    assert pub.latest(cam.id) is not None and pub.latest(cam.id).state is CameraState.STALLED

    pub.all_stopped()
    assert _rows(db) == {cam.id: ("stopped", 0)}
    pub.forget(cam.id)
    assert pub.latest(cam.id) is None


def test_a_paused_queue_reaches_the_database_at_once_and_a_stopping_engine_clears_it(db: Database) -> None:
    pub = LiveStatusPublisher(db)
    pub.queue_changed(QueueStatus(files=1, bytes=5, rate_bps=0.0, paused=True, reason="Drive storage is full"))
    pause = current_pause(db)
    assert pause is not None and pause.reason == "Drive storage is full"
    pub.stopping = True
    pub.write()
    assert current_pause(db) is None
    with db.session() as s:
        assert len(list(s.scalars(select(EngineStatus)))) == 1  # this engine's own row, once


def test_a_database_that_is_down_is_left_for_the_next_write(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    pub = LiveStatusPublisher(db)
    pub.record(CameraStatus(1, "A", "front", CameraState.RECORDING, time.time()))
    pub.tick(1)  # no tables: nothing raised, the engine keeps running
    pub.queue_changed(QueueStatus(0, 0, 0.0, paused=True, reason="x"))
    db.dispose()
