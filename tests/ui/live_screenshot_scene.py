"""Render the Live tab (a 3x3 wall: cameras playing, one failed with its red frame and reason, one whose stream
is lost) and save a PNG: `python -m tests.ui.live_screenshot_scene OUT`.

Run under a real X server (Xvfb) by tests/ui/test_screenshot.py; the README shows the result. The tiles play
FFmpeg test sources (demo cameras, `lavfi:`) through the real decoder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState
from nvr_console.ui.app import build_console
from tests.ui.engine_double import EngineDouble

DEAD = "rtsp://127.0.0.1:9/stream1"  # nothing listens: the tile says so and retries
CAMERAS = (  # room, camera, stream, state, extra
    ("A-101", "front", "lavfi:testsrc2=size=640x360:rate=25", CameraState.RECORDING, {}),
    ("A-101", "back", "lavfi:smptehdbars=size=640x360:rate=25", CameraState.RECORDING, {}),
    ("A-102", "board", "lavfi:testsrc=size=640x360:rate=25", CameraState.RECORDING, {}),
    ("B-201", "lectern", DEAD, CameraState.RECONNECTING,
     {"last_error": "Connection refused: is the camera on and the port right?", "next_retry_in": 8}),
    ("B-202", "hall", "lavfi:mandelbrot=size=640x360:rate=25", CameraState.RECORDING, {}),
    ("C-301", "lab", "lavfi:rgbtestsrc=size=640x360:rate=25", CameraState.SCHEDULED, {}),
)


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(["nvr-console"])
    QCoreApplication.setOrganizationName("nvr-console-screenshot")
    tmp = Path(tempfile.mkdtemp(prefix="nvr-shot-"))
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'db.sqlite3'}",
                                        "recording.dir": str(tmp / "rec")}, env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    names: dict[int, tuple[str, str]] = {}
    for room, cam, url, *_ in CAMERAS:
        if room not in [r.name for r in catalog.list_rooms(db)]:
            catalog.add_room(db, room)
        names[catalog.add_camera(db, room, cam, url).id] = (room, cam)
    engine = EngineDouble(names)
    console = build_console(settings, db, engine)
    w = console.window
    w.close_question = lambda _n: "keep"  # type: ignore[method-assign]
    w.resize(1280, 800)
    w.show()
    wall = w.live
    wall.grid_choice.setCurrentText("3x3")
    w.splitter.setSizes([170, 630])
    for cid, (_room, _cam, _url, state, extra) in zip(names, CAMERAS, strict=True):
        engine.status(cid, state, **extra)
    deadline = time.monotonic() + 60

    def listed() -> None:
        if len(wall.cameras) < len(CAMERAS) and time.monotonic() < deadline:
            QTimer.singleShot(100, listed)
            return
        w.tabs.setCurrentWidget(wall)
        QTimer.singleShot(100, wait_for_pictures)

    def wait_for_pictures() -> None:
        playing = [t for t in wall.tiles.values() if t.camera_status and t.camera_status.state is not
                   CameraState.RECONNECTING]
        lost = [t for t in wall.tiles.values() if t not in playing]
        if (not all(t.frames_shown > 10 for t in playing) or not all(t.stalled() for t in lost)) and \
                time.monotonic() < deadline:
            QTimer.singleShot(100, wait_for_pictures)
            return
        w.grab().save(str(out))
        wall.stop_all(wait_s=5)
        app.quit()

    QTimer.singleShot(0, listed)
    app.exec()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
