"""The Recordings view with pytest-qt: a day read from a real database (off the UI thread), hover texts,
double-click plays through the injected opener, keyboard navigation, the context menu, zoom, and a range
dragged on the timeline exported as one file (progress, the folder opened at the end), or cancelled."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QPoint, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QToolTip

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import CameraEventKind, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import Event, write_events
from nvr_console.ui.views.recordings_view import RecordingsView
from tests.support.av_markers import make_marker_clip
from tests.support.recordings import add_local_recording

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=MSK).astimezone(UTC)
REFUSED = "Connection refused: nothing listens on that host and port. (FFmpeg: Connection refused)"
CLIP = 6.0


class Opener:
    def __init__(self) -> None:
        self.urls: list[QUrl] = []

    def __call__(self, url: QUrl) -> bool:
        self.urls.append(url)
        return True


@pytest.fixture
def day(settings_factory: Callable[..., Settings], tmp_path: Path) -> Iterator[tuple[Settings, Database, list[Path]]]:
    settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "recording.segment_length": "6",
                                   "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    catalog.add_room(db, "B-202")
    front = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    catalog.add_camera(db, "B-202", "desk", "rtsp://10.0.0.7/s")
    clip = make_marker_clip(tmp_path / "clip.mp4", CLIP)
    paths = [add_local_recording(db, settings, front, "A-101", "front", T0 + timedelta(seconds=CLIP * i), clip, CLIP)
             for i in (0, 1, 3)]
    # The third piece was uploaded and its local copy deleted: double-click opens its Drive link.
    add_local_recording(db, settings, front, "A-101", "front", T0 + timedelta(seconds=CLIP * 4), clip, CLIP,
                        status=RecordingStatus.UPLOADED.value, web_link="https://drive.google.com/file/d/1Xy/view",
                        folder_link="https://drive.google.com/drive/folders/1Fo", drive_file_id="1Xy",
                        destination="drive", local_deleted_at=T0)
    write_events(db, [
        Event(T0 - timedelta(seconds=1), CameraEventKind.STATE, "recording", front, "A-101", "front", "", "rec1:1"),
        Event(T0 + timedelta(seconds=12), CameraEventKind.STATE, "reconnecting", front, "A-101", "front", REFUSED,
              "rec1:1"),
        Event(T0 + timedelta(seconds=18), CameraEventKind.STATE, "recording", front, "A-101", "front", "", "rec1:1"),
    ])
    yield settings, db, paths
    db.dispose()


@pytest.fixture
def view(qtbot, day: tuple[Settings, Database, list[Path]]) -> tuple[RecordingsView, Opener]:  # type: ignore[no-untyped-def]
    settings, db, _ = day
    opener = Opener()
    v = RecordingsView(settings, db, opener)
    qtbot.addWidget(v)
    v.resize(1200, 500)
    v.day_edit.blockSignals(True)
    v.day_edit.setDate(QDate(2026, 11, 27))
    v.day_edit.blockSignals(False)
    with qtbot.waitSignal(v.model.loaded, timeout=10000):
        v.show()
    # Zoom to the minute of the recordings so every bar is wide enough to point at.
    v.timeline.zoom_to(600, (T0 + timedelta(seconds=15)).timestamp())
    return v, opener


def _at(v: RecordingsView, row: int, seconds: float) -> QPoint:
    return v.timeline.point_of(row, (T0 + timedelta(seconds=seconds)).timestamp())


def test_the_day_has_a_row_per_camera_and_hover_says_why_there_is_a_gap(qtbot, view) -> None:  # type: ignore[no-untyped-def]
    v, _ = view
    assert [v.model.row_label(i) for i in range(len(v.model.rows()))] == ["A-101 / front", "B-202 / desk"]
    assert sorted(v.room_box.itemText(i) for i in range(v.room_box.count())) == ["(all)", "A-101", "B-202"]
    assert "2 camera(s)" in v.status.text()
    tip = v.timeline.tooltip_at(_at(v, 0, 15))
    assert tip.startswith("A-101 / front: no recording 10:00:12 – 10:00:18 (6s)") and REFUSED in tip
    assert "ready (waiting to upload)" in v.timeline.tooltip_at(_at(v, 0, 3))
    qtbot.mouseMove(v.timeline, _at(v, 0, 15))
    qtbot.waitUntil(lambda: REFUSED in QToolTip.text(), timeout=3000)


def test_double_click_plays_the_local_file_else_the_drive_link(qtbot, view, day) -> None:  # type: ignore[no-untyped-def]
    v, opener = view
    paths = day[2]
    qtbot.mouseDClick(v.timeline, Qt.MouseButton.LeftButton, pos=_at(v, 0, 3))
    qtbot.mouseDClick(v.timeline, Qt.MouseButton.LeftButton, pos=_at(v, 0, 27))
    qtbot.mouseDClick(v.timeline, Qt.MouseButton.LeftButton, pos=_at(v, 0, 15))  # a gap: nothing to play
    assert opener.urls == [QUrl.fromLocalFile(str(paths[0])), QUrl("https://drive.google.com/file/d/1Xy/view")]


def test_keyboard_steps_through_files_and_gaps_and_enter_plays(qtbot, view, day) -> None:  # type: ignore[no-untyped-def]
    v, opener = view
    t = v.timeline
    t.setFocus()
    qtbot.keyClick(t, Qt.Key.Key_Right)  # the day starts with a gap (no recordings since midnight)
    assert type(t.current_item).__name__ == "Gap"
    qtbot.keyClick(t, Qt.Key.Key_Right)
    qtbot.keyClick(t, Qt.Key.Key_Right)
    assert t.current_item is not None and t.current_item.start == T0 + timedelta(seconds=CLIP)
    qtbot.keyClick(t, Qt.Key.Key_Return)
    assert opener.urls == [QUrl.fromLocalFile(str(day[2][1]))]
    qtbot.keyClick(t, Qt.Key.Key_Right)
    assert type(t.current_item).__name__ == "Gap"
    qtbot.keyClick(t, Qt.Key.Key_Down)
    assert t.current_row == 1
    span = t.view_end - t.view_start
    qtbot.keyClick(t, Qt.Key.Key_Minus)
    assert t.view_end - t.view_start == pytest.approx(2 * span)
    v.day_button.click()
    assert t.view_end - t.view_start == pytest.approx(24 * 3600)
    v.hours_button.click()
    assert t.view_end - t.view_start == pytest.approx(2 * 3600)


def test_context_menu_copies_the_drive_link_and_opens_folders(qtbot, view, day) -> None:  # type: ignore[no-untyped-def]
    v, opener = view
    actions = {a.text(): a for a in v.menu_actions(v.timeline.hit_at(_at(v, 0, 27)))}
    assert list(actions) == ["Play", "Copy Drive link", "Open Drive folder", "Open containing folder",
                             "Export this file's time…"]
    actions["Copy Drive link"].trigger()
    assert QGuiApplication.clipboard().text() == "https://drive.google.com/file/d/1Xy/view"
    actions["Open Drive folder"].trigger()
    local = {a.text(): a for a in v.menu_actions(v.timeline.hit_at(_at(v, 0, 3)))}
    assert not local["Copy Drive link"].isEnabled()
    local["Open containing folder"].trigger()
    assert opener.urls == [QUrl("https://drive.google.com/drive/folders/1Fo"),
                           QUrl.fromLocalFile(str(day[2][0].parent))]


def test_a_dragged_range_is_exported_into_one_file_and_its_folder_opened(qtbot, view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v, opener = view
    assert not v.export_button.isEnabled()
    t = v.timeline
    qtbot.mousePress(t, Qt.MouseButton.LeftButton, pos=_at(v, 0, 1))
    qtbot.mouseMove(t, _at(v, 0, 10))
    qtbot.mouseRelease(t, Qt.MouseButton.LeftButton, pos=_at(v, 0, 28))
    assert t.selection is not None and v.export_button.isEnabled()
    dialog = v.export_selection()
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "exports"))
    with qtbot.waitSignal(dialog.finished_export, timeout=60000) as sig:
        dialog.export_button.click()
    (result,) = sig.args[0]
    assert result.path is not None and result.path.parent == tmp_path / "exports" and result.path.is_file()
    reasons = [g.reason for g in result.gaps]
    assert reasons[0] == f"camera unreachable: {REFUSED}"
    assert reasons[1].startswith("it is only on Drive, which cannot be used here: not signed in to Google Drive")
    assert dialog.progress.value() == 1000 and "2 gap(s)" in dialog.status.text()
    assert opener.urls[-1] == QUrl.fromLocalFile(str(tmp_path / "exports"))


def test_cancel_stops_the_export_and_keeps_nothing(qtbot, view, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    v, _ = view
    dialog = v.export_selection(0, T0.timestamp(), (T0 + timedelta(seconds=24)).timestamp())
    assert dialog is not None
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "c"))
    dialog._progress.changed.connect(lambda *_: dialog.cancel())
    with qtbot.waitSignal(dialog.finished_export, timeout=60000) as sig:
        dialog.export_button.click()
    assert sig.args[0] == [] and dialog.status.text() == "Cancelled; nothing was kept."
    assert not any(p.suffix == ".mp4" for p in (tmp_path / "c").rglob("*"))


def test_the_rooms_lectures_of_the_day_are_brackets_with_title_and_state_on_hover(  # type: ignore[no-untyped-def]
        qtbot, day) -> None:
    import threading

    from nvr_console.core.lectures import lecture_store
    from nvr_console.core.lectures.timetable_parse import Occurrence
    from nvr_console.ui.models.recordings_model import LECTURE_COLORS

    settings, db, _ = day
    a101, b202 = catalog.get_room(db, "A-101"), catalog.get_room(db, "B-202")
    m = timedelta(minutes=1)
    midnight = datetime(2026, 11, 27, tzinfo=MSK).astimezone(UTC)
    lecture_store.sync(db, a101.id, "A-101", [
        Occurrence("late@uni", "", "Night school", "", "", midnight - 60 * m, midnight + 30 * m),  # from the day before
        Occurrence("alg@uni", "", "Algebra", "Dr. Noether", "", T0 - 30 * m, T0 + m),
        Occurrence("exam@uni", "", "Exam", "", "", T0 + 2 * m, T0 + 4 * m, "category 'no-recording'"),
        Occurrence("next@uni", "", "Tomorrow", "", "", midnight + 24 * 60 * m, midnight + 25 * 60 * m),
    ], midnight - 120 * m, midnight + 48 * 60 * m)
    lecture_store.sync(db, b202.id, "B-202", [Occurrence("bio@uni", "", "Biology", "", "", T0, T0 + 45 * m)],
                       midnight, midnight + 24 * 60 * m)

    opener = Opener()
    v = RecordingsView(settings, db, opener)
    qtbot.addWidget(v)
    v.resize(1200, 500)
    v.day_edit.blockSignals(True)
    v.day_edit.setDate(QDate(2026, 11, 27))
    v.day_edit.blockSignals(False)
    # The lectures are read with the day, off the UI thread.
    read_on: list[threading.Thread] = []
    load = v.model._load_lectures
    assert load is not None
    v.model._load_lectures = lambda d, r: (read_on.append(threading.current_thread()), load(d, r))[1]
    with qtbot.waitSignal(v.model.loaded, timeout=10000):
        v.show()
    assert read_on and threading.main_thread() not in read_on
    assert [(x.title, x.state) for x in v.model.lectures(0)] == [
        ("Night school", "scheduled"), ("Algebra", "scheduled"), ("Exam", "skipped")]
    assert [x.title for x in v.model.lectures(1)] == ["Biology"]

    t = v.timeline
    t.zoom_to(600, (T0 + timedelta(seconds=15)).timestamp())
    # Each bracket spans its lecture's time on its room's rows, in its state's colour, and is painted so.
    brackets = t.lecture_brackets(0)
    assert [c for _, c in brackets] == [LECTURE_COLORS["scheduled"], LECTURE_COLORS["skipped"]]  # Night: not in view
    algebra, exam = (r for r, _ in brackets)
    assert algebra.right() == pytest.approx(t.x_of((T0 + m).timestamp()), abs=1)
    assert (exam.left(), exam.right()) == (pytest.approx(t.x_of((T0 + 2 * m).timestamp()), abs=1),
                                          pytest.approx(t.x_of((T0 + 4 * m).timestamp()), abs=1))
    image = t.grab().toImage()
    on_top = image.pixelColor(round((t.x_of(T0.timestamp()) + algebra.right()) / 2), round(algebra.top()))
    assert on_top.name() == LECTURE_COLORS["scheduled"].name()
    assert [c for _, c in t.lecture_brackets(1)] == [LECTURE_COLORS["scheduled"]]

    # Hover: the lecture's title and state first, then what is recorded there.
    tip = t.tooltip_at(_at(v, 0, 3))
    assert tip.startswith("Lecture: Algebra, 09:30 – 10:01\nscheduled\nby Dr. Noether\n\nA-101 / front: 10:00:00")
    assert "ready (waiting to upload)" in tip
    assert t.tooltip_at(_at(v, 0, 180)).startswith("Lecture: Exam, 10:02 – 10:04\nnot recorded (privacy)\n"
                                                    "not recorded: category 'no-recording'")
    assert "Lecture" not in t.tooltip_at(_at(v, 0, 90))  # between the two
    qtbot.mouseMove(t, _at(v, 0, 3))
    qtbot.waitUntil(lambda: "Lecture: Algebra" in QToolTip.text(), timeout=3000)
    # The context menu exports the lecture's time.
    actions = {a.text(): a for a in v.menu_actions(t.hit_at(_at(v, 0, 180)))}
    actions["Export the lecture “Exam”…"].trigger()
    dialog = v.export_dialog
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert (dialog._aware(dialog.start_edit), dialog._aware(dialog.end_edit)) == (T0 + 2 * m, T0 + 4 * m)


def test_the_view_follows_the_clock_keeping_zoom_and_scroll_and_shows_a_new_camera(
        qtbot, view, day, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from nvr_console.ui.views import recordings_view

    v, _ = view
    settings, db, paths = day
    monkeypatch.setattr(recordings_view, "now_in", lambda zone: (T0 + timedelta(minutes=5)).astimezone(zone))
    v.timeline.setFocus()
    qtbot.keyClick(v.timeline, Qt.Key.Key_Right)  # a file or gap chosen (the view scrolls to it)
    chosen = v.timeline.current_item
    assert chosen is not None
    shown = (v.timeline.view_start, v.timeline.view_end)
    assert shown[1] - shown[0] == 600  # zoomed in (the fixture)
    # Meanwhile: a camera is added, and the front camera records its next piece.
    catalog.add_camera(db, "A-101", "back", "rtsp://10.0.0.6/s")
    add_local_recording(db, settings, catalog.get_camera(db, "A-101", "front").id, "A-101", "front",
                        T0 + timedelta(seconds=CLIP * 5), paths[0], CLIP)
    files_before = len(v.model.rows()[0].files)
    assert v.live_timer.isActive()
    v.live_timer.setInterval(200)  # LIVE_MS, shortened
    qtbot.waitUntil(lambda: "A-101 / back" in [v.model.row_label(i) for i in range(len(v.model.rows()))],
                    timeout=10_000)
    assert len(v.model.rows()[v.model.rows().index(next(r for r in v.model.rows() if r.camera == "front"))].files) \
        == files_before + 1
    assert (v.timeline.view_start, v.timeline.view_end) == shown  # zoom and scroll kept
    # The chosen row and item follow their camera, though the new camera sorts before it.
    assert v.model.row_label(v.timeline.current_row) == "A-101 / front"
    assert v.timeline.current_item is not None and v.timeline.current_item.start == chosen.start
    assert "back" in [v.camera_box.itemText(i) for i in range(v.camera_box.count())]
    # ⟳ keeps them too.
    with qtbot.waitSignal(v.model.loaded, timeout=10_000):
        v.refresh()
    assert (v.timeline.view_start, v.timeline.view_end) == shown
    # Hidden: no reads.
    v.hide()
    assert not v.live_timer.isActive()


def test_rows_are_roomy_and_gaps_do_not_look_like_files(qtbot, view) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QBrush

    from nvr_console.ui.models.recordings_model import STATUS_COLORS
    from nvr_console.ui.widgets.timeline_widget import GAP_BRUSH

    v, _ = view
    assert v.timeline.row_rect(0).height() >= 2 * v.timeline.fontMetrics().height()
    layers, _hatched = v.timeline._layout(0, v.timeline.palette())
    gap_layers = [(fill, rects) for fill, rects in layers if isinstance(fill, QBrush)]
    file_layers = [(fill, rects) for fill, rects in layers if not isinstance(fill, QBrush)]
    assert gap_layers and file_layers  # the fixture's day has a gap (reconnecting) and files
    assert all(fill.style() == GAP_BRUSH for fill, _ in gap_layers)  # stippled, never a solid status colour
    assert all(fill in STATUS_COLORS.values() or fill.alpha() < 255 for fill, _ in file_layers)
    gap_rect = gap_layers[0][1][0]
    file_rect = next(rects[0] for fill, rects in file_layers if fill in STATUS_COLORS.values())
    assert gap_rect.height() < file_rect.height()  # and thinner than a file's bar
    # On screen: a gap's pixels are not all one colour (the stipple), a file's are.
    image = v.timeline.grab().toImage()

    def colours(rect) -> set[int]:  # type: ignore[no-untyped-def]
        return {image.pixel(int(x), int(y)) for x in range(int(rect.left()) + 1, int(rect.right()) - 1)
                for y in range(int(rect.top()) + 1, int(rect.bottom()) - 1)}

    assert len(colours(gap_rect)) > 1 and len(colours(file_rect)) == 1
