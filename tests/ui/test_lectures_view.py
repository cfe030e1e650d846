"""The console's Lectures tab: today's and the week's lectures per room, read off the UI thread; open the
lecture's folder; redo."""

from __future__ import annotations

from datetime import timedelta

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
from nvr_console.ui.lectures_view import LecturesView


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
