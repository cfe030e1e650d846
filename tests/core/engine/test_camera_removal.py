"""Removing a camera while it records, with real FFmpeg: through the engine (what the console's Remove does)
and from another process (`nvr-console cameras remove`). The last segment is finalized, the row goes, the
recordings stay, and nothing is logged as an error."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Q_ARG, QMetaObject, Qt

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import DesiredState
from nvr_console.core.db.session import Database
from nvr_console.core.engine.camera_removal import CameraRemovals
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, ffmpeg_pids_writing_to, wait_until

DEMO = "lavfi:testsrc2=size=320x180:rate=10"


def test_a_camera_goes_once_it_is_not_busy_and_a_vanished_row_is_no_error(db: Database) -> None:
    catalog.add_room(db, "R")
    a = catalog.add_camera(db, "R", "a", "rtsp://127.0.0.1:9/a")
    removals = CameraRemovals(db)
    assert removals.request(a.id) and not removals.request(a.id)
    assert catalog.get_camera_by_id(db, a.id).desired_state == DesiredState.STOPPED.value  # at once
    assert removals.finish(lambda cid: True) == []  # its recorder still stops: the row stays
    assert catalog.get_camera_by_id(db, a.id) is not None
    (done,) = removals.finish(lambda cid: False)
    assert (done.camera_id, done.name) == (a.id, "R/a") and catalog.get_camera_by_id(db, a.id) is None
    assert removals.leaving == set()
    # Removed meanwhile by another console: still finished, named by its id.
    assert removals.request(a.id)
    assert [r.name for r in removals.finish(lambda cid: False)] == [f"#{a.id}"]


@pytest.mark.slow
def test_removing_recording_cameras_finalizes_their_last_file_and_logs_no_error(
    settings_factory: Callable[..., Settings], qapp: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # One file per run (a day's segment), so "the last segment" is the one being written at removal.
    settings = settings_factory(**{"recording.segment_length": "24h", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    keep = catalog.add_camera(db, "R", "keep", DEMO)
    console = catalog.add_camera(db, "R", "console", DEMO)
    other = catalog.add_camera(db, "R", "cli", DEMO)
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    host.start()
    root = settings.recording.dir
    try:
        def recording_with_data(cid: int) -> bool:
            s = got.latest(cid)
            return s is not None and s.state is CameraState.RECORDING and s.file_size > 0

        assert wait_until(lambda: all(recording_with_data(c.id) for c in (keep, console, other)), 40)

        # The console's Remove: one command to the engine, which owns the whole removal.
        QMetaObject.invokeMethod(host.engine, "remove_camera", Qt.ConnectionType.QueuedConnection,
                                 Q_ARG(int, console.id))
        assert wait_until(lambda: console.id in got.removed, 30)
        assert catalog.get_camera_by_id(db, console.id) is None
        with got.lock:
            files = [e for e in got.finished if e.camera == "console"]
        # Finalized before the row went (the event came first), and ready.
        assert [e.status for e in files] == ["ready"], files
        assert not ffmpeg_pids_writing_to(root / "R" / "console")

        # Another process removes a camera under the running engine: noticed as removed, quietly.
        subprocess.run([sys.executable, "-m", "nvr_console", "cameras", "remove", "--room", "R", "--name", "cli",
                        "--database-url", settings.database.url], check=True, capture_output=True, timeout=60,
                       env={**os.environ})
        assert wait_until(lambda: other.id in got.removed, 10)
        assert wait_until(lambda: any(e.camera == "cli" for e in got.finished), 30)
        with got.lock:
            assert [e.status for e in got.finished if e.camera == "cli"] == ["ready"]
        assert got.removed.count(console.id) == 1 and got.removed.count(other.id) == 1

        assert got.latest(keep.id).state is CameraState.RECORDING  # the other camera never noticed
    finally:
        assert host.stop(30)

    rows = {r.camera: r for r in catalog.list_recordings(db)}
    for name in ("console", "cli"):
        r = rows[name]
        # The recording stays, named by room and camera, its camera link cleared with the camera.
        assert (r.status, r.room, r.camera_id) == ("ready", "R", None), r
        assert Path(r.local_path).is_file() and r.duration and r.duration > 0
    assert [c.name for c in catalog.list_cameras(db)] == ["keep"]
    with got.lock:
        errors = [x.text for x in got.logs if x.level == "error"]
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    db.dispose()
