"""Render the main window with cameras in several states and save a PNG: `python -m tests.ui.screenshot_scene OUT`.

Run under a real X server (Xvfb) by tests/ui/test_screenshot.py; the README shows the result.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, Condition, Status
from nvr_console.core.status import CameraState, LogLine, QueueStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.app import build_console
from tests.support.fleet_units import wanted_units
from tests.ui.engine_double import EngineDouble

CAMERAS = (  # room, camera, state, extra
    ("A-101", "front", CameraState.RECORDING, {"bitrate_kbps": 4100, "stream": "H.264 1920x1080 · AAC"}),
    ("A-101", "back", CameraState.RECORDING, {"bitrate_kbps": 2050, "stream": "H.265 1280x720 · G.711"}),
    # Down for a while: the table says for how long and why (the recorder's outage clock, its last error).
    ("A-102", "board", CameraState.RECONNECTING, {"next_retry_in": 12, "down_offset": 151, "last_error": (
        "Connection refused: nothing listens on that host and port. Check the port in the URL and that the "
        "camera's RTSP service is on.")}),
    ("B-201", "lectern", CameraState.FAILED, {"down_offset": 1260,
                                              "last_error": "The camera refused the login: wrong user or password."}),
    ("B-202", "hall", CameraState.STOPPED, {}),
    ("C-301", "lab", CameraState.SCHEDULED, {}),
)
SEGMENT_S = 1800
ROOT = Path("/srv/nvr/recordings")
SOURCES = ("testsrc2", "testsrc", "smptebars", "rgbtestsrc", "pal75bars", "yuvtestsrc")


def local_path(camera_id: int, slot: float) -> Path:
    """Where the engine keeps a camera's file: <root>/<room>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4."""
    room, cam = _NAMES[camera_id]
    t = datetime.fromtimestamp(slot)
    return ROOT / room / cam / f"{t:%Y-%m-%d}" / f"{t:%H-%M-%S}.mp4"


_NAMES: dict[int, tuple[str, str]] = {}


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
    _NAMES.update({i: (r, c) for i, (r, c, *_) in zip(ids, CAMERAS, strict=True)})
    # Two recorder machines share the database, so the table shows which one records each camera.
    for node in ("rec-1", "rec-2"):
        registry.register(db, node, NodeRole.RECORDER, lease_ttl=600, process=f"{node}:1", version="1.0")
    units = {u.camera_id: u.key for u in wanted_units(db)}
    leases.ensure_rows(db, wanted_units(db))
    for cid, node in zip(ids, ("rec-1", "rec-1", "rec-2", "rec-2", "rec-1", "rec-2"), strict=True):
        leases.acquire(db, units[cid], node, 600, 0)
    # The camera-down alert the recorder node raised for the board camera: the banner above the table.
    board_id = ids[2]
    alert_store.apply(db, [Condition(f"camera_down:camera:{board_id}", CAMERA_DOWN, "A-102 / board", Status.ACTIVE,
                                     "not recording for 2m31s (reconnecting: connection refused)",
                                     time.time() - 151)], "rec-2", None)
    engine = EngineDouble(dict(_NAMES))
    console = build_console(settings, db, engine)
    w = console.window
    w.close_question = lambda _n: "keep"  # type: ignore[method-assign]
    w.resize(1400, 760)
    w.show()
    now = time.time()
    # Files are cut on the clock every 30 min: the current ones began at the last boundary.
    boundary = now - now % SEGMENT_S
    rates = {cid: extra.get("bitrate_kbps", 0) for cid, (_r, _c, _s, extra) in zip(ids, CAMERAS, strict=True)}
    for cid, (_r, _c, state, extra) in zip(ids, CAMERAS, strict=True):
        kw = dict(extra)
        if "down_offset" in kw:
            kw["down_since"] = now - float(kw.pop("down_offset"))
        if state is CameraState.RECORDING:
            kw.update(current_file=str(local_path(cid, boundary)).replace(".mp4", ".mkv"), file_started=boundary,
                      file_size=int(rates[cid] * 125 * (now - boundary)))
        engine.status(cid, state, **kw)
    folder = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"
    # Finished files (oldest first, as the engine reports them), then where each upload stands.
    front, back, board, lectern = ids[:4]
    history = (  # recording id, camera, slot start, size
        (36, back, boundary - 2 * SEGMENT_S, 461_300_000),
        (37, front, boundary - 2 * SEGMENT_S, 922_600_000),
        (38, lectern, boundary - 2 * SEGMENT_S, 701_900_000),
        (39, board, boundary - SEGMENT_S, 880_400_000),
        (40, back, boundary - SEGMENT_S, 460_800_000),
        (41, front, boundary - SEGMENT_S, 938_100_000),
    )
    names = dict(zip(ids, CAMERAS, strict=True))
    for rid, cid, slot, size in history:
        room, cam, *_ = names[cid]
        engine.recording_finished.emit(RecordingEvent(rid, cid, room, cam, str(local_path(cid, slot)), "ready", slot,
                                                      SEGMENT_S, size))
    sizes = {rid: size for rid, _c, _s, size in history}
    for rid, cid in ((36, back), (37, front), (40, back)):
        engine.upload_progress.emit(UploadProgress(rid, cid, UploadState.UPLOADED, sizes[rid], sizes[rid],
                                                   web_link=f"https://drive.google.com/file/d/1Fi{rid}/view",
                                                   folder_link=folder))
    engine.upload_progress.emit(UploadProgress(38, lectern, UploadState.RETRYING, 0, sizes[38],
                                               error="HTTP 503 from Drive, retry in 8 s"))
    engine.upload_progress.emit(UploadProgress(39, board, UploadState.QUEUED, 0, sizes[39]))
    sent = int(sizes[41] * 0.65)
    engine.upload_progress.emit(UploadProgress(41, front, UploadState.UPLOADING, sent, sizes[41],
                                               rate_bps=11_800_000, eta_s=(sizes[41] - sent) / 11_800_000))
    left = sizes[38] + sizes[39] + sizes[41] - sent
    engine.queue_status.emit(QueueStatus(3, left, 11_800_000))
    engine.log_line.emit(LogLine(now - 30, "error", lectern, "The camera refused the login: wrong user or password."))
    engine.log_line.emit(LogLine(now - 20, "warning", board, "No route to host; reconnecting in 12 s"))
    done = local_path(back, boundary - SEGMENT_S)
    engine.log_line.emit(LogLine(now - 5, "info", back, f"uploaded and verified {done}"))
    ffmpeg = shutil.which("ffmpeg")
    app.processEvents()  # the statuses above arrive queued: the rows the thumbnails go into exist after this
    if ffmpeg:
        from nvr_console.core.snapshot import check_stream

        for cid, src, (_r, _c, state, _e) in zip(ids, SOURCES, CAMERAS, strict=True):
            if state in (CameraState.RECORDING, CameraState.STALLED, CameraState.RECONNECTING):
                png = check_stream(ffmpeg, f"lavfi:{src}=size=320x180:rate=5", width=112).png
                w.model.set_thumbnail(cid, QImage.fromData(png, "PNG"))
    w.tabs.setCurrentWidget(w.uploads)
    w.splitter.setSizes([360, 250])  # room for six upload rows under the six cameras

    def shoot() -> None:
        if not w.banner.isVisible():  # the alerts are read on the database pool: wait for the banner
            QTimer.singleShot(200, shoot)
            return
        w.model.flush()
        w.grab().save(str(out))
        app.quit()

    QTimer.singleShot(1200, shoot)
    app.exec()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
