"""The main window with real widgets and a real SQLite catalog, against the engine double (and once against
the real engine): row buttons reach the engine and the state comes back; links open; quit is clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState, DiskStatus, LogLine, QueueStatus, UploadProgress, UploadState
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.models.camera_table_model import Column, Role
from tests.support.drive_server import FOLDER_MIME, DriveServer
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer
from tests.support.url_catcher import catch_urls
from tests.ui.engine_double import EngineDouble

FOLDER = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"


@pytest.fixture
def console(qtbot, settings: Settings, db: Database) -> tuple[Console, EngineDouble, list[int]]:
    catalog.add_room(db, "A-101")
    ids = [catalog.add_camera(db, "A-101", n, f"rtsp://10.0.0.{i}/s").id for i, n in enumerate(("back", "front"), 5)]
    engine = EngineDouble({ids[0]: ("A-101", "back"), ids[1]: ("A-101", "front")})
    c = build_console(settings, db, engine)
    c.window.close_question = lambda _active: "keep"  # teardown closes the window: no modal question
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: c.window.model.rowCount() == 2, timeout=5_000)  # listed on the database pool
    return c, engine, ids


def cell(c: Console, camera_id: int, column: Column):  # type: ignore[no-untyped-def]
    row = c.window.model.row_of(camera_id)
    if row is None:
        return QModelIndex()  # not listed yet (the catalog answers on the database pool): no data
    return c.window.proxy.mapFromSource(c.window.model.index(row, column))


def click(qtbot, c: Console, camera_id: int, column: Column) -> None:  # type: ignore[no-untyped-def]
    view = c.window.table
    rect = view.visualRect(cell(c, camera_id, column))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_row_stop_and_start_buttons_reach_the_engine_and_the_state_comes_back(qtbot, console) -> None:
    c, engine, (back, front) = console
    engine.status(back, CameraState.RECORDING)
    engine.status(front, CameraState.RECORDING)
    qtbot.waitUntil(lambda: cell(c, front, Column.STATE).data() == "recording", timeout=3000)
    assert cell(c, front, Column.ACTION).data() == "Stop"

    click(qtbot, c, front, Column.ACTION)
    qtbot.waitUntil(lambda: ("stop_camera", front) in engine.commands, timeout=3000)
    qtbot.waitUntil(lambda: cell(c, front, Column.STATE).data() == "stopped", timeout=3000)
    assert cell(c, front, Column.ACTION).data() == "Start"
    assert cell(c, back, Column.STATE).data() == "recording"  # the other camera is untouched

    click(qtbot, c, front, Column.ACTION)
    qtbot.waitUntil(lambda: ("start_camera", front) in engine.commands, timeout=3000)
    qtbot.waitUntil(lambda: cell(c, front, Column.STATE).data() == "recording", timeout=3000)


def test_keyboard_toggles_the_selected_camera(qtbot, console) -> None:
    c, engine, (back, _front) = console
    engine.status(back, CameraState.RECORDING)
    qtbot.waitUntil(lambda: cell(c, back, Column.STATE).data() == "recording", timeout=3000)
    c.window.activateWindow()
    qtbot.waitActive(c.window)
    c.window.table.setFocus()
    c.window.table.selectRow(cell(c, back, Column.ROOM).row())
    qtbot.keyClick(c.window.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ("stop_camera", back) in engine.commands, timeout=3000)


def test_link_column_opens_the_folder_of_the_latest_upload(qtbot, console) -> None:
    c, engine, (back, _front) = console
    engine.status(back, CameraState.RECORDING)
    engine.upload_progress.emit(UploadProgress(7, back, UploadState.UPLOADED, 10, 10, folder_link=FOLDER))
    qtbot.waitUntil(lambda: cell(c, back, Column.DRIVE).data() == "Open folder", timeout=3000)
    with catch_urls("https") as urls:
        click(qtbot, c, back, Column.DRIVE)
        qtbot.waitUntil(lambda: bool(urls), timeout=3000)
    assert urls[0].toString() == FOLDER
    assert cell(c, back, Column.UPLOAD).data() == "verified"


def test_problems_notify_and_logs_filter_per_camera(qtbot, console) -> None:
    c, engine, (back, front) = console
    with qtbot.waitSignal(c.window.notified, timeout=3000) as sig:
        engine.status(back, CameraState.FAILED, last_error="The camera refused the login")
    assert "back failed" in sig.args[0] and "refused the login" in sig.args[1]
    with qtbot.waitSignal(c.window.notified, timeout=3000) as sig:
        engine.queue_status.emit(QueueStatus(3, 3000, 0.0, paused=True, reason="Drive quota exceeded"))
    assert sig.args[0] == "Uploads paused"
    qtbot.waitUntil(lambda: "PAUSED" in c.window.status.queue_label.text(), timeout=3000)
    engine.log_line.emit(LogLine(0.0, "error", back, "401 Unauthorized"))
    engine.log_line.emit(LogLine(0.0, "info", front, "recording"))
    qtbot.waitUntil(lambda: c.window.logs.model.rowCount() == 2, timeout=3000)
    c.window.table.selectRow(cell(c, back, Column.ROOM).row())
    c.window.log_action.trigger()
    assert c.window.logs.proxy.rowCount() == 1
    assert c.window.tabs.currentWidget() is c.window.logs


def test_quit_stops_the_engine_before_the_app_may_exit(qtbot, console) -> None:
    c, engine, (back, _front) = console
    engine.status(back, CameraState.RECORDING)
    with qtbot.waitSignal(c.window.quit_ready, timeout=5000):
        c.window.request_quit()
    assert ("shutdown", None) in engine.commands


def test_column_widths_and_sort_are_remembered(qtbot, settings: Settings, db: Database) -> None:
    first = build_console(settings, db, EngineDouble()).window
    qtbot.addWidget(first)
    first.table.horizontalHeader().resizeSection(Column.CAMERA, 217)
    first.table.sortByColumn(Column.CAMERA, Qt.SortOrder.DescendingOrder)
    first.save_state()
    second = build_console(settings, db, EngineDouble()).window
    qtbot.addWidget(second)
    header = second.table.horizontalHeader()
    assert header.sectionSize(Column.CAMERA) == 217
    assert header.sortIndicatorSection() == Column.CAMERA
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder


@pytest.mark.slow
def test_whole_window_against_the_real_engine_shows_recording(qtbot, settings_factory) -> None:
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.engine.host import EngineHost

    settings = settings_factory(**{"recording.segment_length": "1h", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "Lab")
    cam = catalog.add_camera(db, "Lab", "demo", "lavfi:testsrc2=size=320x180:rate=10")
    host = EngineHost(settings, db)
    c = build_console(settings, db, host.engine)
    qtbot.addWidget(c.window)
    c.window.show()
    host.start()
    try:
        qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "recording", timeout=30_000)
        qtbot.waitUntil(lambda: "KiB" in (cell(c, cam.id, Column.FILE).data() or ""), timeout=15_000)
        click(qtbot, c, cam.id, Column.ACTION)
        qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "stopped", timeout=30_000)
    finally:
        c.window.close_question = lambda _active: "keep"
        assert host.stop(30)
        db.dispose()


@pytest.mark.slow
def test_whole_window_records_the_rtsp_camera_and_shows_its_drive_upload(
    qtbot,
    rtsp_server: RtspServer,  # noqa: F811
    settings_factory,
) -> None:
    """The issue's end-to-end check: real engine, FFmpeg, loopback RTSP camera and the Drive-protocol server."""
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.engine.host import EngineHost

    with DriveServer() as drive:
        settings = settings_factory(**{
            "recording.segment_length": "6", "upload.destination": "drive", "drive.api_root": drive.root_url,
            "drive.credentials": "anonymous", "retention.delete_after": "never",
        })
        db = Database(settings.database.url)
        prepare_database(db)
        catalog.add_room(db, "Lab")
        cam = catalog.add_camera(db, "Lab", "door", rtsp_server.url("/cam"))
        host = EngineHost(settings, db)
        c = build_console(settings, db, host.engine)
        c.window.close_question = lambda _active: "keep"
        qtbot.addWidget(c.window)
        c.window.show()
        host.start()
        try:
            qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "recording", timeout=30_000)

            # The first 6 s file is cut on the clock, finalized, uploaded and verified; take one consistent
            # snapshot of the row (a later file may start uploading right after).
            seen: dict[str, object] = {}

            def verified() -> bool:
                row = c.window.model.camera_row(cam.id)
                if row is None or row.upload is None or row.upload.state is not UploadState.UPLOADED:
                    return False
                seen.update(upload=row.upload, link=cell(c, cam.id, Column.DRIVE).data(Role.URL),
                            label=cell(c, cam.id, Column.DRIVE).data(), text=cell(c, cam.id, Column.UPLOAD).data())
                return True

            qtbot.waitUntil(verified, timeout=60_000)
            up = seen["upload"]
            assert isinstance(up, UploadProgress)
            assert seen["text"] == "verified" and seen["label"] == "Open folder"
            on_drive = next(f for f in drive.files()
                            if f["mimeType"] != FOLDER_MIME and f["webViewLink"] == up.web_link)
            folder_id = on_drive["parents"][0]
            assert drive.file(folder_id)["mimeType"] == FOLDER_MIME
            assert seen["link"] == up.folder_link == f"https://drive.google.com/drive/folders/{folder_id}"
            assert on_drive["name"].endswith("_Lab_door.mp4")

            # The uploads view lists the same file as uploaded, with its local path and Drive link.
            uploads = c.window.uploads.model

            def listed() -> bool:
                return any(uploads.row(i).recording_id == up.recording_id and uploads.row(i).state == "uploaded"
                           for i in range(uploads.rowCount()))

            qtbot.waitUntil(listed, timeout=10_000)
            i = next(i for i in range(uploads.rowCount()) if uploads.row(i).recording_id == up.recording_id)
            row = uploads.row(i)
            assert row.path.endswith(".mp4") and row.web_link == up.web_link and row.camera == "door"
            assert int(on_drive["size"]) == row.size
            assert uploads.index(i, 0).data() and uploads.index(i, 1).data() and uploads.index(i, 2).data()
            assert uploads.index(i, 4).data() == "uploaded"
        finally:
            assert host.stop(30)
            db.dispose()


@pytest.mark.slow
def test_remove_lets_the_engine_stop_finalize_and_delete_the_camera(qtbot, settings_factory) -> None:
    """The console's Remove sends one command; the engine stops the recorder, finalizes the file, deletes the
    row, and the table loses the row when the engine says so. Nothing is logged as an error."""
    from PySide6.QtWidgets import QApplication, QMessageBox

    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.engine.host import EngineHost
    from tests.core.engine_support import Collected

    settings = settings_factory(**{"recording.segment_length": "24h", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "Lab")
    cam = catalog.add_camera(db, "Lab", "demo", "lavfi:testsrc2=size=320x180:rate=10")
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    c = build_console(settings, db, host.engine)
    c.window.close_question = lambda _active: "keep"
    qtbot.addWidget(c.window)
    c.window.show()
    host.start()
    try:
        qtbot.waitUntil(lambda: "KiB" in (cell(c, cam.id, Column.FILE).data() or ""), timeout=30_000)
        c.window.table.selectRow(cell(c, cam.id, Column.ROOM).row())
        asked: list[str] = []

        def answer_yes() -> None:
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                QTimer.singleShot(20, answer_yes)
                return
            asked.append(box.text())
            box.button(QMessageBox.StandardButton.Yes).click()

        QTimer.singleShot(0, answer_yes)
        c.window.remove_action.trigger()
        assert asked == ["Remove camera Lab / demo? Its recordings and uploads stay."]
        qtbot.waitUntil(lambda: c.window.model.row_of(cam.id) is None, timeout=30_000)
        assert catalog.get_camera_by_id(db, cam.id) is None
        (rec,) = catalog.list_recordings(db)
        assert (rec.status, rec.camera, rec.camera_id) == ("ready", "demo", None)
        with got.lock:
            assert [x.text for x in got.logs if x.level == "error"] == []
    finally:
        assert host.stop(30)
        db.dispose()


def test_latest_upload_and_its_folder_are_shown_from_the_database_at_start(qtbot, settings: Settings,
                                                                          db: Database) -> None:
    """A console (re)started after a camera's file was verified shows it, not a blank cell."""
    from datetime import UTC, datetime

    from nvr_console.core.db.models import RecordingStatus
    from tests.support.recording_rows import add_recording

    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    add_recording(db, cam, RecordingStatus.UPLOADED, datetime(2026, 3, 2, 6, 0, tzinfo=UTC), size=10,
                  folder_link=FOLDER)
    c = build_console(settings, db, EngineDouble({cam.id: ("A-101", "front")}))
    c.window.close_question = lambda _active: "keep"
    qtbot.addWidget(c.window)
    qtbot.waitUntil(lambda: cell(c, cam.id, Column.UPLOAD).data() == "verified", timeout=5_000)
    assert cell(c, cam.id, Column.DRIVE).data() == "Open folder"
    assert cell(c, cam.id, Column.DRIVE).data(Role.URL) == FOLDER


def test_files_going_to_the_local_archive_say_so(qtbot, console, settings: Settings, tmp_path) -> None:
    c, engine, (back, _front) = console
    # No sign-in and upload.destination auto: the status bar says where files go, and why.
    assert c.window.status.destination_label.text() == "Uploads: local archive (not signed in to Google)"
    assert str(settings.upload.local_dir) in c.window.status.destination_label.toolTip()
    folder = (settings.upload.local_dir / "A-101" / "back").as_uri()
    engine.upload_progress.emit(UploadProgress(7, back, UploadState.UPLOADED, 10, 10, web_link=f"{folder}/x.mp4",
                                               folder_link=folder))
    qtbot.waitUntil(lambda: cell(c, back, Column.DRIVE).data() == "Local archive", timeout=3000)
    assert cell(c, back, Column.DRIVE).data(Qt.ItemDataRole.ToolTipRole).startswith(
        f"{settings.upload.local_dir / 'A-101' / 'back'}: uploads go to the local archive")
    with catch_urls("file") as urls:
        click(qtbot, c, back, Column.DRIVE)  # opens the archive folder, not a Drive page
        qtbot.waitUntil(lambda: bool(urls), timeout=3000)
    assert urls[0].toString() == folder


@pytest.mark.parametrize(("overrides", "text"), [
    ({"upload.destination": "local"}, "Uploads: local archive"),
    ({"upload.destination": "none"}, "Uploads: off"),
    ({"upload.destination": "drive", "drive.credentials": "anonymous", "drive.api_root": "http://127.0.0.1:9"},
     "Uploads: Google Drive"),
])
def test_status_bar_names_the_upload_destination(qtbot, settings_factory, overrides, text) -> None:
    settings = settings_factory(**overrides)
    db = Database(settings.database.url)
    try:
        w = build_console(settings, db, EngineDouble()).window
        w.close_question = lambda _active: "keep"  # type: ignore[method-assign]
        qtbot.addWidget(w)
        assert w.status.destination_label.text() == text
    finally:
        db.dispose()


def test_edit_opens_the_editor_with_the_camera_from_the_catalog_and_reloads_after_save(qtbot, console) -> None:
    from PySide6.QtWidgets import QApplication

    from nvr_console.ui.dialogs.camera_dialog import CameraDialog

    c, engine, (back, _front) = console
    opened: list[CameraDialog] = []

    def rename_and_save() -> None:  # the editor is modal: act from a timer inside its loop
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, CameraDialog) and dialog.isVisible():
            opened.append(dialog)
            dialog.name.setText("back-left")
            dialog.save()
        else:
            QTimer.singleShot(50, rename_and_save)

    QTimer.singleShot(0, rename_and_save)
    c.window.table.selectRow(cell(c, back, Column.ROOM).row())
    c.window.edit_action.trigger()
    c.window.edit_action.trigger()  # pressed twice while the catalog answers: still one editor
    qtbot.waitUntil(lambda: ("reload", None) in engine.commands, timeout=10_000)
    assert len(opened) == 1 and opened[0].camera is not None and opened[0].camera.id == back
    assert catalog.get_camera_by_id(c.window.db, back).name == "back-left"  # type: ignore[union-attr]


def test_the_disk_counts_as_low_by_what_the_engine_keeps_free(qtbot, console) -> None:
    c, engine, _cams = console
    label = c.window.status.disk_label
    free = shutil.disk_usage(Path(c.window.settings.recording.dir).parent).free
    # The engine's line, not retention.min_free_space alone: it keeps more for its cameras' next segments.
    engine.disk_status.emit(DiskStatus(free, free * 4, "room to finalize the segments being written"))
    qtbot.waitUntil(lambda: "bold" in label.styleSheet(), timeout=3000)
    assert "room to finalize the segments being written" in label.toolTip()
    engine.disk_status.emit(DiskStatus(free, 1024, "retention.min_free_space"))
    qtbot.waitUntil(lambda: label.styleSheet() == "", timeout=3000)
    assert "kept free (retention.min_free_space)" in label.toolTip()


def test_the_status_bar_shows_what_went_to_drive_today(qtbot, settings_factory, db: Database, tmp_path: Path) -> None:
    """Drive's daily budget in the status bar: the fullest account's bytes today (every node's), each account in the
    tooltip, a warning near drive.daily_limit; nothing while files do not go to Drive."""
    from nvr_console.core.upload import drive_usage
    from tests.support.drive_token import write_fresh_token

    settings = settings_factory(**{"upload.destination": "drive", "drive.daily_limit": "100MB",
                                   "drive.accounts": '{"campus2": {"token": "%s"}}' % (tmp_path / "c2.json")})
    write_fresh_token(settings.drive.token)
    drive_usage.add(db, "default", 20_000_000)
    drive_usage.add(db, "campus2", 95_000_000)
    c = build_console(settings, db, EngineDouble({}))
    c.window.close_question = lambda _active: "keep"
    qtbot.addWidget(c.window)
    label = c.window.status.drive_label
    qtbot.waitUntil(lambda: label.text() == "Drive today (campus2): 90.6 MiB of 95.4 MiB", timeout=5_000)
    assert "bold" in label.styleSheet()  # 95 % of the limit
    assert "default: 19.1 MiB" in label.toolTip() and "campus2: 90.6 MiB" in label.toolTip()
    assert "Pacific" in label.toolTip()
    c.window.status.show_queue(QueueStatus(3, 3000, 0.0, accounts_waiting="Google account campus2: daily cap"))
    assert c.window.status.queue_label.text().endswith("— an account waits")
    assert c.window.status.queue_label.toolTip() == "Google account campus2: daily cap"
    c.window.status.show_drive_usage({"default": 1_000}, ("default",), 750 * 1000**3)
    assert label.text() == "Drive today: 1000 B of 698.5 GiB" and label.styleSheet() == ""


def test_a_first_start_sizes_the_window_to_the_screen(qtbot, console) -> None:
    from nvr_console.ui.window_layout import FIRST_SIZE

    c, _engine, _ids = console
    area = c.window.screen().availableGeometry()
    # No geometry saved yet (a fresh home): most of the screen, centred, not a fixed 1180x720 (on a screen too
    # small for it, e.g. the offscreen platform's 800x600, the window's own minimum).
    least = c.window.minimumSizeHint()
    assert abs(c.window.width() - max(least.width(), area.width() * FIRST_SIZE)) <= 2
    assert abs(c.window.height() - max(least.height(), area.height() * FIRST_SIZE)) <= 2
    assert c.window.width() != 1180
    assert abs(c.window.frameGeometry().center().y() - area.center().y()) <= 2


def test_a_camera_at_a_closed_port_turns_red_with_how_long_and_why_against_the_real_engine(
        qtbot, settings_factory) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QColor

    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.engine.host import EngineHost
    from nvr_console.ui.models.camera_table_model import DOWN_COLOR
    from tests.support.ports import free_port

    settings = settings_factory(**{"recording.segment_length": "1h", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "Lab")
    good = catalog.add_camera(db, "Lab", "demo", "lavfi:testsrc2=size=320x180:rate=10")
    closed = catalog.add_camera(db, "Lab", "door", f"rtsp://admin:Secret-42@127.0.0.1:{free_port()}/s")
    host = EngineHost(settings, db)
    c = build_console(settings, db, host.engine)
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    host.start()
    try:
        state = lambda cid: cell(c, cid, Column.STATE).data() or ""  # noqa: E731
        qtbot.waitUntil(lambda: state(closed.id).startswith("down ")
                        and state(closed.id).endswith(": connection refused"), timeout=15_000)
        first = state(closed.id)
        assert cell(c, closed.id, Column.STATE).data(Qt.ItemDataRole.ForegroundRole) == QColor(DOWN_COLOR)
        assert isinstance(cell(c, closed.id, Column.CAMERA).data(Qt.ItemDataRole.BackgroundRole), QColor)
        assert "Secret-42" not in first
        # The outage's clock moves on its own, through the engine's retries (never "reconnecting in 0 s").
        qtbot.waitUntil(lambda: state(closed.id) != first and state(closed.id).startswith("down "), timeout=5_000)
        seen = {state(closed.id)}
        for _ in range(8):
            qtbot.wait(500)
            seen.add(state(closed.id))
        assert all(s.startswith("down ") and s.endswith(": connection refused") for s in seen), seen
        qtbot.waitUntil(lambda: state(good.id) == "recording", timeout=30_000)  # the other camera records on
        assert cell(c, good.id, Column.STATE).data(Qt.ItemDataRole.BackgroundRole) is None
    finally:
        assert host.stop(30)
        db.dispose()
