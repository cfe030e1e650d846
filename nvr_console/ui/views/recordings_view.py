"""The Recordings view: a day's coverage per camera (timeline), playing a file, its links, and exporting a range.

Reads go through core.coverage and core.catalog on pool threads (RecordingsModel); the opener that plays files
and opens links is injectable (QDesktopServices.openUrl by default), so tests see what would be opened. All
methods: UI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QPoint, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.coverage import FileSpan, day_bounds, load_day
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.lecture_store import LectureInfo
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.ui.dialogs.export_dialog import ExportDialog
from nvr_console.ui.models.recordings_model import STATUS_COLORS, STATUS_LABELS, Hit, RecordingsModel
from nvr_console.ui.widgets.timeline_widget import ZOOMS, TimelineWidget

ALL = "(all)"
LIVE_MS = 30_000  # while shown, the view reads the day (and the camera list) again: it follows the clock


def _cameras_by_room(db: Database) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in catalog.list_cameras(db):
        out.setdefault(c.room, []).append(c.name)
    return out


def _lectures_of_day(db: Database, settings: Settings, day: date, room: str | None) -> list[LectureInfo]:
    """The lectures with any part in the day (the recording zone's), for the timeline's brackets. Pool thread."""
    start, end = day_bounds(day, settings.recording.zone())
    return lecture_store.overlapping(db, start, end, room)


class RecordingsView(QWidget):
    opened = Signal(QUrl)  # every URL handed to the opener (also for the status line)

    def __init__(self, settings: Settings, db: Database, opener: Callable[[QUrl], object] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings, self.db = settings, db
        self.opener = opener or QDesktopServices.openUrl
        zone = settings.recording.zone()
        # The settings of the moment (follow()), not those of the start: a day is loaded with the current ones.
        self.model = RecordingsModel(lambda d, r, c: load_day(db, self.settings, d, r, c),
                                     lambda: _cameras_by_room(db), zone, self,
                                     load_lectures=lambda d, r: _lectures_of_day(db, self.settings, d, r))
        self.timeline = TimelineWidget(self.model)
        self.timeline.setObjectName("recordingsTimeline")
        self.export_dialog: ExportDialog | None = None
        self._rooms: dict[str, list[str]] = {}

        self._make_controls(zone)

        self.day_edit.dateChanged.connect(lambda _d: self.reload())
        self.room_box.currentTextChanged.connect(self._room_changed)
        self.camera_box.currentTextChanged.connect(lambda _t: self.reload())
        self.model.loading.connect(lambda: self.status.setText("Loading…"))
        self.model.loaded.connect(lambda: self.status.setText(self.model.summary()))
        self.model.failed.connect(lambda m: self.status.setText(f"Cannot read the recordings: {m}"))
        self.model.filters_loaded.connect(self._set_filters)
        self.timeline.play_requested.connect(self.play)
        self.timeline.context_requested.connect(self.show_menu)
        self.timeline.range_selected.connect(lambda *_: self.export_button.setEnabled(True))
        self.timeline.view_changed.connect(self._sync_zoom_buttons)
        self._started = False
        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_MS)
        self.live_timer.timeout.connect(self._follow_clock)

    def _make_controls(self, zone: ZoneInfo | None) -> None:
        """The bar (day, room, camera, reload; zoom and export), the legend, the timeline's scroll area and the
        status line, laid out."""
        self.day_edit = QDateEdit(self._qdate(now_in(zone).date()))
        self.day_edit.setCalendarPopup(True)
        self.day_edit.setDisplayFormat("yyyy-MM-dd (ddd)")
        prev_day, next_day = QToolButton(), QToolButton()
        prev_day.setText("◀")
        next_day.setText("▶")
        prev_day.setToolTip("The day before")
        next_day.setToolTip("The day after")
        prev_day.clicked.connect(lambda: self.day_edit.setDate(self.day_edit.date().addDays(-1)))
        next_day.clicked.connect(lambda: self.day_edit.setDate(self.day_edit.date().addDays(1)))
        self.room_box, self.camera_box = QComboBox(), QComboBox()
        self.room_box.addItem(ALL)
        self.camera_box.addItem(ALL)
        self.room_box.setMinimumContentsLength(10)
        self.camera_box.setMinimumContentsLength(10)
        self.day_button = QPushButton("Day")
        self.hours_button = QPushButton("Hours")
        self.hours_button.setToolTip("Two hours around the selected file or now; + and - (or Ctrl+wheel) zoom further")
        for b in (self.day_button, self.hours_button):
            b.setCheckable(True)
            b.setAutoExclusive(True)
        self.day_button.setChecked(True)
        self.day_button.clicked.connect(lambda: self.timeline.zoom_to(ZOOMS["day"]))
        self.hours_button.clicked.connect(lambda: self.timeline.zoom_to(ZOOMS["hours"], self._focus_time()))
        self.export_button = QPushButton("Export range…")
        self.export_button.setToolTip("Drag across a camera's row to pick a range, then export it as one file")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(lambda: self.export_selection())
        reload_button = QToolButton()
        reload_button.setText("⟳")
        reload_button.setToolTip("Read the day again (F5)")
        reload_button.setShortcut("F5")
        reload_button.clicked.connect(self.refresh)
        self.status = QLabel()
        self.status.setObjectName("recordingsStatus")

        bar = QHBoxLayout()
        left: tuple[QWidget, ...] = (prev_day, self.day_edit, next_day, QLabel("Room"), self.room_box,
                                     QLabel("Camera"), self.camera_box, reload_button)
        for w in left:
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (QLabel("Zoom"), self.day_button, self.hours_button, self.export_button):
            bar.addWidget(w)
        legend = QLabel("  ".join(f"<span style='color:{STATUS_COLORS[s].name()}'>■</span> {s}"
                                  for s in STATUS_LABELS) + "  ▨ damaged · ░ thin, stippled: gap (hover for why) · "
                        "shaded: outside the recording window")
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(self.timeline)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(legend)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.status)

    # --- loading -----------------------------------------------------------------------------------------------

    @staticmethod
    def _qdate(d: date) -> QDate:
        return QDate(d.year, d.month, d.day)

    def day(self) -> date:
        q = self.day_edit.date()
        return date(q.year(), q.month(), q.day())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self.start()
        else:
            self.refresh()  # back on screen: what happened meanwhile
        self.live_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.live_timer.stop()  # nobody looks: no reads

    def _follow_clock(self) -> None:
        """Every LIVE_MS while shown: today's rows grow to now, a camera added meanwhile appears."""
        if self.isVisible() and self.day() == now_in(self.model.zone).date():
            self.refresh()

    def refresh(self) -> None:
        """Read the camera list and the day again, keeping the zoom, the scroll and the selection (⟳, F5)."""
        self.model.load_filters()
        self.reload()

    def follow(self, holder: SettingsHolder) -> None:
        """New recording settings (the segment grid, the window, the time zone): the day is drawn again. UI
        thread."""
        holder.subscribe(("recording",), self._settings_changed)

    def _settings_changed(self, settings: Settings) -> None:
        self.settings = settings
        self.model.zone = settings.recording.zone()
        if self._started:
            self.reload()

    def start(self) -> None:
        """Read the filters and the day (the first time the view is shown)."""
        self._started = True
        self.model.load_filters()
        self.reload()

    def reload(self) -> None:
        room = self.room_box.currentText()
        camera = self.camera_box.currentText()
        self.model.load(self.day(), None if room == ALL else room, None if camera == ALL else camera)

    def _set_filters(self, rooms: dict[str, list[str]]) -> None:
        self._rooms = rooms
        current = self.room_box.currentText()
        self.room_box.blockSignals(True)
        self.room_box.clear()
        self.room_box.addItems([ALL, *sorted(rooms)])
        self.room_box.setCurrentText(current if current in rooms else ALL)
        self.room_box.blockSignals(False)
        self._fill_cameras()

    def _fill_cameras(self) -> None:
        room = self.room_box.currentText()
        names = sorted({n for r, cams in self._rooms.items() if room in (ALL, r) for n in cams})
        current = self.camera_box.currentText()
        self.camera_box.blockSignals(True)
        self.camera_box.clear()
        self.camera_box.addItems([ALL, *names])
        self.camera_box.setCurrentText(current if current in names else ALL)
        self.camera_box.blockSignals(False)

    def _room_changed(self, _text: str) -> None:
        self._fill_cameras()
        self.reload()

    def _focus_time(self) -> float | None:
        item = self.timeline.current_item
        if item is not None:
            return item.start.timestamp()
        now = datetime.now(UTC).timestamp()
        span = self.model.day_span()
        return now if span and span[0] <= now < span[1] else None

    def _sync_zoom_buttons(self) -> None:
        span = self.model.day_span()
        whole = span is not None and self.timeline.view_end - self.timeline.view_start >= span[1] - span[0] - 1
        (self.day_button if whole else self.hours_button).setChecked(True)

    # --- actions -------------------------------------------------------------------------------------------------

    def _open(self, url: QUrl | None, what: str) -> None:
        if url is None:
            self.status.setText(f"No copy of this file can be reached to {what}.")
            return
        self.opener(url)
        self.opened.emit(url)

    def play(self, f: FileSpan) -> None:
        """The local file in the system's player, else the Drive (or archive) link."""
        self._open(self.model.open_url(f), "play")

    def menu_actions(self, hit: Hit | None) -> list[QAction]:
        """The context menu of a point of the timeline (a file: play, links, folders, export its time)."""
        actions: list[QAction] = []

        def add(text: str, slot: Callable[[], object], enabled: bool = True) -> None:
            a = QAction(text, self)
            a.setEnabled(enabled)
            a.triggered.connect(slot)
            actions.append(a)

        if hit is not None and hit.file is not None:
            f = hit.file
            add("Play", lambda: self.play(f))
            add("Copy Drive link", lambda: QGuiApplication.clipboard().setText(f.web_link or ""),
                bool(f.web_link) and f.destination != "local")
            add("Open Drive folder", lambda: self._open(QUrl(f.folder_link) if f.folder_link else None, "open"),
                bool(f.folder_link) and f.destination != "local")
            add("Open containing folder", lambda: self._open(self.model.folder_url(f), "open"))
            row = hit.row
            add("Export this file's time…", lambda: self.export_selection(row, f.start.timestamp(),
                                                                          f.end.timestamp()))
        if hit is not None and hit.lecture is not None:
            x, lecture_row = hit.lecture, hit.row
            add(f"Export the lecture “{x.title}”…",
                lambda: self.export_selection(lecture_row, x.start.timestamp(), x.end.timestamp()))
        if self.timeline.selection is not None:
            add("Export selected range…", lambda: self.export_selection())
        return actions

    def show_menu(self, hit: Hit | None, pos: QPoint) -> None:
        actions = self.menu_actions(hit)
        if actions:
            menu = QMenu(self)
            menu.addActions(actions)
            menu.popup(pos)

    def export_selection(self, row: int | None = None, start: float | None = None,
                         end: float | None = None) -> ExportDialog | None:
        """Open the export dialog for a row's range (the timeline's selection by default)."""
        if row is None:
            if self.timeline.selection is None:
                return None
            row, start, end = self.timeline.selection
        rows = self.model.rows()
        if not 0 <= row < len(rows) or start is None or end is None:
            return None
        c = rows[row]
        dialog = ExportDialog(self.settings, self.db, c.room, c.camera, datetime.fromtimestamp(start, UTC),
                              datetime.fromtimestamp(end, UTC), self.opener, self)
        self.export_dialog = dialog
        dialog.show()
        return dialog
