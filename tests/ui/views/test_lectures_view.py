"""The console's Lectures tab: today's and the week's lectures per room, read off the UI thread; open the
lecture's folder; redo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.coverage import day_bounds
from nvr_console.core.db.models import LectureFileState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.timetable_parse import Occurrence
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.ui.views.lectures_view import LecturesView


def test_lectures_tab_lists_opens_and_redoes(qtbot: QtBot, settings: Settings, db: Database) -> None:
    zone = settings.recording.zone()
    today = now_in(zone).date()
    midnight, _ = day_bounds(today, zone)
    a101, b2 = catalog.add_room(db, "A-101"), catalog.add_room(db, "B-2")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://127.0.0.1:1/s", enabled=False)
    at = lambda h: midnight + timedelta(hours=h)  # noqa: E731
    lecture_store.sync(db, a101.id, "A-101", [
        Occurrence("alg@uni", "", "Algebra", "Dr. Noether", "", at(8), at(9.5)),
        Occurrence("ana@uni", "", "Analysis", "", "", at(10), at(11.5)),
    ], midnight, at(24))
    lecture_store.sync(db, b2.id, "B-2", [Occurrence("bio@uni", "", "Biology", "", "", at(9), at(10))], midnight,
                       at(24))
    [algebra] = [x for x in lecture_store.between(db, midnight, at(24)) if x.title == "Algebra"]
    assert lecture_store.begin_assembly(db, algebra, [(cam.id, "front")])
    f = lecture_store.claim_file(db, algebra.id, "n1", 60)
    assert f is not None
    lecture_store.file_done(db, f.id, f.claim_token, state=LectureFileState.DONE, coverage=0.9,
                            gaps="08:30:00-08:39:00 (9m): camera unreachable",
                            folder_link="https://drive.google.com/drive/folders/LECTURE")
    assert lecture_store.finish(db, algebra.id, 0.99) is not None

    opened: list[QUrl] = []
    view = LecturesView(settings, db, opener=opened.append)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=5000)
    m = view.model
    rows = [[m.index(r, c).data() for c in range(m.columnCount())] for r in range(3)]
    assert [(r[0], r[3], r[5]) for r in rows] == [("A-101", "Algebra", "incomplete"), ("B-2", "Biology", "scheduled"),
                                                  ("A-101", "Analysis", "scheduled")]
    assert rows[0][2] == "08:00–09:30" and rows[0][6] == "90.0 %" and rows[0][7] == "open"
    assert "camera unreachable" in m.index(0, 3).data(0x03)  # the tooltip carries the gaps
    assert view.summary.text() == "3 lecture(s): 1 incomplete, 2 scheduled"
    # A room's lectures only.
    view.room_box.setCurrentText("B-2")
    assert m.rowCount() == 1 and m.index(0, 3).data() == "Biology"
    view.room_box.setCurrentText("All rooms")
    # Open the delivered lecture's folder; a scheduled one has nothing to open or redo.
    view.table.selectRow(1)
    assert not view.open_button.isEnabled() and not view.redo_button.isEnabled()
    view.table.selectRow(0)
    assert view.open_button.isEnabled() and view.redo_button.isEnabled()
    view.open_button.click()
    assert opened == [QUrl("https://drive.google.com/drive/folders/LECTURE")]
    view.redo_button.click()
    qtbot.waitUntil(lambda: view.model.rowCount() == 3 and view.model.index(0, 5).data() == "assembling",
                    timeout=5000)
    # The week holds today's lectures too.
    view.span_box.setCurrentIndex(1)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=5000)


def test_export_opens_the_export_dialog_preset_to_the_lecture_and_exports_each_camera(
        qtbot: QtBot, settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    from nvr_console.core.db.migrate import prepare_database
    from tests.support.av_markers import make_marker_clip
    from tests.support.recordings import add_local_recording

    settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "recording.segment_length": "6",
                                   "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    try:
        msk = ZoneInfo("Europe/Moscow")
        start = datetime(2026, 11, 27, 10, 0, tzinfo=msk).astimezone(UTC)  # on a segment boundary: the common case
        room = catalog.add_room(db, "A-101")
        clip = make_marker_clip(tmp_path / "clip.mp4", 6.0)
        for name in ("front", "side"):
            cam = catalog.add_camera(db, "A-101", name, "rtsp://127.0.0.1:1/s", enabled=False)
            for i in range(3):
                add_local_recording(db, settings, cam.id, "A-101", name, start + timedelta(seconds=6 * i), clip, 6.0)
        lecture_store.sync(db, room.id, "A-101", [
            Occurrence("alg@uni", "", "Algebra", "", "", start, start + timedelta(seconds=12)),
            Occurrence("ana@uni", "", "Analysis", "", "", start + timedelta(hours=4), start + timedelta(hours=5)),
        ], start - timedelta(hours=10), start + timedelta(hours=14))
        noon = datetime(2026, 11, 27, 12, 0, tzinfo=msk)
        view = LecturesView(settings, db, opener=lambda _u: True, clock=lambda: noon)
        qtbot.addWidget(view)
        view.show()
        qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
        assert not view.export_button.isEnabled()  # nothing selected
        view.table.selectRow(1)  # Analysis, at 14:00: not begun, nothing recorded yet
        assert view.model.row(1).title == "Analysis" and not view.export_button.isEnabled()
        view.table.selectRow(0)
        assert view.export_button.isEnabled()
        view.export_button.click()
        dialog = view.export_dialog
        assert dialog is not None
        qtbot.addWidget(dialog)
        assert dialog.isVisible() and "Algebra" in dialog.windowTitle()
        # Preset: the lecture's room (every camera), its start and its end.
        assert dialog.room == "A-101" and dialog.whole_room.isChecked()
        assert (dialog._aware(dialog.start_edit), dialog._aware(dialog.end_edit)) == (start,
                                                                                      start + timedelta(seconds=12))
        dialog.folder_edit.setText(str(tmp_path / "exports"))
        with qtbot.waitSignal(dialog.finished_export, timeout=60000) as sig:
            dialog.export_button.click()
        results = sorted(sig.args[0], key=lambda r: r.camera)
        assert [(r.camera, r.path.name if r.path else None) for r in results] == [
            ("front", "A-101_front_2026-11-27_10-00-10-00.mp4"), ("side", "A-101_side_2026-11-27_10-00-10-00.mp4")]
        for r in results:
            assert r.path is not None and r.path.is_file() and not r.gaps
            assert r.seconds == pytest.approx(12.0, abs=0.5)
    finally:
        db.dispose()
