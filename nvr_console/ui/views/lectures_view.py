"""Lectures: today's or this week's lectures per room, from the timetables, with their state, coverage and
link; open the lecture's folder, or have it assembled and delivered again (redo). UI thread.

Rows are read off the UI thread (core.lectures.lecture_store on the database pool) when the view is first
shown, every REFRESH_MS while it lives, and after a redo; a slow database never freezes the console. The
link opener is injectable (QDesktopServices.openUrl by default), so tests see what would be opened.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.coverage import day_bounds
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.lecture_store import LectureInfo
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.dialogs.export_dialog import ExportDialog
from nvr_console.ui.models.list_table_model import ListTableModel
from nvr_console.ui.widgets.list_table import list_table, selected_row

REFRESH_MS = 30_000
ALL = "All rooms"
_COLORS = {"delivered": QColor("#1b8a3a"), "incomplete": QColor("#c46a00"), "recording": QColor("#1565c0"),
           "assembling": QColor("#1565c0"), "cancelled": QColor("#777777"), "skipped": QColor("#777777")}


class LecturesModel(ListTableModel[LectureInfo]):
    HEADERS = ("Room", "Day", "Time", "Title", "Organizer", "State", "Coverage", "Link")

    def __init__(self, zone: object) -> None:
        super().__init__()
        self.zone = zone

    def _local(self, d: datetime) -> datetime:
        return d.astimezone(self.zone) if self.zone is not None else d.astimezone()  # type: ignore[arg-type]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        x = self.row(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            a, b = self._local(x.start), self._local(x.end)
            coverage = "" if x.coverage is None else f"{x.coverage * 100:.1f} %"
            return (x.room, a.strftime("%a %Y-%m-%d"), f"{a:%H:%M}–{b:%H:%M}", x.title, x.organizer, x.state,
                    coverage, "open" if x.web_link else "")[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() in (5, 6):
            return _COLORS.get(x.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            why = f"\nnot recorded: {x.private_reason}" if x.private_reason else ""
            notes = f"\ngaps:\n{x.notes}" if x.notes else ""
            return f"{x.title}\nevent {x.uid} {x.recurrence_id}".rstrip() + why + notes
        return None


class LecturesView(QWidget):
    opened = Signal(QUrl)

    def __init__(self, settings: Settings, db: Database, opener: Callable[[QUrl], object] | None = None,
                 parent: QWidget | None = None, refresh_ms: int = REFRESH_MS,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(parent)
        self.settings, self.db = settings, db
        self.clock = clock or (lambda: datetime.now(UTC))  # what "today" and "has started" mean (tests set it)
        self.export_dialog: ExportDialog | None = None
        self.opener = opener or QDesktopServices.openUrl
        self.zone = settings.recording.zone()
        self.model = LecturesModel(self.zone)
        self.table = list_table(self.model, "lecturesTable", stretch=3)
        self.table.doubleClicked.connect(lambda _i: self.open_selected())
        self.span_box = QComboBox()
        self.span_box.addItems(["Today", "This week"])
        self.span_box.currentIndexChanged.connect(lambda _i: self.refresh())
        self.room_box = QComboBox()
        self.room_box.addItem(ALL)
        self.room_box.setMinimumContentsLength(10)
        self.room_box.currentIndexChanged.connect(lambda _i: self._show_rows())
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Open the lecture's folder (Drive or the archive)")
        self.open_button.clicked.connect(self.open_selected)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip("Assemble and deliver the lecture again (e.g. after a late piece arrived)")
        self.redo_button.clicked.connect(self.redo_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Export the lecture's time from the room's recordings into a folder of your "
                                      "choice (one file per camera)")
        self.export_button.clicked.connect(self.export_selected)
        self.summary = QLabel("Lectures: —")
        bar = QHBoxLayout()
        for w in (self.span_box, self.room_box, self.open_button, self.redo_button, self.export_button):
            bar.addWidget(w)
        bar.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._all: list[LectureInfo] = []
        self._pending = False
        self._started = False
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._buttons())
        self._buttons()

    def follow(self, holder: SettingsHolder) -> None:
        """A new time zone redraws the lectures in it. UI thread."""
        holder.subscribe(("recording",), self._settings_changed)

    def _settings_changed(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = self.model.zone = settings.recording.zone()
        if self._started:
            self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self._started = True
            self.timer.start()
            self.refresh()

    def span(self) -> tuple[datetime, datetime]:
        """Today, or this week from Monday, in the recordings' time zone."""
        today = self.clock().astimezone(self.zone).date()
        if self.span_box.currentIndex() == 1:
            monday = today - timedelta(days=today.weekday())
            start, _ = day_bounds(monday, self.zone)
            return start, day_bounds(monday + timedelta(days=6), self.zone)[1]
        return day_bounds(today, self.zone)

    def refresh(self, *_args: object) -> None:
        """Read the lectures on a pool thread; one read at a time. UI thread."""
        if self._pending:
            return
        self._pending = True
        db, (start, end) = self.db, self.span()
        run_in_background(lambda: lecture_store.between(db, start, end), self._loaded, self._failed,
                          pool=database_pool(), context=self)

    def _loaded(self, lectures: list[LectureInfo]) -> None:
        self._pending = False
        self._all = lectures
        rooms = sorted({x.room for x in lectures})
        current = self.room_box.currentText()
        self.room_box.blockSignals(True)
        self.room_box.clear()
        self.room_box.addItems([ALL, *rooms])
        self.room_box.setCurrentText(current if current in rooms else ALL)
        self.room_box.blockSignals(False)
        self._show_rows()

    def _show_rows(self) -> None:
        room = self.room_box.currentText()
        shown = [x for x in self._all if room in (ALL, "") or x.room == room]
        self.model.replace_rows(shown)
        counts: dict[str, int] = {}
        for x in shown:
            counts[x.state] = counts.get(x.state, 0) + 1
        what = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        self.summary.setText(f"{len(shown)} lecture(s): {what}" if shown else
                             "No lectures (give a room a timetable in Rooms, or `rooms edit ROOM --calendar URL`)")
        self._buttons()

    def _failed(self, message: str) -> None:
        self._pending = False
        self.summary.setText(f"Lectures could not be read: {message}")

    def selected(self) -> LectureInfo | None:
        row = selected_row(self.table)
        return None if row is None else self.model.row_or_none(row)

    def _buttons(self) -> None:
        x = self.selected()
        self.open_button.setEnabled(bool(x and x.web_link))
        self.redo_button.setEnabled(bool(x and x.state in ("delivered", "incomplete", "assembling")))
        # Nothing is recorded of a lecture that has not begun.
        self.export_button.setEnabled(bool(x and x.start <= self.clock()))

    def open_selected(self) -> None:
        x = self.selected()
        if x is not None and x.web_link:
            url = QUrl(x.web_link)
            self.opener(url)
            self.opened.emit(url)

    def export_selected(self) -> ExportDialog | None:
        """The export dialog for the selected lecture: its room (every camera), its start and end. UI thread."""
        x = self.selected()
        if x is None:
            return None
        dialog = ExportDialog(self.settings, self.db, x.room, None, x.start, x.end, self.opener, self)
        dialog.setWindowTitle(f"Export the lecture “{x.title}”")
        self.export_dialog = dialog
        dialog.show()
        return dialog

    def redo_selected(self) -> None:
        x = self.selected()
        if x is None:
            return
        db, lecture_id = self.db, x.id
        self.summary.setText(f"Lecture {x.title!r}: delivering again…")
        run_in_background(lambda: lecture_store.redo(db, lecture_id), lambda _r: self.refresh(), self._failed,
                          pool=database_pool(), context=self)
