"""The Recordings view's model without a view: what is where, what hovering says, what double-click opens, and
loading off the UI thread (an older answer never replaces a newer one)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QUrl

from nvr_console.core.coverage import CameraCoverage, FileSpan, compute, day_bounds, window_spans
from nvr_console.core.db.models import CameraEventKind
from nvr_console.core.events.store import Event
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.ui.models.recordings_model import RecordingsModel

MSK = ZoneInfo("Europe/Moscow")
DAY = date(2026, 11, 27)
REFUSED = "Connection refused: nothing listens on that host and port. (FFmpeg: Connection refused)"


def at(hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, 27, h, m, tzinfo=MSK).astimezone(UTC)


def coverage(local: Path) -> CameraCoverage:
    start, end = day_bounds(DAY, MSK)
    files = [
        FileSpan(1, at("09:00"), at("09:30"), "uploaded", size=943_718_400, duration=1800.0, local_path=str(local),
                 web_link="https://drive.google.com/file/d/1Abc/view", folder_link="https://drive.google.com/drive/"
                 "folders/1Fold", drive_file_id="1Abc", destination="drive", node="rec1"),
        FileSpan(2, at("09:30"), at("10:00"), "uploaded", size=900_000_000, duration=1800.0,
                 local_path="/gone/09-30-00.mp4", local_deleted=True, destination="drive",
                 web_link="https://drive.google.com/file/d/2Def/view", damaged="its media said 0.29 s of video"),
        FileSpan(3, at("10:10"), at("10:30"), "ready", size=600_000_000, duration=1200.0, local_path=str(local)),
    ]
    events = [Event(at("08:59"), CameraEventKind.STATE, "recording", 7, "A-101", "front", "", "rec1:1"),
              Event(at("10:00"), CameraEventKind.STATE, "reconnecting", 7, "A-101", "front", REFUSED, "rec1:1"),
              Event(at("10:10"), CameraEventKind.STATE, "recording", 7, "A-101", "front", "", "rec1:1")]
    window = window_spans(RecordingWindow.parse("daily 09:00-21:00"), start, end, MSK)
    return compute(7, "A-101", "front", start, end, window, files, events, at("10:30"))


def test_hit_tests_tooltips_and_what_double_click_opens(qapp: object, tmp_path: Path) -> None:
    local = tmp_path / "09-00-00.mp4"
    local.write_bytes(b"x")
    model = RecordingsModel(zone=MSK)
    model.set_rows([coverage(local)])
    t = at("09:15").timestamp()
    hit = model.hit(0, t)
    assert hit is not None and hit.file is not None and hit.file.recording_id == 1
    text = model.tooltip(hit)
    assert "A-101 / front: 09:00:00 – 09:30:00" in text and "uploaded (verified), 900 MiB, 30m" in text
    assert "recorded on rec1" in text and "Drive: https://drive.google.com/file/d/1Abc/view" in text
    assert model.open_url(hit.file) == QUrl.fromLocalFile(str(local))  # the local copy plays first
    damaged = model.hit(0, at("09:45").timestamp())
    assert damaged is not None and damaged.file is not None
    assert "DAMAGED: its media said 0.29 s of video" in model.tooltip(damaged)
    assert "local copy deleted after a verified upload" in model.tooltip(damaged)
    assert model.open_url(damaged.file) == QUrl("https://drive.google.com/file/d/2Def/view")  # else Drive
    gap = model.hit(0, at("10:05").timestamp())
    assert gap is not None and gap.gap is not None
    assert model.tooltip(gap) == f"A-101 / front: no recording 10:00:00 – 10:10:00 (10m)\ncamera unreachable: {REFUSED}"
    outside = model.hit(0, at("08:00").timestamp())
    assert outside is not None and outside.outside_window and "outside the recording window" in model.tooltip(outside)
    assert model.hit(0, at("11:00").timestamp()) is None  # later than now: nothing yet
    assert model.folder_url(hit.file) == QUrl("https://drive.google.com/drive/folders/1Fold")
    assert [type(i).__name__ for i in model.items(0)] == ["FileSpan", "FileSpan", "Gap", "FileSpan"]
    assert model.summary() == "1 camera(s): 88.9 % of the recording window recorded, 1 gap(s), 1 damaged file(s)"
    assert model.row_label(0) == "A-101 / front" and model.row_summary(0) == "88.9 % of the window, 1 gap(s)"


def test_loading_is_off_the_ui_thread_and_an_older_answer_is_dropped(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    release_first = threading.Event()
    threads: list[threading.Thread] = []
    row = coverage(tmp_path / "x.mp4")

    def load(day: date, room: str | None, camera: str | None) -> list[CameraCoverage]:
        threads.append(threading.current_thread())
        if day == DAY - timedelta(days=1):
            release_first.wait(5)  # the first request is slow...
            return []
        return [row]

    model = RecordingsModel(load, zone=MSK)
    loaded: list[list[CameraCoverage]] = []
    model.loaded.connect(lambda: loaded.append(model.rows()))
    model.load(DAY - timedelta(days=1))
    with qtbot.waitSignal(model.loaded, timeout=10000):
        model.load(DAY, "A-101")  # ...and the operator has picked another day meanwhile
        release_first.set()
    qtbot.wait(200)
    assert loaded == [[row]] and (model.day, model.room) == (DAY, "A-101")  # the first answer never showed
    assert threading.main_thread() not in threads


def test_a_failed_load_keeps_the_rows_and_says_why(qtbot) -> None:  # type: ignore[no-untyped-def]
    def load(day: date, room: str | None, camera: str | None) -> list[CameraCoverage]:
        raise RuntimeError("cannot use the database: MySQL/MariaDB at db:3306 is down")

    model = RecordingsModel(load)
    with qtbot.waitSignal(model.failed, timeout=5000) as sig:
        model.load(DAY)
    assert "db:3306 is down" in sig.args[0] and model.error == sig.args[0] and model.rows() == []
