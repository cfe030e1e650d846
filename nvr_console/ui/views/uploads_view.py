"""Uploads: the queue and the history, with retry, open in Drive, and show the local file. UI thread.

Rows come from the catalog once (history, read on the database pool) and then from engine signals
(`recording_finished`, `upload_progress`). The view asks for actions through its own signals
(`retry_requested`, `resume_requested`), which the main window connects to the engine commands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core import catalog
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.status import QueueStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.formatting import human_rate, human_size
from nvr_console.ui.models.camera_table_delegates import UploadProgressDelegate
from nvr_console.ui.models.camera_table_model import Role
from nvr_console.ui.models.list_table_model import ListTableModel
from nvr_console.ui.widgets.list_table import list_table

HISTORY_LIMIT = 500
_STATE_OF_STATUS = {  # RecordingStatus value -> what the uploads view calls it
    "recording": "recording", "finalizing": "finalizing", "ready": "queued", "uploading": "uploading",
    "uploaded": "uploaded", "failed": "failed", "lost": "lost",
}
_COLORS = {"failed": QColor("#c62828"), "lost": QColor("#c62828"), "uploaded": QColor("#1b8a3a"),
           "paused": QColor("#c46a00"), "retrying": QColor("#c46a00")}


@dataclass
class UploadRow:
    recording_id: int
    camera_id: int | None
    room: str
    camera: str
    started: float  # epoch seconds when the piece starts (its slot's start when that is unknown)
    path: str
    size: int
    state: str
    progress: UploadProgress | None = None
    web_link: str = ""
    folder_link: str = ""
    error: str = ""


class UploadsModel(ListTableModel[UploadRow]):
    HEADERS = ("File", "Started", "Size", "Upload", "State")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._row_of: dict[int, int] = {}
        # camera id -> (room, camera): progress events carry only ids; the main window supplies names.
        self.camera_names: Callable[[int], tuple[str, str] | None] = lambda _cid: None

    def _upsert(self, row: UploadRow) -> None:
        i = self._row_of.get(row.recording_id)
        if i is None:
            self.beginInsertRows(QModelIndex(), 0, 0)  # newest first
            self._rows.insert(0, row)
            self._row_of = {r.recording_id: n for n, r in enumerate(self._rows)}
            self.endInsertRows()
        else:
            self._rows[i] = row
            self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.HEADERS) - 1))

    def load_history(self, infos: list[catalog.RecordingInfo]) -> None:
        """Rows from the database; rows the engine already reported win. UI thread."""
        for info in reversed(infos):
            if info.id in self._row_of:
                continue
            begun = info.start_time or info.slot_start
            self._upsert(UploadRow(
                info.id, info.camera_id, info.room, info.camera, begun.timestamp(),
                info.local_path, info.size or 0,
                _STATE_OF_STATUS.get(info.status, info.status), None, info.web_link or "", info.folder_link or "",
                info.last_error or "",
            ))

    def apply_recording(self, ev: RecordingEvent) -> None:
        """Slot for Engine.recording_finished."""
        state = _STATE_OF_STATUS.get(ev.status, ev.status)
        self._upsert(UploadRow(ev.recording_id, ev.camera_id, ev.room, ev.camera, ev.start_time or ev.slot_start,
                               ev.path, ev.size, state, error=ev.notes if state == "failed" else ""))

    def apply_upload(self, up: UploadProgress) -> None:
        """Slot for Engine.upload_progress."""
        i = self._row_of.get(up.recording_id)
        if i is not None:
            base = self._rows[i]
        else:
            room, cam = (self.camera_names(up.camera_id) if up.camera_id is not None else None) or ("", "")
            base = UploadRow(up.recording_id, up.camera_id, room, cam, 0.0, "", up.total, "")
        self._upsert(replace(base, state=up.state.value, progress=up, size=up.total or base.size,
                             web_link=up.web_link or base.web_link, folder_link=up.folder_link or base.folder_link,
                             error=up.error))

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Role.UPLOAD:
            return r.progress
        if role == Role.URL:
            return r.web_link or r.folder_link
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                # Local names are only a time (<HH-MM-SS>.mp4): the camera in front says whose file it is.
                who = f"{r.room} / {r.camera}" if r.room else ""
                return " · ".join(part for part in (who, Path(r.path).name if r.path else "") if part)
            if col == 1:
                return datetime.fromtimestamp(r.started).strftime("%Y-%m-%d %H:%M:%S") if r.started else ""
            if col == 2:
                return human_size(r.size) if r.size else ""
            if col == 3:
                p = r.progress
                if p and p.state in (UploadState.UPLOADING, UploadState.VERIFYING) and p.total:
                    text = f"{100 * p.bytes_sent / p.total:.0f}%"
                    return text + (f" · {human_rate(p.rate_bps)}" if p.rate_bps else "")
                return ""
            return f"{r.state}: {r.error}" if r.error and r.state in ("failed", "retrying", "paused") else r.state
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return _COLORS.get(r.state)
        if role == Qt.ItemDataRole.ToolTipRole:
            return r.error or r.path or None
        return None


class UploadsView(QWidget):
    retry_requested = Signal(int)  # recording id
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = UploadsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.table = list_table(self.proxy)
        # One line a row; the File column takes the room (it holds "room / camera · name"), the short ones fit
        # their content, State keeps a width of its own (its long error is in the tooltip).
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):  # Started, Size
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        metrics = self.table.fontMetrics()
        header.resizeSection(3, metrics.horizontalAdvance("100% · 999.9 MiB/s") + 48)  # Upload (a progress bar)
        header.resizeSection(4, metrics.horizontalAdvance("retrying: HTTP 503 from Drive, retry in 8 s") + 16)  # State
        self.table.setItemDelegateForColumn(3, UploadProgressDelegate(self.table))
        self.queue_label = QLabel("Queue: empty")
        self.retry_button = QPushButton("&Retry")
        self.open_button = QPushButton("&Open in Drive")
        self.show_button = QPushButton("Show &file")
        self.resume_button = QPushButton("Res&ume queue")
        self.resume_button.hide()
        self.retry_button.clicked.connect(self._retry)
        self.open_button.clicked.connect(self._open)
        self.show_button.clicked.connect(self._show_file)
        self.resume_button.clicked.connect(self.resume_requested)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.model.dataChanged.connect(self._update_buttons)
        bar = QHBoxLayout()
        bar.addWidget(self.queue_label, 1)
        for b in (self.resume_button, self.retry_button, self.open_button, self.show_button):
            bar.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
        self._update_buttons()

    def load_history(self, db: Database) -> None:
        """Fill the history from the catalog, read on the database pool. UI thread."""
        run_in_background(lambda: catalog.list_recordings(db, limit=HISTORY_LIMIT), self.model.load_history,
                          lambda msg: self.queue_label.setText(f"History unavailable: {msg}"),
                          pool=database_pool(), expected=(DatabaseUnavailable,), context=self)

    def apply_queue(self, q: QueueStatus) -> None:
        """Slot for Engine.queue_status."""
        text = f"Queue: {q.files} file(s), {human_size(q.bytes)}"
        if q.rate_bps:
            text += f", {human_rate(q.rate_bps)}"
        if q.paused:
            text += f" — paused: {q.reason}"
        elif q.accounts_waiting:
            text += f" — waiting: {q.accounts_waiting}"
        self.queue_label.setText(text)
        self.resume_button.setVisible(q.paused)

    def selected(self) -> UploadRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row(self.proxy.mapToSource(rows[0]).row()) if rows else None

    def _update_buttons(self, *_: object) -> None:
        r = self.selected()
        self.retry_button.setEnabled(bool(r and r.state in ("failed", "lost", "paused", "retrying")))
        self.open_button.setEnabled(bool(r and (r.web_link or r.folder_link)))
        self.show_button.setEnabled(bool(r and r.path))

    def _retry(self) -> None:
        r = self.selected()
        if r is not None:
            self.retry_requested.emit(r.recording_id)

    def _open(self) -> None:
        r = self.selected()
        if r is not None and (r.web_link or r.folder_link):
            QDesktopServices.openUrl(QUrl(r.web_link or r.folder_link))

    def _show_file(self) -> None:
        r = self.selected()
        if r is not None and r.path:
            # Opening the folder works on every desktop; selecting the file would need per-desktop D-Bus calls.
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(r.path).parent)))
