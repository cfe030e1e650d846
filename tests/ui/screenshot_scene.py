"""Render the main window with cameras in several states and save a PNG: `python -m tests.ui.screenshot_scene OUT`.

Run under a real X server (Xvfb) by tests/ui/test_screenshot.py; the README shows the result.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState, LogLine, QueueStatus, UploadProgress, UploadState
from nvr_console.ui.app import build_console
from tests.ui.engine_double import EngineDouble

CAMERAS = (  # room, camera, state, extra
    ("A-101", "front", CameraState.RECORDING, {"file_size": 412_000_000, "bitrate_kbps": 4100}),
    ("A-101", "back", CameraState.RECORDING, {"file_size": 198_000_000, "bitrate_kbps": 2050}),
    ("A-102", "board", CameraState.RECONNECTING, {"next_retry_in": 12}),
    ("B-201", "lectern", CameraState.FAILED, {"last_error": "The camera refused the login: wrong user or password."}),
    ("B-202", "hall", CameraState.STOPPED, {}),
    ("C-301", "lab", CameraState.SCHEDULED, {}),
)
SOURCES = ("testsrc2", "testsrc", "smptebars", "rgbtestsrc", "pal75bars", "yuvtestsrc")


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(["nvr-console"])
    QCoreApplication.setOrganizationName("nvr-console-screenshot")
    tmp = Path(tempfile.mkdtemp(prefix="nvr-shot-"))
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'db.sqlite3'}",
                                        "recording.dir": str(tmp / "rec"), "recording.segment_length": "30m"},
                             env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    ids = []
    for room, cam, *_ in CAMERAS:
        if room not in [r.name for r in catalog.list_rooms(db)]:
            catalog.add_room(db, room)
        ids.append(catalog.add_camera(db, room, cam, f"rtsp://10.0.0.{len(ids) + 10}/stream1").id)
    engine = EngineDouble({i: (r, c) for i, (r, c, *_) in zip(ids, CAMERAS, strict=True)})
    console = build_console(settings, db, engine)
    w = console.window
    w.close_question = lambda _n: "keep"  # type: ignore[method-assign]
    w.resize(1280, 640)
    w.show()
    now = time.time()
    for i, (cid, (_r, _c, state, extra)) in enumerate(zip(ids, CAMERAS, strict=True)):
        kw = dict(extra)
        if state is CameraState.RECORDING:
            kw.update(current_file=f"/rec/{cid}.mkv", file_started=now - 754 - 300 * i)
        engine.status(cid, state, **kw)
    folder = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"
    engine.upload_progress.emit(UploadProgress(41, ids[0], UploadState.UPLOADING, 610_000_000, 940_000_000,
                                               rate_bps=11_800_000, eta_s=28, folder_link=folder))
    engine.upload_progress.emit(UploadProgress(40, ids[1], UploadState.UPLOADED, 1, 1, folder_link=folder))
    engine.upload_progress.emit(UploadProgress(39, ids[2], UploadState.QUEUED, 0, 880_000_000))
    engine.upload_progress.emit(UploadProgress(38, ids[3], UploadState.RETRYING, 0, 1, error="HTTP 503, retry in 8 s"))
    engine.queue_status.emit(QueueStatus(3, 2_700_000_000, 11_800_000))
    engine.log_line.emit(LogLine(now - 30, "error", ids[3], "The camera refused the login: wrong user or password."))
    engine.log_line.emit(LogLine(now - 20, "warning", ids[2], "No route to host; reconnecting in 12 s"))
    engine.log_line.emit(LogLine(now - 5, "info", ids[0], "finished 2026-03-02_10-00_A-101_front.mp4 (1.7 GB)"))
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        from nvr_console.core.snapshot import check_stream

        for cid, src, (_r, _c, state, _e) in zip(ids, SOURCES, CAMERAS, strict=True):
            if state in (CameraState.RECORDING, CameraState.STALLED, CameraState.RECONNECTING):
                png = check_stream(ffmpeg, f"lavfi:{src}=size=320x180:rate=5", width=112).png
                w.model.set_thumbnail(cid, QImage.fromData(png, "PNG"))
    w.tabs.setCurrentWidget(w.uploads)

    def shoot() -> None:
        w.model.flush()
        w.grab().save(str(out))
        app.quit()

    QTimer.singleShot(1200, shoot)
    app.exec()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
