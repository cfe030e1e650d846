"""The Uploads tab with real widgets: history read from a real database off the UI thread, rows kept current by
engine events, the piece's own start shown, and the buttons asking for retry, resume, Drive and the file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QItemSelectionModel, QUrl

from nvr_console.core import catalog
from nvr_console.core.db.models import RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.status import QueueStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.views.uploads_view import UploadsView
from tests.support.recording_rows import add_recording
from tests.support.url_catcher import catch_urls

SLOT = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
PIECE = datetime(2026, 3, 2, 6, 35, 55, tzinfo=UTC)  # a reconnect: the piece began mid-slot
WEB = "https://drive.google.com/file/d/1Fi42/view"
FOLDER = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"


def shown(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def texts(view: UploadsView, row: int) -> list[str]:
    return [view.model.index(row, col).data() for col in range(view.model.columnCount())]


@pytest.fixture
def view(qtbot) -> UploadsView:  # type: ignore[no-untyped-def]
    v = UploadsView()
    qtbot.addWidget(v)
    v.resize(900, 300)
    v.show()
    return v


def select(view: UploadsView, recording_id: int) -> None:
    row = next(i for i in range(view.model.rowCount()) if view.model.row(i).recording_id == recording_id)
    index = view.proxy.mapFromSource(view.model.index(row, 0))
    view.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                       | QItemSelectionModel.SelectionFlag.Rows)


def test_history_comes_from_the_database_with_each_pieces_own_start(qtbot, view: UploadsView, db: Database) -> None:
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    older = add_recording(db, cam, RecordingStatus.UPLOADED, SLOT.replace(hour=6, minute=0), size=2_000_000,
                          start_time=SLOT.replace(hour=6, minute=0), web_link=WEB, folder_link=FOLDER)
    piece = add_recording(db, cam, RecordingStatus.FAILED, SLOT, size=1024, start_time=PIECE,
                          last_error="the file vanished")
    unknown_start = add_recording(db, cam, RecordingStatus.READY, SLOT.replace(hour=7, minute=0), size=3_000)

    view.load_history(db)
    assert view.model.rowCount() == 0  # returned at once: the history is read on the database pool
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=5000)
    rows = [view.model.row(i).recording_id for i in range(3)]
    assert rows == [unknown_start, piece, older]  # newest first, as the catalog lists them
    cells = texts(view, 1)
    assert cells[0].startswith("A-101 / front · ") and cells[0].endswith(".mp4")
    assert cells[1] == shown(PIECE.timestamp())  # 06:35:55 local time, not the slot's 06:30
    assert cells[2:] == ["1 KiB", "", "failed: the file vanished"]
    assert texts(view, 0)[1] == shown(SLOT.replace(hour=7, minute=0).timestamp())  # start unknown: the slot's
    assert texts(view, 0)[4] == "queued" and texts(view, 2)[4] == "uploaded"


def test_history_that_cannot_be_read_says_why(qtbot, view: UploadsView) -> None:
    db = Database("mysql+pymysql://nvr:sup3rsecret@127.0.0.1:1/nvr")
    try:
        view.load_history(db)
        qtbot.waitUntil(lambda: view.queue_label.text().startswith("History unavailable: "), timeout=10_000)
        assert "127.0.0.1:1" in view.queue_label.text() and "sup3rsecret" not in view.queue_label.text()
    finally:
        db.dispose()


def test_engine_events_add_and_update_rows_and_win_over_history(qtbot, view: UploadsView, db: Database) -> None:
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    rid = add_recording(db, cam, RecordingStatus.READY, SLOT, size=900)
    view.model.apply_recording(RecordingEvent(rid, cam.id, "A-101", "front", "/rec/06-35-55.mp4", "ready",
                                              SLOT.timestamp(), 30.0, 1 << 20, start_time=PIECE.timestamp()))
    assert texts(view, 0) == ["A-101 / front · 06-35-55.mp4", shown(PIECE.timestamp()), "1 MiB", "", "queued"]
    view.model.apply_upload(UploadProgress(rid, cam.id, UploadState.UPLOADING, 650_000, 1_000_000,
                                           rate_bps=2 << 20))
    assert texts(view, 0)[3:] == ["65% · 2 MiB/s", "uploading"]
    view.load_history(db)  # the database still says ready: the engine's newer word stays
    qtbot.waitUntil(lambda: view.model.rowCount() == 1 and view.model.row(0).state == "uploading", timeout=5000)
    view.model.apply_upload(UploadProgress(rid, cam.id, UploadState.UPLOADED, 1_000_000, 1_000_000, web_link=WEB,
                                           folder_link=FOLDER))
    assert texts(view, 0)[3:] == ["", "uploaded"] and view.model.row(0).web_link == WEB

    view.model.camera_names = lambda cid: ("B-202", "back") if cid == 77 else None
    view.model.apply_upload(UploadProgress(99, 77, UploadState.RETRYING, 0, 5_000, error="HTTP 503, retry in 8 s"))
    assert view.model.rowCount() == 2 and texts(view, 0)[0] == "B-202 / back"  # names from the camera table
    assert texts(view, 0)[4] == "retrying: HTTP 503, retry in 8 s"


def test_buttons_ask_for_retry_and_resume_and_open_drive_and_the_file(qtbot, view: UploadsView, tmp_path) -> None:
    path = tmp_path / "A-101" / "front" / "06-30-00.mp4"
    view.model.apply_recording(RecordingEvent(1, 5, "A-101", "front", str(path), "ready", SLOT.timestamp(), 30.0, 10))
    view.model.apply_upload(UploadProgress(1, 5, UploadState.UPLOADED, 10, 10, web_link=WEB, folder_link=FOLDER))
    view.model.apply_recording(RecordingEvent(2, 5, "A-101", "front", str(path), "failed", SLOT.timestamp(), 0.0, 0,
                                              "empty segment"))
    assert not any(b.isEnabled() for b in (view.retry_button, view.open_button, view.show_button))  # no selection

    select(view, 2)
    assert view.retry_button.isEnabled() and not view.open_button.isEnabled() and view.show_button.isEnabled()
    with qtbot.waitSignal(view.retry_requested) as sig:
        view.retry_button.click()
    assert sig.args == [2]

    select(view, 1)
    assert not view.retry_button.isEnabled() and view.open_button.isEnabled()
    with catch_urls("https", "file") as urls:
        view.open_button.click()
        view.show_button.click()
        qtbot.waitUntil(lambda: len(urls) == 2, timeout=3000)
    assert [u.toString() for u in urls] == [WEB, QUrl.fromLocalFile(str(path.parent)).toString()]

    assert view.resume_button.isHidden()
    view.apply_queue(QueueStatus(3, 3 << 20, 0.0, paused=True, reason="Drive storage is full"))
    assert view.queue_label.text() == "Queue: 3 file(s), 3 MiB — paused: Drive storage is full"
    assert not view.resume_button.isHidden()
    with qtbot.waitSignal(view.resume_requested):
        view.resume_button.click()
    view.apply_queue(QueueStatus(0, 0, 0.0))
    assert view.resume_button.isHidden() and view.queue_label.text() == "Queue: 0 file(s), 0 B"


def test_the_file_column_shows_names_whole_on_one_line_and_state_is_not_wide(qtbot, view: UploadsView) -> None:
    view.resize(1300, 300)
    view.show()
    qtbot.waitExposed(view)
    name = "/srv/nvr/recordings/Lecture Hall B-201/lectern/2026-03-02/06-35-55.mp4"
    view.model.apply_recording(RecordingEvent(7, 3, "Lecture Hall B-201", "lectern", name, "ready",
                                              SLOT.timestamp(), 1800, 900_000_000, start_time=PIECE.timestamp()))
    view.model.apply_upload(UploadProgress(7, 3, UploadState.UPLOADING, 300_000_000, 900_000_000, rate_bps=11e6))
    qtbot.wait(50)
    table, header = view.table, view.table.horizontalHeader()
    assert not table.wordWrap()
    index = view.proxy.index(0, 0)
    needed = table.fontMetrics().horizontalAdvance(str(index.data()))
    assert header.sectionSize(0) > needed  # the whole "room / camera · name", not clipped
    started = view.proxy.index(0, 1)
    assert header.sectionSize(1) >= table.fontMetrics().horizontalAdvance(str(started.data()))
    assert header.sectionSize(4) < header.sectionSize(0) and header.sectionSize(4) < 400
    assert table.rowHeight(0) < 2 * table.fontMetrics().height() + 12  # one line a row
