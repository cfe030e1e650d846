"""Export a time range from the console: one camera or a whole room, progress bar, cancel, and the folder opened
at the end. The export itself (core.export.run) runs on a pool thread; its progress comes back through a
signal. All methods: UI thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QDateTime, QObject, QTime, QUrl, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.export.run import Cancelled, ExportResult, export_range, output_name
from nvr_console.core.schedule.boundaries import localize
from nvr_console.ui.background import run_in_background


class _Progress(QObject):
    """Created on the UI thread; emitted from the export's thread, so receivers run on the UI thread."""

    changed = Signal(float, str)


def default_folder() -> Path:
    videos = Path.home() / "Videos"
    return (videos if videos.is_dir() else Path.home()) / "nvr-console exports"


class ExportDialog(QDialog):
    finished_export = Signal(object)  # list[ExportResult]

    def __init__(self, settings: Settings, db: Database, room: str, camera: str | None, start: datetime,
                 end: datetime, opener: Callable[[QUrl], object], parent: QWidget | None = None,
                 folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export recordings")
        self.settings, self.db, self.room, self.opener = settings, db, room, opener
        self.zone: ZoneInfo | None = settings.recording.zone()
        self.cancel_event = threading.Event()
        self.results: list[ExportResult] | None = None
        self.running = False

        self.whole_room = QCheckBox(f"Every camera of {room} (one file each, into the folder)")
        self.whole_room.setChecked(camera is None)
        self.camera = camera
        self.start_edit = QDateTimeEdit(self._qt(start))
        self.end_edit = QDateTimeEdit(self._qt(end))
        for e in (self.start_edit, self.end_edit):
            e.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            e.setCalendarPopup(True)
        base = folder or default_folder()
        self.folder_edit = QLineEdit(str(base))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        where = QHBoxLayout()
        where.addWidget(self.folder_edit)
        where.addWidget(browse)
        self.exact = QCheckBox("Start on the exact frame (re-encodes only the first second or two)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Pieces come from this computer, the local archive or Drive; missing ones are "
                             "listed as gaps.")
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Room", QLabel(room))
        if camera is not None:
            form.addRow("Camera", QLabel(camera))
            form.addRow("", self.whole_room)
        form.addRow("From", self.start_edit)
        form.addRow("To", self.end_edit)
        form.addRow("Into folder", where)
        form.addRow("", self.exact)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._progress = _Progress(self)
        self._progress.changed.connect(self._on_progress)

    def _qt(self, moment: datetime) -> QDateTime:
        local = moment.astimezone(self.zone) if self.zone else moment.astimezone()
        return QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute, local.second))

    def _aware(self, edit: QDateTimeEdit) -> datetime:
        d, t = edit.date(), edit.time()
        return localize(datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), t.second()), self.zone)

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if chosen:
            self.folder_edit.setText(chosen)

    def target(self) -> tuple[str | None, Path]:
        """(camera or None for the whole room, output path) as the form says."""
        folder = Path(self.folder_edit.text()).expanduser()
        camera = None if self.whole_room.isChecked() or self.camera is None else self.camera
        if camera is None:
            return None, folder
        return camera, folder / output_name(self.room, camera, self._aware(self.start_edit),
                                            self._aware(self.end_edit), self.zone)

    def start_export(self) -> None:
        if self.running:
            return
        start, end = self._aware(self.start_edit), self._aware(self.end_edit)
        if end <= start:
            self.status.setText("The end is before the start: change From or To.")
            return
        camera, out = self.target()
        self.running = True
        self.cancel_event.clear()
        self.export_button.setEnabled(False)
        self.progress.setValue(0)
        self.status.setText("Starting…")
        settings, db, room, exact = self.settings, self.db, self.room, self.exact.isChecked()
        signal, cancel = self._progress.changed, self.cancel_event

        def work() -> list[ExportResult]:  # pool thread
            (out if camera is None else out.parent).mkdir(parents=True, exist_ok=True)
            return export_range(settings, db, room, camera, start, end, out, exact=exact,
                                progress=lambda f, text: signal.emit(f, text), cancel=cancel)

        # The global pool, not the database thread: an export runs for minutes (downloads, FFmpeg).
        run_in_background(work, self._done, self._failed, context=self)

    def cancel(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(1000 * fraction))
        self.status.setText(text)

    def _done(self, results: list[ExportResult]) -> None:
        self.running = False
        self.results = results
        self.progress.setValue(1000)
        written = [r for r in results if r.path is not None]
        gaps = sum(len(r.gaps) for r in results)
        if written:
            names = ", ".join(r.path.name for r in written if r.path)
            self.status.setText(f"Exported {names}" + (f"; {gaps} gap(s), listed in the log beside it" if gaps else ""))
            folder = written[0].path.parent if written[0].path else None
            if folder is not None:
                self.opener(QUrl.fromLocalFile(str(folder)))
        else:
            reasons = "; ".join(g.reason for r in results for g in r.gaps[:3])
            self.status.setText(f"Nothing in that range could be exported: {reasons or 'no recordings'}")
        self.export_button.setEnabled(True)
        self.cancel_button.setText("Close")
        self.finished_export.emit(results)

    def _failed(self, message: str) -> None:
        self.running = False
        self.export_button.setEnabled(True)
        cancelled = self.cancel_event.is_set()
        self.status.setText("Cancelled; nothing was kept." if cancelled else f"Export failed: {message}")
        self.progress.setValue(0)
        self.finished_export.emit([])


__all__ = ["Cancelled", "ExportDialog"]
