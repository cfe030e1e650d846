"""Render the Recordings view of a day with files in every state and gaps with their reasons, and save a PNG:
`python -m tests.ui.recordings_screenshot_scene OUT`.

Run under a real X server (Xvfb) by tests/ui/test_screenshot.py; the README shows the result. The day is read
from a real (temporary) database through core.coverage, as in the console.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QDate, QTimer
from PySide6.QtWidgets import QApplication

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import CameraEventKind, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import Event, write_events
from nvr_console.ui.views.recordings_view import RecordingsView

ZONE = ZoneInfo("Europe/Moscow")
DAY = (2026, 11, 27)
SLOT = 1800
CAMERAS = (("A-101", "front"), ("A-101", "back"), ("A-101", "board"), ("A-102", "lectern"), ("B-201", "hall"),
           ("B-201", "lab"))
REFUSED = ("Connection refused: nothing listens on that host and port. Check the port in the URL and that the "
           "camera's RTSP service is on. (FFmpeg: Connection to tcp://10.0.0.12:554 failed: Connection refused)")
TIMEOUT = "The camera stopped answering (timeout). Check its network link and power; recording restarts by itself."
DISK = "The recordings disk is full. Free space or choose another recordings folder. (FFmpeg: No space left on device)"


def at(h: int, m: int, s: int = 0) -> datetime:
    return datetime(*DAY, h, m, s, tzinfo=ZONE).astimezone(UTC)


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(["nvr-console"])
    QCoreApplication.setOrganizationName("nvr-console-screenshot")
    tmp = Path(tempfile.mkdtemp(prefix="nvr-shot-"))
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'db.sqlite3'}",
                                        "recording.dir": str(tmp / "rec"), "recording.segment_length": "30m",
                                        "recording.timezone": "Europe/Moscow",
                                        "recording.window": "Mon-Sat 08:00-21:00"}, env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    ids: dict[str, int] = {}
    for room, cam in CAMERAS:
        if room not in [r.name for r in catalog.list_rooms(db)]:
            catalog.add_room(db, room)
        ids[cam] = catalog.add_camera(db, room, cam, f"rtsp://10.0.0.{len(ids) + 10}/stream1").id
    events: list[Event] = []

    def state(cam: str, when: datetime, st: str, reason: str = "", node: str = "rec-a:2211") -> None:
        room = next(r for r, c in CAMERAS if c == cam)
        events.append(Event(when, CameraEventKind.STATE, st, ids[cam], room, cam, reason, node))

    # Files: every camera 08:00-21:00 in 30-minute slots, with holes where something happened.
    holes = {
        "board": [(at(10, 7, 12), at(11, 21, 40))],  # unreachable (refused, then timeouts)
        "lectern": [(at(13, 0), at(14, 2, 5))],  # stopped by an operator
        "hall": [(at(18, 12, 30), at(18, 47, 3))],  # disk full
    }
    engine_gap = (at(16, 0, 4), at(16, 18, 30))  # node rec-a restarted without a clean stop
    rid = 0
    with db.session() as s:
        for room, cam in CAMERAS:
            t = at(8, 0)
            while t < at(21, 0):
                slot_a, slot_b = t, t + timedelta(seconds=SLOT)
                t = slot_b
                cuts = [*holes.get(cam, []), engine_gap] if room != "B-201" else holes.get(cam, [])
                parts = [(slot_a, slot_b)]
                for h0, h1 in cuts:  # the slot less every hole: a file before it, and one after it
                    parts = [p for a, b in parts for p in ((a, min(b, h0)), (max(a, h1), b)) if p[1] > p[0]]
                for a, b in parts:
                    rid += 1
                    status = "uploaded"
                    damaged = None
                    if a >= at(20, 0):
                        status = "uploading" if cam in ("front", "hall") else "ready"
                    if cam == "lab" and a == at(11, 30):
                        status = "failed"
                    if cam == "back" and a == at(15, 0):
                        status = "lost"
                    if cam == "front" and a == at(12, 30):
                        damaged = ("its media said 0.29 s of video (45,000 frames) for 1800.0 s of wall clock (the "
                                   "camera's timestamps jumped); rewriting the timestamps failed")
                    local = f"/srv/nvr/recordings/{room}/{cam}/2026-11-27/{a.astimezone(ZONE):%H-%M-%S}.mp4"
                    s.add(Recording(camera_id=ids[cam], room_name=room, camera_name=cam, slot_start=a, start_time=a,
                                    end_time=b, local_path=local, local_path_key=local, status=status,
                                    size=int((b - a).total_seconds() * 500_000), duration=(b - a).total_seconds(),
                                    damaged=damaged, destination="drive" if status == "uploaded" else None,
                                    web_link=f"https://drive.google.com/file/d/1Fi{rid}/view" if status == "uploaded"
                                    else None, last_error="unreadable segment" if status == "failed" else
                                    "the local file vanished before it was uploaded" if status == "lost" else None))
    for _room, cam in CAMERAS:
        state(cam, at(7, 59, 58), "recording")
    state("board", at(10, 7, 12), "reconnecting", REFUSED)
    state("board", at(10, 40), "reconnecting", TIMEOUT)
    state("board", at(11, 21, 38), "recording")
    events.append(Event(at(13, 0), CameraEventKind.COMMAND, "stop", ids["lectern"], "A-102", "lectern", "", "desk-3",
                        "ann@desk-3 (console)"))
    state("lectern", at(13, 0, 1), "stopped")
    events.append(Event(at(14, 2), CameraEventKind.COMMAND, "start", ids["lectern"], "A-102", "lectern", "",
                        "desk-3", "ann@desk-3 (console)"))
    state("lectern", at(14, 2, 4), "recording")
    events.append(Event(at(16, 18, 26), CameraEventKind.ENGINE, "started", node="rec-a:2301"))
    for room, cam in CAMERAS:
        if room != "B-201":
            state(cam, at(16, 18, 28), "recording", node="rec-a:2301")
    state("hall", at(18, 12, 30), "failed", DISK)
    state("hall", at(18, 47, 1), "recording")
    write_events(db, events)

    view = RecordingsView(settings, db, opener=lambda _url: True)
    view.setWindowTitle("nvr-console: Recordings")
    view.resize(1280, 350)  # six 32 px rows under the bar, the legend and the header
    view.day_edit.blockSignals(True)
    view.day_edit.setDate(QDate(*DAY))
    view.day_edit.blockSignals(False)

    def shoot() -> None:
        t = view.timeline
        rows = [c.camera for c in view.model.rows()]
        board, front = rows.index("board"), rows.index("front")
        t.zoom_to(14 * 3600, at(14, 30).timestamp())
        t.select_range(front, at(10, 15).timestamp(), at(11, 45).timestamp())
        t.current_row = board
        t.current_item = next(g for g in view.model.rows()[board].gaps if g.cause.value == "camera_unreachable")
        hover = view.model.tooltip(t.model.hit(board, at(10, 30).timestamp())).split("\n")[1]
        view.status.setText(f"{view.model.summary()}   ·   A-101 / board at 10:30: {hover[:80]}…")
        t.update()
        QTimer.singleShot(300, lambda: (view.grab().save(str(out)), app.quit()))

    view.model.loaded.connect(lambda: QTimer.singleShot(200, shoot))
    view.show()
    app.exec()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
