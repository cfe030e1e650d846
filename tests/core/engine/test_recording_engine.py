"""Engine slots and scheduling: operator start/stop persisted, recording window, status replay, clean stop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, Signal

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import DesiredState, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.live_state import store as live_status
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.core.status import CameraState, UploadProgress, UploadState
from tests.core.engine_support import Collected, ffmpeg_pids_writing_to, wait_until
from tests.support.drive_server import DriveServer
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer


class _Console(QObject):
    settings_changed = Signal(object)


def _window_excluding_now() -> str:
    """A one-minute daily window about two hours away from now (local time)."""
    t = now_in(None) + timedelta(hours=2)
    end = t + timedelta(minutes=1)
    return f"daily {t:%H:%M}-{end:%H:%M}"


def test_outside_the_window_cameras_wait_in_scheduled(settings_factory: Callable[..., Settings], qapp: object) -> None:
    settings = settings_factory(**{"recording.window": _window_excluding_now(), "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    cam = catalog.add_camera(db, "R", "cam", "rtsp://127.0.0.1:9/never-contacted")
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    host.start()
    try:
        assert wait_until(lambda: got.latest(cam.id) is not None, 10)
        assert got.latest(cam.id).state is CameraState.SCHEDULED
        wait_until(lambda: False, 2.5)
        assert set(got.states(cam.id)) == {CameraState.SCHEDULED}  # FFmpeg never started
        # The console changes the window to 'always': the camera is wanted now (nothing listens there).
        console = _Console()  # as the UI does it: a queued signal carrying the new Settings
        console.settings_changed.connect(host.engine.apply_settings, Qt.ConnectionType.QueuedConnection)
        console.settings_changed.emit(settings_factory(**{"upload.destination": "none"}))
        assert wait_until(lambda: got.latest(cam.id).state in (CameraState.STARTING, CameraState.RECONNECTING), 5)
        assert "refused" in got.latest(cam.id).last_error or got.latest(cam.id).state is CameraState.STARTING
    finally:
        assert host.stop(20)
    db.dispose()


@pytest.mark.slow
def test_operator_start_stop_is_persisted_and_leaves_no_ffmpeg(
    rtsp_server: RtspServer,  # noqa: F811
    settings_factory: Callable[..., Settings],
    qapp: object,
) -> None:
    # Uploads to the local archive, keeping the local copies: the engine drives the uploader too.
    settings = settings_factory(**{"recording.segment_length": "10", "upload.destination": "local",
                                   "retention.delete_after": "never"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    a = catalog.add_camera(db, "R", "a", rtsp_server.url("/cam"))
    b = catalog.add_camera(db, "R", "b", rtsp_server.url("/cam"))
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    uploads: list[UploadProgress] = []
    host.engine.upload_progress.connect(uploads.append)
    host.start()
    folder_a = settings.recording.dir / "R" / "a"
    try:
        assert wait_until(lambda: all(got.latest(c.id) and got.latest(c.id).state is CameraState.RECORDING
                                      for c in (a, b)), 30)
        status = got.latest(a.id)
        assert status.current_file.startswith(str(folder_a)) and status.current_file.endswith(".mkv")

        QMetaObject.invokeMethod(host.engine, "stop_camera", Qt.ConnectionType.QueuedConnection, Q_ARG(int, a.id))
        assert wait_until(lambda: got.latest(a.id).state is CameraState.STOPPED, 10)
        assert catalog.get_camera_by_id(db, a.id).desired_state == "stopped"  # other consoles see it
        assert not ffmpeg_pids_writing_to(folder_a, recorders_only=True)  # its last file may be remuxing
        assert got.latest(b.id).state is CameraState.RECORDING
        assert wait_until(lambda: any(e.camera == "a" and e.status == "ready" for e in got.finished), 15)

        # Ready files go to the upload queue and are uploaded (verified) by the engine's uploader.
        assert wait_until(lambda: any(p.state is UploadState.UPLOADED for p in uploads), 30)
        assert list(settings.upload.local_dir.rglob("*.mp4"))

        # A console that connects late asks for everything once.
        n = len(got.statuses)
        QMetaObject.invokeMethod(host.engine, "request_status", Qt.ConnectionType.QueuedConnection)
        assert wait_until(lambda: {s.camera_id for s in got.statuses[n:]} >= {a.id, b.id}, 5)

        QMetaObject.invokeMethod(host.engine, "start_camera", Qt.ConnectionType.QueuedConnection, Q_ARG(int, a.id))
        assert wait_until(lambda: got.latest(a.id).state is CameraState.RECORDING, 20)
        assert catalog.get_camera_by_id(db, a.id).desired_state == "recording"

        # An edited URL takes effect within 5 s: the recorder restarts on the new stream (G.711 audio now).
        catalog.edit_camera(db, "R", "b", url=rtsp_server.url("/cam_alaw"))
        t_edit = time.monotonic()
        assert wait_until(lambda: any("cam_alaw" in x.text and "starting" in x.text for x in got.logs), 5)
        assert time.monotonic() - t_edit <= 5
        assert wait_until(lambda: got.latest(b.id).state is CameraState.RECORDING, 20)

        # Live status reaches the database for `nvr-console status` and remote consoles.
        assert wait_until(lambda: any(r.state == "recording" for r in live_status.read_report(db)[0]), 10)

        QMetaObject.invokeMethod(host.engine, "stop_all", Qt.ConnectionType.QueuedConnection)
        assert wait_until(lambda: all(got.latest(c.id).state is CameraState.STOPPED for c in (a, b)), 10)
    finally:
        assert host.stop(30)
    assert not ffmpeg_pids_writing_to(settings.recording.dir)
    assert all(e.status == "ready" for e in got.finished)
    assert {r.status for r in catalog.list_recordings(db)} <= {"ready", "uploaded"}
    db.dispose()


def test_shutdown_before_start_emits_stopped(settings: Settings, db: Database, qapp: object) -> None:
    engine = Engine(settings, db)
    fired: list[bool] = []
    engine.stopped.connect(lambda: fired.append(True))
    engine.shutdown()
    assert fired == [True]


def test_request_status_reports_every_camera_in_the_database(
    settings_factory: Callable[..., Settings], qapp: object
) -> None:
    """A late console asks once: stopped, scheduled, disabled and just-added cameras all answer (no recorder
    needs to exist for them), before the engine starts and while it runs."""
    settings = settings_factory(**{"recording.window": _window_excluding_now(), "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    wanted = catalog.add_camera(db, "R", "wanted", "rtsp://127.0.0.1:9/never-contacted")  # -> scheduled
    stopped = catalog.add_camera(db, "R", "stopped", "rtsp://127.0.0.1:9/never-contacted")
    catalog.set_desired_state(db, stopped.id, DesiredState.STOPPED)
    disabled = catalog.add_camera(db, "R", "disabled", "rtsp://127.0.0.1:9/never-contacted", enabled=False)
    expected = {wanted.id: CameraState.SCHEDULED, stopped.id: CameraState.STOPPED, disabled.id: CameraState.STOPPED}

    # Not started yet (the engine thread not even running): the answer comes from the database alone.
    idle = Engine(settings, db)
    before = Collected()
    before.attach(idle)
    idle.request_status()
    assert {s.camera_id: s.state for s in before.statuses} == expected
    assert next(s for s in before.statuses if s.camera_id == disabled.id).enabled is False
    idle.deleteLater()

    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    host.start()
    try:
        assert wait_until(lambda: all(got.latest(c) is not None for c in expected), 10)
        # A camera added a moment ago (maybe not reconciled yet) answers too.
        late = catalog.add_camera(db, "R", "late", "rtsp://127.0.0.1:9/never-contacted")
        expected[late.id] = CameraState.SCHEDULED
        n = len(got.statuses)
        QMetaObject.invokeMethod(host.engine, "request_status", Qt.ConnectionType.QueuedConnection)
        assert wait_until(lambda: {s.camera_id for s in got.statuses[n:]} >= set(expected), 10)
        answered = {s.camera_id: s.state for s in got.statuses[n:]}
        assert answered[wanted.id] is CameraState.SCHEDULED
        assert answered[stopped.id] is CameraState.STOPPED and answered[disabled.id] is CameraState.STOPPED
        assert answered[late.id] is CameraState.SCHEDULED
    finally:
        assert host.stop(20)
    db.dispose()


def test_a_paused_upload_queue_is_visible_to_status_and_resume_clears_it(
    settings_factory: Callable[..., Settings], tmp_path: Path, qapp: object
) -> None:
    """The pause lives in the engine's uploader; `nvr-console status` in another process must still say why."""
    with DriveServer() as drive:
        settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": drive.root_url,
                                       "drive.credentials": "anonymous", "upload.chunk_size": "256KiB",
                                       "retention.delete_after": "never"})
        db = Database(settings.database.url)
        prepare_database(db)
        video = tmp_path / "front.mp4"
        video.write_bytes(os.urandom(300_000))
        with db.session() as s:
            s.add(Recording(room_name="A-101", camera_name="front", slot_start=datetime(2026, 11, 24, 9, tzinfo=UTC),
                            local_path=str(video), local_path_key=catalog.path_key(str(video)), status="ready",
                            size=video.stat().st_size))
        drive.fail_next("create_session", "storage_quota")
        host = EngineHost(settings, db)
        host.start()
        try:
            assert wait_until(lambda: live_status.current_pause(db) is not None, 20)
            pause = live_status.current_pause(db)
            assert "storage" in pause.reason.lower() and pause.node and pause.since
            out = subprocess.run([sys.executable, "-m", "nvr_console", "status", "--database-url",
                                  settings.database.url], capture_output=True, text=True, timeout=60, check=True)
            assert "uploads PAUSED on" in out.stdout and pause.reason in out.stdout

            QMetaObject.invokeMethod(host.engine, "resume_uploads", Qt.ConnectionType.QueuedConnection)
            assert wait_until(lambda: {r.status for r in catalog.list_recordings(db)} == {"uploaded"}, 30)
            assert wait_until(lambda: live_status.current_pause(db) is None, 10)
        finally:
            assert host.stop(30)
        assert live_status.current_pause(db) is None
        db.dispose()


def test_the_engine_tells_the_console_what_it_keeps_free_on_the_recordings_disk(
    settings_factory: Callable[..., Settings], qapp: object
) -> None:
    settings = settings_factory(**{"retention.min_free_space": "1000TiB", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    host.start()
    try:
        assert wait_until(lambda: bool(got.disk), 10)
        disk = got.disk[-1]
        assert disk.short and disk.keep == 1000 * 1024**4 and disk.why == "retention.min_free_space"
        assert 0 < disk.free < disk.keep
    finally:
        assert host.stop(20)
    db.dispose()
