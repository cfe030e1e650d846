"""Live-status publishing: rows written when due or when a state changes, the queue's pause at once, a
stopped engine's last word."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import CameraLiveStatus, EngineStatus
from nvr_console.core.db.session import Database
from nvr_console.core.live_state.publisher import LIVE_STATUS_EVERY, LiveStatusPublisher
from nvr_console.core.live_state.store import current_pause
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
    """Nothing raised while the tables are missing (the engine keeps running); what the engine said meanwhile is
    kept and written by the next periodic write once the database answers."""
    db = Database(f"sqlite:///{tmp_path / 'not-yet-migrated.sqlite3'}")
    pub = LiveStatusPublisher(db)
    pub.record(CameraStatus(1, "A", "front", CameraState.RECORDING, time.time(), file_size=10))
    pub.tick(1)  # no tables: nothing raised
    pub.queue_changed(QueueStatus(0, 0, 0.0, paused=True, reason="Drive storage is full"))
    pub.record(CameraStatus(1, "A", "front", CameraState.RECORDING, time.time(), file_size=20))
    prepare_database(db)  # the database answers again
    catalog.add_room(db, "A")
    assert catalog.add_camera(db, "A", "front", "rtsp://h/1").id == 1
    assert _rows(db) == {} and current_pause(db) is None
    pub.tick(LIVE_STATUS_EVERY)
    assert _rows(db) == {1: ("recording", 20)}  # the newest word, kept through the outage
    pause = current_pause(db)
    assert pause is not None and pause.reason == "Drive storage is full"
    db.dispose()


def test_a_camera_the_node_let_go_of_shows_stopped_and_a_newer_holders_row_is_left_alone(db: Database) -> None:
    catalog.add_room(db, "A")
    front = catalog.add_camera(db, "A", "front", "rtsp://h/1")
    back = catalog.add_camera(db, "A", "back", "rtsp://h/2")
    held = {front.id: 3, back.id: 5}
    pub = LiveStatusPublisher(db, node="a", tokens=lambda: dict(held))
    for cam in (front, back):
        pub.record(CameraStatus(cam.id, "A", cam.name, CameraState.RECORDING, time.time(), file_size=10))
    pub.write()
    assert _rows(db) == {front.id: ("recording", 10), back.id: ("recording", 10)}
    # An operator's Stop: the recorder stops and the node releases the lease (the order varies).
    held.pop(front.id)
    # back moved to node b (token 6), which wrote its row already.
    held.pop(back.id)
    with db.session() as s:
        row = s.get(CameraLiveStatus, back.id)
        assert row is not None
        row.node, row.lease_token, row.state = "b", 6, "recording"
    for cam in (front, back):
        pub.record(CameraStatus(cam.id, "A", cam.name, CameraState.STOPPED, time.time()))
    pub.tick(2)
    with db.session() as s:
        rows = {r.camera_id: (r.node, r.state, r.lease_token) for r in s.scalars(select(CameraLiveStatus))}
    assert rows == {front.id: ("a", "stopped", 3), back.id: ("b", "recording", 6)}
    # Said once: later writes leave the row to whoever holds the camera next.
    with db.session() as s:
        row = s.get(CameraLiveStatus, front.id)
        assert row is not None
        row.node, row.state = "b", "starting"  # someone else's word since (the fence aside, a repeat would hide it)
    pub.tick(LIVE_STATUS_EVERY)
    assert _rows(db)[front.id] == ("starting", 0)
