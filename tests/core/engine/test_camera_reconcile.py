"""Camera reconcile: the plan from the database, recorders started/stopped/restarted/retired to match it,
the statuses a console sees, and the catalog fingerprint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject

from nvr_console.core import catalog
from nvr_console.core.catalog import CameraInfo, RoomInfo
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.engine.camera_reconcile import (
    CameraReconciler,
    CatalogWatch,
    RecorderSet,
    plan,
    recorded_here,
)
from nvr_console.core.recording.recorder import Recorder, RecorderConfig
from nvr_console.core.status import CameraState, CameraStatus
from tests.core.engine_support import wait_until

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DEMO = "lavfi:testsrc2=size=160x120:rate=10"


def _cam(cid: int, room_id: int, room: str, name: str, *, enabled: bool = True, desired: str = "recording",
         url: str = "rtsp://h/x") -> CameraInfo:
    return CameraInfo(cid, room_id, room, name, url, "tcp", enabled, desired, NOW, NOW)


def _room(rid: int, name: str, sound: str | None = None) -> RoomInfo:
    return RoomInfo(rid, name, None, sound, "", 0)


def test_the_plan_says_which_recorders_run_and_what_idle_cameras_show(tmp_path: Path) -> None:
    cams = [_cam(1, 1, "A", "front"), _cam(2, 1, "A", "off", enabled=False), _cam(3, 1, "A", "stopped",
            desired="stopped"), _cam(4, 2, "B", "back"), _cam(5, 2, "B", "leaving")]
    rooms = [_room(1, "A", "rtsp://h/sound"), _room(2, "B"), _room(3, "C", "rtsp://h/c-sound")]
    p = plan(cams, rooms, tmp_path, in_window=True, leaving={5})
    by = {c.spec.name: c for c in p.cameras}
    assert set(by) == {"front", "off", "stopped", "back"}  # the leaving camera gets no recorder
    assert [n for n, c in by.items() if c.record] == ["front", "back"]
    assert by["off"].enabled is False and by["off"].idle is CameraState.STOPPED
    assert by["front"].spec.output_dir == tmp_path / "A" / "front" and by["front"].spec.key == "camera:1"
    # A room's sound source records while one of its cameras does.
    assert [(spec.key, spec.sound_only, record) for spec, record in p.sounds] == [
        ("sound:1", True, True), ("sound:3", True, False)]
    assert p.rooms_with_sound == {"A", "C"} and p.existing == {1, 2, 3, 4, 5}
    assert p.keys == {"camera:1", "camera:2", "camera:3", "camera:4", "sound:1", "sound:3"}

    outside = plan(cams, rooms, tmp_path, in_window=False)
    assert not any(c.record for c in outside.cameras)
    assert {c.spec.name: c.idle for c in outside.cameras}["front"] is CameraState.SCHEDULED
    assert all(recorded_here(c) for c in cams)  # a lone engine records every camera

    # Several nodes: this one records only what it holds (camera 4); the rest are stopped here, not removed.
    fleet = plan(cams, rooms, tmp_path, in_window=True, leaving={5}, records=lambda cid: cid == 4)
    assert [c.spec.name for c in fleet.cameras if c.record] == ["back"]
    assert {c.spec.name: c.idle for c in fleet.cameras}["front"] is CameraState.STOPPED
    assert [(spec.key, record) for spec, record in fleet.sounds] == [("sound:1", False), ("sound:3", False)]
    assert fleet.keys == p.keys and fleet.existing == p.existing
    # Outside the window a wanted camera is scheduled on every node, placed yet or not (as request_status says).
    waiting = plan(cams, rooms, tmp_path, in_window=False, records=lambda cid: cid == 4)
    assert {c.spec.name: c.idle for c in waiting.cameras} == {
        "front": CameraState.SCHEDULED, "back": CameraState.SCHEDULED, "off": CameraState.STOPPED,
        "stopped": CameraState.STOPPED, "leaving": CameraState.SCHEDULED}


def _cfg(tmp_path: Path) -> RecorderConfig:
    return RecorderConfig("ffmpeg", 3600, "local", 20.0, 10.0, tmp_path / "run", None, 2.0, 2.0)


def test_recorders_follow_the_plan_and_an_edited_camera_restarts_after_its_old_ffmpeg(
    tmp_path: Path, qapp: object
) -> None:
    parent = QObject()
    wired: list[Recorder] = []
    shown: list[CameraStatus] = []
    recorders = RecorderSet(parent, wired.append)
    recorders.config = _cfg(tmp_path)
    rec = CameraReconciler(recorders, shown.append)
    rooms = [_room(1, "A")]
    cams = [_cam(1, 1, "A", "demo", url=DEMO), _cam(2, 1, "A", "idle", desired="stopped")]
    try:
        assert rec.apply(plan(cams, rooms, tmp_path, True)) == []
        assert set(recorders.active) == {"camera:1", "camera:2"} and len(wired) == 2
        assert [s.state for s in shown] == [CameraState.STOPPED]  # the idle camera shows itself once
        first = recorders.active["camera:1"]
        assert wait_until(lambda: first.state is CameraState.RECORDING, 30), first.last_error
        statuses = rec.statuses(cams, True, True, lambda cid: None)
        assert [(s.camera_id, s.state) for s in statuses] == [(1, CameraState.RECORDING), (2, CameraState.STOPPED)]

        # Edited URL: the old recorder stops first; none for that key until it is gone.
        edited = [_cam(1, 1, "A", "demo", url=DEMO + ":duration=3600"), cams[1]]
        rec.apply(plan(edited, rooms, tmp_path, True))
        assert "camera:1" in recorders.retiring and "camera:1" not in recorders.active
        assert rec.statuses(edited, True, True, lambda cid: None)[0].state is CameraState.STOPPING
        assert rec.decorate(first.status()) is None  # a recorder on its way out says nothing to the console
        assert wait_until(lambda: not first.running, 15)
        assert recorders.stopped("camera:1") and not recorders.holds("camera:1")
        rec.apply(plan(edited, rooms, tmp_path, True))
        second = recorders.active["camera:1"]
        assert second is not first and second.last_exit > 0  # the successor knows when the old FFmpeg exited
        # Polled as the engine's tick does: the successor waits out the second of its predecessor's exit.
        assert wait_until(lambda: second.poll() or second.state is CameraState.RECORDING, 30), second.last_error

        # Deleted from the database: retired and returned for the engine to announce; a camera left out of
        # the plan but still in the database (being removed) is retired quietly.
        removed = rec.apply(plan(edited[1:], rooms, tmp_path, True))
        assert [r.spec.key for r in removed] == ["camera:1"]
        assert rec.apply(plan(edited[1:], rooms, tmp_path, True, leaving={2})) == []
        assert "camera:2" not in recorders.active
        assert wait_until(lambda: not recorders.any_running(), 15)
    finally:
        recorders.dispose_all()


def test_decorated_status_shows_the_idle_state_and_enabled(tmp_path: Path, qapp: object) -> None:
    recorders = RecorderSet(QObject(), lambda r: None)
    recorders.config = _cfg(tmp_path)
    rec = CameraReconciler(recorders, lambda s: None)
    cams = [_cam(1, 1, "A", "later"), _cam(2, 1, "A", "off", enabled=False)]
    rec.apply(plan(cams, [_room(1, "A")], tmp_path, in_window=False))
    shown = rec.decorate(recorders.active["camera:1"].status())
    assert shown is not None and shown.state is CameraState.SCHEDULED and shown.enabled
    off = rec.decorate(recorders.active["camera:2"].status())
    assert off is not None and off.state is CameraState.STOPPED and off.enabled is False
    assert rec.decorate(CameraStatus(-1, "A", "sound source", CameraState.RECORDING, 0.0)) is None
    # A camera added since the last reconcile (no recorder yet) answers too.
    late = _cam(3, 1, "A", "late")
    previous = CameraStatus(3, "A", "late", CameraState.SCHEDULED, 123.0)
    (s,) = rec.statuses([late], False, True, lambda cid: previous)
    assert (s.state, s.since) == (CameraState.SCHEDULED, 123.0)  # same state: its `since` is kept
    (s,) = rec.statuses([late], True, True, lambda cid: previous)
    assert s.state is CameraState.STARTING and s.since > 123.0
    recorders.dispose_all()


def test_the_catalog_fingerprint_sees_adds_edits_deletes_and_the_window(
    settings_factory: Callable[..., Settings], db: Database
) -> None:
    watch = CatalogWatch()
    assert watch.changed(db, True)  # the first look
    assert not watch.changed(db, True)
    catalog.add_room(db, "A")
    assert watch.changed(db, True) and not watch.changed(db, True)
    catalog.add_camera(db, "A", "cam", "rtsp://h/x")
    assert watch.changed(db, True)
    catalog.edit_camera(db, "A", "cam", url="rtsp://h/y")
    assert watch.changed(db, True)
    assert watch.changed(db, False) and not watch.changed(db, False)  # the window closed
    catalog.remove_camera(db, "A", "cam")
    assert watch.changed(db, False)
