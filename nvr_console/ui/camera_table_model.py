"""The live camera table: one row per camera, fed only by engine signals, repainted in batches.

Engine signals arrive at up to thousands per second. Each one updates the row's data and marks the
row dirty; a short single-shot timer then emits one `dataChanged` per run of consecutive dirty rows,
so the view repaints at most ~7 times a second however busy the engine is. All methods: UI thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QIcon, QImage

from nvr_console.core.status import CameraState, CameraStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.formatting import human_duration, human_rate, human_size, now

BATCH_INTERVAL_MS = 150  # between 100 and 250 ms: fast to the eye, cheap for 500 rows


class Column(enum.IntEnum):
    PREVIEW = 0
    ROOM = 1
    CAMERA = 2
    STATE = 3
    FILE = 4
    UPLOAD = 5
    DRIVE = 6
    ACTION = 7


HEADERS = {
    Column.PREVIEW: "Preview", Column.ROOM: "Room", Column.CAMERA: "Camera", Column.STATE: "State",
    Column.FILE: "Current file", Column.UPLOAD: "Latest upload", Column.DRIVE: "Drive", Column.ACTION: "",
}


class Role(enum.IntEnum):
    CAMERA_ID = Qt.ItemDataRole.UserRole + 1
    STATE = Qt.ItemDataRole.UserRole + 2  # CameraState value (text), or None before the engine reports
    URL = Qt.ItemDataRole.UserRole + 3  # folder of the latest upload: a Drive link, or file:// in the local archive
    UPLOAD = Qt.ItemDataRole.UserRole + 4  # UploadProgress or None
    ACTION = Qt.ItemDataRole.UserRole + 5  # "start" or "stop"
    SORT = Qt.ItemDataRole.UserRole + 6  # a value that sorts naturally (numbers, not display text)
    LAST_ERROR = Qt.ItemDataRole.UserRole + 7


# States in which the camera is wanted running: its button offers Stop.
ACTIVE_STATES = frozenset({
    CameraState.STARTING, CameraState.RECORDING, CameraState.STALLED, CameraState.RECONNECTING,
    CameraState.SCHEDULED, CameraState.FAILED,
})

STATE_COLORS: dict[CameraState | None, str] = {
    CameraState.RECORDING: "#1b8a3a",
    CameraState.STARTING: "#1f6fbf",
    CameraState.STOPPING: "#1f6fbf",
    CameraState.STALLED: "#c46a00",
    CameraState.RECONNECTING: "#c46a00",
    CameraState.FAILED: "#c62828",
    CameraState.SCHEDULED: "#6a4fb3",
    CameraState.STOPPED: "#6b6b6b",
    None: "#8a8a8a",
}

STATE_ICONS: dict[CameraState | None, str] = {
    CameraState.RECORDING: "mdi6.record-circle",
    CameraState.STARTING: "mdi6.progress-clock",
    CameraState.STOPPING: "mdi6.progress-clock",
    CameraState.STALLED: "mdi6.pause-octagon",
    CameraState.RECONNECTING: "mdi6.lan-pending",
    CameraState.FAILED: "mdi6.alert-circle",
    CameraState.SCHEDULED: "mdi6.calendar-clock",
    CameraState.STOPPED: "mdi6.stop-circle-outline",
    None: "mdi6.help-circle-outline",
}


def state_text(st: CameraStatus | None, at: float) -> str:
    """What the State cell says: the state, and the one detail the operator needs next."""
    if st is None:
        return "waiting for engine"
    if st.state is CameraState.RECONNECTING:
        left = max(0, round(st.next_retry_in - (at - st.since)))
        return f"reconnecting in {left} s"
    if st.state is CameraState.FAILED:
        return f"failed: {st.last_error}" if st.last_error else "failed"
    if st.state is CameraState.STALLED:
        return f"stalled for {human_duration(at - st.since)}"
    if st.state is CameraState.STOPPED and not st.enabled:
        return "stopped (disabled)"
    return st.state.value


def file_text(st: CameraStatus | None, at: float) -> str:
    if st is None or not st.current_file or st.state not in (CameraState.RECORDING, CameraState.STALLED):
        return ""
    parts = [human_duration(at - st.file_started) if st.file_started else "", human_size(st.file_size)]
    if st.bitrate_kbps:
        parts.append(f"{st.bitrate_kbps / 1000:.1f} Mb/s")
    return " · ".join(p for p in parts if p)


def upload_text(up: UploadProgress | None) -> str:
    if up is None:
        return ""
    if up.state in (UploadState.UPLOADING, UploadState.VERIFYING):
        pct = 100 * up.bytes_sent / up.total if up.total else 0
        text = f"{pct:.0f}%"
        if up.rate_bps:
            text += f" · {human_rate(up.rate_bps)}"
        if up.eta_s:
            text += f" · {human_duration(up.eta_s)} left"
        return text if up.state is UploadState.UPLOADING else "verifying"
    if up.state is UploadState.UPLOADED:
        return "verified"
    if up.state in (UploadState.FAILED, UploadState.RETRYING) and up.error:
        return f"{up.state.value}: {up.error}"
    return up.state.value


def is_local_link(link: str) -> bool:
    """A folder link into the local archive (the uploader's local destination gives file:// URLs)."""
    return link.startswith("file:")


def link_text(link: str) -> str:
    """What the Drive cell says for the latest upload's folder."""
    if not link:
        return ""
    return "Local archive" if is_local_link(link) else "Open folder"


def link_tip(link: str) -> str:
    if is_local_link(link):
        return f"{QUrl(link).toLocalFile()}: uploads go to the local archive (not to Google Drive)"
    return link


@dataclass
class CameraRow:
    camera_id: int
    room: str
    camera: str
    status: CameraStatus | None = None
    upload: UploadProgress | None = None
    folder_link: str = ""
    thumbnail: QImage | None = None


class CameraTableModel(QAbstractTableModel):
    """Rows of cameras keyed by id. UI thread."""

    def __init__(self, parent: QObject | None = None, batch_interval_ms: int = BATCH_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._rows: list[CameraRow] = []
        self._row_of: dict[int, int] = {}  # camera id -> row
        self._dirty: set[int] = set()
        self._icons: dict[CameraState | None, QIcon] = {}
        self._colors = {k: QColor(v) for k, v in STATE_COLORS.items()}
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)  # armed only while something is dirty: no idle wake-ups
        self._flush_timer.setInterval(batch_interval_ms)
        self._flush_timer.timeout.connect(self.flush)
        self._at = now()  # the clock read once per flush, so a batch shows one consistent time

    # --- feeding ---------------------------------------------------------------------------------

    def seed(self, cameras: list[tuple[int, str, str]]) -> None:
        """Rows for cameras known from the catalog before the engine reports them: (id, room, name)."""
        new = [c for c in cameras if c[0] not in self._row_of]
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for cid, room, name in new:
            self._row_of[cid] = len(self._rows)
            self._rows.append(CameraRow(cid, room, name))
        self.endInsertRows()

    def apply_status(self, st: CameraStatus) -> None:
        """Slot for Engine.camera_status."""
        row = self._row_of.get(st.camera_id)
        if row is None:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._row_of[st.camera_id] = len(self._rows)
            self._rows.append(CameraRow(st.camera_id, st.room, st.camera, st))
            self.endInsertRows()
            return
        r = self._rows[row]
        r.status, r.room, r.camera = st, st.room, st.camera
        self._mark(row)

    def remove_camera(self, camera_id: int) -> None:
        """Slot for Engine.camera_removed."""
        row = self._row_of.get(camera_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._row_of = {r.camera_id: i for i, r in enumerate(self._rows)}
        self._dirty = {d if d < row else d - 1 for d in self._dirty if d != row}
        self.endRemoveRows()

    def apply_upload(self, up: UploadProgress) -> None:
        """Slot for Engine.upload_progress: the latest upload of the camera wins."""
        row = self._row_of.get(up.camera_id) if up.camera_id is not None else None
        if row is None:
            return
        r = self._rows[row]
        if r.upload is not None and up.recording_id < r.upload.recording_id:
            # An older file finishing late: the cell shows the latest one, the link cell its folder if none yet.
            if up.folder_link and not r.folder_link:
                r.folder_link = up.folder_link
                self._mark(row)
            return
        r.upload = up
        if up.folder_link:
            r.folder_link = up.folder_link
        self._mark(row)

    def apply_recording(self, ev: RecordingEvent) -> None:
        """Slot for Engine.recording_finished: the new file is queued for upload."""
        row = self._row_of.get(ev.camera_id) if ev.camera_id is not None else None
        if row is None:
            return
        r = self._rows[row]
        if r.upload is None or ev.recording_id > r.upload.recording_id:
            r.upload = UploadProgress(ev.recording_id, ev.camera_id, UploadState.QUEUED, 0, ev.size)
            self._mark(row)

    def set_thumbnail(self, camera_id: int, image: QImage) -> None:
        row = self._row_of.get(camera_id)
        if row is not None:
            self._rows[row].thumbnail = image
            self._mark(row)

    def tick(self) -> None:
        """Once a second: cells that show a running clock (elapsed, countdown) need repainting."""
        for i, r in enumerate(self._rows):
            if r.status is not None and r.status.state in (
                CameraState.RECORDING, CameraState.RECONNECTING, CameraState.STALLED
            ):
                self._dirty.add(i)
        if self._dirty and not self._flush_timer.isActive():
            self._flush_timer.start()

    def _mark(self, row: int) -> None:
        self._dirty.add(row)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> list[tuple[int, int]]:
        """Emit one dataChanged per run of consecutive dirty rows; returns the runs (for tests, bench)."""
        self._at = now()
        if not self._dirty:
            return []
        rows = sorted(self._dirty)
        self._dirty.clear()
        runs: list[tuple[int, int]] = []
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                runs.append((start, prev))
                start = r
            prev = r
        runs.append((start, prev))
        last_col = len(Column) - 1
        for a, b in runs:
            self.dataChanged.emit(self.index(a, 0), self.index(b, last_col))
        return runs

    # --- reading ---------------------------------------------------------------------------------

    def camera_ids(self) -> list[int]:
        return [r.camera_id for r in self._rows]

    def row_of(self, camera_id: int) -> int | None:
        return self._row_of.get(camera_id)

    def camera_row(self, camera_id: int) -> CameraRow | None:
        row = self._row_of.get(camera_id)
        return None if row is None else replace(self._rows[row])

    def states(self) -> list[CameraState | None]:
        return [r.status.state if r.status else None for r in self._rows]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def state_icon(self, state: CameraState | None) -> QIcon:
        icon = self._icons.get(state)
        if icon is None:
            import qtawesome  # needs a QGuiApplication; imported late so model tests stay light

            icon = self._icons[state] = qtawesome.icon(STATE_ICONS[state], color=STATE_COLORS[state])
        return icon

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = Column(index.column())
        st = r.status
        state = st.state if st else None
        if role == Role.CAMERA_ID:
            return r.camera_id
        if role == Role.STATE:
            return state.value if state else None
        if role == Role.ACTION:
            return "stop" if state in ACTIVE_STATES else "start"
        if role == Role.UPLOAD:
            return r.upload
        if role == Role.URL:
            return r.folder_link
        if role == Role.LAST_ERROR:
            return st.last_error if st else ""
        at = self._at
        if role == Qt.ItemDataRole.DisplayRole:
            if col is Column.ROOM:
                return r.room
            if col is Column.CAMERA:
                return r.camera
            if col is Column.STATE:
                return state_text(st, at)
            if col is Column.FILE:
                return file_text(st, at)
            if col is Column.UPLOAD:
                return upload_text(r.upload)
            if col is Column.DRIVE:
                return link_text(r.folder_link)
            if col is Column.ACTION:
                return "Stop" if state in ACTIVE_STATES else "Start"
            return None
        if role == Role.SORT:
            if col is Column.STATE:
                return state.value if state else ""
            if col is Column.FILE:
                return st.file_size if st else 0
            if col is Column.UPLOAD:
                return r.upload.recording_id if r.upload else 0
            return self.data(index, Qt.ItemDataRole.DisplayRole) or ""
        if col is Column.STATE:
            if role == Qt.ItemDataRole.DecorationRole:
                return self.state_icon(state)
            if role == Qt.ItemDataRole.ForegroundRole:
                return self._colors[state]
        if role == Qt.ItemDataRole.DecorationRole and col is Column.PREVIEW:
            return r.thumbnail
        if role == Qt.ItemDataRole.ToolTipRole:
            if col is Column.STATE and st and st.last_error:
                return st.last_error
            if col is Column.FILE and st and st.current_file:
                return st.current_file
            if col is Column.DRIVE and r.folder_link:
                return link_tip(r.folder_link)
            if col is Column.UPLOAD and r.upload and r.upload.error:
                return r.upload.error
        return None
