"""The live camera table: one row per camera, fed only by engine signals, repainted in batches.

Engine signals arrive at up to thousands per second. Each one updates the row's data and marks the
camera dirty; a short single-shot timer then emits one `dataChanged` per run of consecutive dirty rows,
so the view repaints at most ~7 times a second however busy the engine is.

The model sorts its own rows (`sort()`, called by the view through ui.camera_table_filter): one Python
`list.sort` over cached keys, and only when a dirty row's key changed. A QSortFilterProxyModel sorting
by a role calls `data()` twice per comparison, each a trip into Python, which cost a 2,000-camera table
tens of milliseconds per batch. Display texts are cached per row until the row changes. All methods: UI
thread.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from operator import attrgetter
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QImage

from nvr_console.core.status import CameraState, CameraStatus, RecordingEvent, UploadProgress, UploadState
from nvr_console.ui.formatting import compact_duration, human_duration, human_rate, human_size, now

BATCH_INTERVAL_MS = 150  # between 100 and 250 ms: fast to the eye, cheap for 500 rows
ICON_SIDES = (16, 24, 32, 48)  # state icon pixmaps: the table's icon size at 1x and 2x screens, and larger


class Column(enum.IntEnum):
    PREVIEW = 0
    ROOM = 1
    CAMERA = 2
    STATE = 3
    STREAM = 4  # what the camera sends (codecs, size), as the engine's recorder saw it
    NODE = 5  # the node recording it (several machines on one database); hidden on a single machine
    FILE = 6
    UPLOAD = 7
    DRIVE = 8
    ACTION = 9


HEADERS = {
    Column.PREVIEW: "Preview", Column.ROOM: "Room", Column.CAMERA: "Camera", Column.STATE: "State",
    Column.STREAM: "Stream", Column.NODE: "Node", Column.FILE: "Current file", Column.UPLOAD: "Latest upload",
    Column.DRIVE: "Drive", Column.ACTION: "",
}


_COLUMNS = len(Column)


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
    CameraState.OFFLINE: "#c62828",
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
    CameraState.OFFLINE: "mdi6.lan-disconnect",
    None: "mdi6.help-circle-outline",
}
DOWN_COLOR = "#c62828"  # a camera that should record and does not: its State cell, and a tint over its row
DOWN_TINT = (198, 40, 40, 48)  # RGBA: light enough to read any text over, in light and dark themes
DOWN_ICON = "mdi6.alert-circle"


def down_text(st: CameraStatus, at: float) -> str:
    """A down camera's words: for how long, and why ("down 2m31s: connection refused")."""
    return f"down {compact_duration(at - (st.down_since or st.since))}: {st.reason}"


def state_text(st: CameraStatus | None, at: float) -> str:
    """What the State cell says: the state, and the one detail the operator needs next."""
    if st is None:
        return "waiting for engine"
    if st.is_down:
        return down_text(st, at)
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
    node: str = ""  # who records it: a node's name, "offline node X", or "" (a single machine, or nobody)
    thumbnail: QImage | None = None
    # Caches, kept by the model: display texts per column (None: to be made), sort key for the sort column.
    texts: list[str | None] | None = field(default=None, repr=False, compare=False)
    key: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    @property
    def filter_text(self) -> str:
        """What the filter box matches: room and camera name, case-folded."""
        return f"{self.room} {self.camera}".casefold()


def sort_key(r: CameraRow, column: int) -> tuple[Any, ...]:
    """The row's place when sorted by `column`: that column's natural value (numbers, not display text),
    then room, camera and id, so equal values keep a stable, readable order."""
    st = r.status
    primary: Any
    if column == Column.STATE:
        primary = st.state.value if st else ""
    elif column == Column.FILE:
        primary = st.file_size if st else 0
    elif column == Column.UPLOAD:
        primary = r.upload.recording_id if r.upload else 0
    elif column == Column.ROOM:
        primary = r.room.casefold()
    elif column == Column.CAMERA:
        primary = r.camera.casefold()
    elif column == Column.NODE:
        primary = r.node.casefold()
    elif column == Column.STREAM:
        primary = st.stream if st else ""
    elif column == Column.DRIVE:
        primary = link_text(r.folder_link)
    elif column == Column.ACTION:
        primary = "Stop" if st and st.state in ACTIVE_STATES else "Start"
    else:
        primary = 0
    return (primary, r.room.casefold(), r.camera.casefold(), r.camera_id)


# Roles as plain ints, compared first thing in data(): it is called for every role of every painted cell.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_OWN_ROLES = frozenset(int(r) for r in Role)
_TIMED_STATES = frozenset({CameraState.RECORDING, CameraState.RECONNECTING, CameraState.STALLED})


class CameraTableModel(QAbstractTableModel):
    """Rows of cameras keyed by id, in the sorted order when a sort column is set. UI thread."""

    names_changed = Signal()  # a camera's room or name changed: a filter on names must look again

    def __init__(self, parent: QObject | None = None, batch_interval_ms: int = BATCH_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._rows: list[CameraRow] = []
        self._row_of: dict[int, int] = {}  # camera id -> row
        self._dirty: set[int] = set()  # camera ids changed since the last flush
        self._names_changed = False
        self._nodes: dict[int, str] = {}  # camera id -> Node cell, as last given (rows added later take theirs)
        self._sort_column = -1  # -1: rows stay in the order they arrived
        self._descending = False
        self._icons: dict[CameraState | str | None, QIcon] = {}
        self._colors = {k: QColor(v) for k, v in STATE_COLORS.items()}
        self._down_color, self._down_tint = QColor(DOWN_COLOR), QColor(*DOWN_TINT)
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
        self._append([CameraRow(cid, room, name) for cid, room, name in new])

    def _append(self, rows: list[CameraRow]) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        for r in rows:
            r.node = self._nodes.get(r.camera_id, "")
            if self._sort_column >= 0:
                r.key = sort_key(r, self._sort_column)
            self._row_of[r.camera_id] = len(self._rows)
            self._rows.append(r)
        self.endInsertRows()
        self._resort()  # new rows go to their sorted place

    def apply_status(self, st: CameraStatus) -> None:
        """Slot for Engine.camera_status."""
        row = self._row_of.get(st.camera_id)
        if row is None:
            self._append([CameraRow(st.camera_id, st.room, st.camera, st)])
            return
        r = self._rows[row]
        if r.room != st.room or r.camera != st.camera:
            r.room, r.camera = st.room, st.camera
            self._names_changed = True
        r.status = st
        self._mark(r)

    def remove_camera(self, camera_id: int) -> None:
        """Slot for Engine.camera_removed."""
        row = self._row_of.get(camera_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self._row_of = {r.camera_id: i for i, r in enumerate(self._rows)}
        self._dirty.discard(camera_id)
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
                self._mark(r)
            return
        r.upload = up
        if up.folder_link:
            r.folder_link = up.folder_link
        self._mark(r)

    def apply_recording(self, ev: RecordingEvent) -> None:
        """Slot for Engine.recording_finished: the new file is queued for upload."""
        row = self._row_of.get(ev.camera_id) if ev.camera_id is not None else None
        if row is None:
            return
        r = self._rows[row]
        if r.upload is None or ev.recording_id > r.upload.recording_id:
            r.upload = UploadProgress(ev.recording_id, ev.camera_id, UploadState.QUEUED, 0, ev.size)
            self._mark(r)

    def apply_nodes(self, nodes: dict[int, str]) -> None:
        """Each camera's Node cell (camera id -> text; a camera left out shows nothing), from the fleet overview
        the Nodes view reads every few seconds. Only rows whose text changed are repainted."""
        self._nodes = dict(nodes)
        for r in self._rows:
            text = nodes.get(r.camera_id, "")
            if r.node != text:
                r.node = text
                self._mark(r)

    def set_thumbnail(self, camera_id: int, image: QImage) -> None:
        row = self._row_of.get(camera_id)
        if row is not None:
            r = self._rows[row]
            r.thumbnail = image
            self._mark(r)

    def tick(self) -> None:
        """Once a second: cells that show a running clock (elapsed, countdown, how long down) need repainting."""
        for r in self._rows:
            if r.status is not None and (r.status.state in _TIMED_STATES or r.status.is_down):
                self._dirty.add(r.camera_id)
        if self._dirty and not self._flush_timer.isActive():
            self._flush_timer.start()

    def _mark(self, r: CameraRow) -> None:
        r.texts = None
        self._dirty.add(r.camera_id)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> list[tuple[int, int]]:
        """Re-sort if a dirty row's sort key changed, then emit one dataChanged per run of consecutive dirty
        rows; returns the runs (for tests, bench)."""
        self._at = now()
        if not self._dirty:
            return []
        dirty = [self._rows[self._row_of[cid]] for cid in self._dirty if cid in self._row_of]
        self._dirty.clear()
        moved = False
        for r in dirty:
            r.texts = None  # made again at the new clock
            if self._sort_column >= 0:
                key = sort_key(r, self._sort_column)
                if key != r.key:
                    r.key, moved = key, True
        if moved:
            self._resort()
        if self._names_changed:
            self._names_changed = False
            self.names_changed.emit()
        rows = sorted(self._row_of[r.camera_id] for r in dirty)
        if not rows:
            return []
        runs: list[tuple[int, int]] = []
        start = prev = rows[0]
        for row in rows[1:]:
            if row != prev + 1:
                runs.append((start, prev))
                start = row
            prev = row
        runs.append((start, prev))
        last_col = len(Column) - 1
        for a, b in runs:
            self.dataChanged.emit(self.index(a, 0), self.index(b, last_col))
        return runs

    # --- sorting ---------------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Keep the rows sorted by `column` (-1: arrival order) from now on. UI thread."""
        self._sort_column = column if 0 <= column < len(Column) else -1
        self._descending = order == Qt.SortOrder.DescendingOrder
        for r in self._rows:
            r.key = sort_key(r, self._sort_column) if self._sort_column >= 0 else ()
        self._resort()

    @property
    def sort_column(self) -> int:
        return self._sort_column

    def _resort(self) -> bool:
        """Put the rows in key order; persistent indexes (selection, current row) follow their camera."""
        if self._sort_column < 0 or len(self._rows) < 2:
            return False
        order = sorted(self._rows, key=attrgetter("key"), reverse=self._descending)
        if all(a is b for a, b in zip(order, self._rows, strict=True)):
            return False
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        cameras = [self._rows[i.row()].camera_id for i in old]
        self._rows = order
        self._row_of = {r.camera_id: i for i, r in enumerate(order)}
        self.changePersistentIndexList(old, [self.index(self._row_of[cid], i.column())
                                             for cid, i in zip(cameras, old, strict=True)])
        self.layoutChanged.emit()
        return True

    # --- reading ---------------------------------------------------------------------------------

    def camera_ids(self) -> list[int]:
        return [r.camera_id for r in self._rows]

    def row_of(self, camera_id: int) -> int | None:
        return self._row_of.get(camera_id)

    def camera_row(self, camera_id: int) -> CameraRow | None:
        row = self._row_of.get(camera_id)
        return None if row is None else replace(self._rows[row])

    def names(self, camera_id: int) -> tuple[str, str] | None:
        """(room, camera) of a row, or None."""
        row = self._row_of.get(camera_id)
        return None if row is None else (self._rows[row].room, self._rows[row].camera)

    def filter_text(self, row: int) -> str:
        """Room and camera name of a row, case-folded (what ui.camera_table_filter matches)."""
        return self._rows[row].filter_text

    def states(self) -> list[CameraState | None]:
        return [r.status.state if r.status else None for r in self._rows]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else _COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[Column(section)]
        return None

    def state_icon(self, state: CameraState | str | None) -> QIcon:
        """The state's icon ("down": a camera down) as pixmaps: qtawesome paints its glyphs in Python on every paint
        (about 0.1 ms a cell), a pixmap icon is drawn by Qt alone."""
        icon = self._icons.get(state)
        if icon is None:
            import qtawesome  # needs a QGuiApplication; imported late so model tests stay light

            if state is None or isinstance(state, CameraState):
                name, color = STATE_ICONS[state], STATE_COLORS[state]
            else:
                name, color = DOWN_ICON, DOWN_COLOR
            glyph = qtawesome.icon(name, color=color)
            icon = QIcon()
            for side in ICON_SIDES:
                icon.addPixmap(glyph.pixmap(QSize(side, side)))
            self._icons[state] = icon
        return icon

    def _texts(self, r: CameraRow) -> list[str | None]:
        st, at = r.status, self._at
        action = "Stop" if st is not None and st.state in ACTIVE_STATES else "Start"
        return [None, r.room, r.camera, state_text(st, at), st.stream if st else "", r.node, file_text(st, at),
                upload_text(r.upload),
                link_text(r.folder_link), action]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if row < 0:
            return None
        r = self._rows[row]
        col = index.column()
        if role == _DISPLAY:
            texts = r.texts
            if texts is None:
                texts = r.texts = self._texts(r)
            return texts[col]
        st = r.status
        down = st is not None and st.is_down
        if role == _DECORATION:
            if col == Column.STATE:
                return self.state_icon("down" if down else st.state if st else None)
            return r.thumbnail if col == Column.PREVIEW else None
        if role == _FOREGROUND:
            if col != Column.STATE:
                return None
            return self._down_color if down else self._colors[st.state if st else None]
        if role == _BACKGROUND:
            return self._down_tint if down else None
        if role == _TOOLTIP:
            return self._tooltip(r, col)
        if role in _OWN_ROLES:
            return self._own_role(r, col, role)
        return None

    def _own_role(self, r: CameraRow, col: int, role: int) -> Any:
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
        if role == Role.SORT:
            return sort_key(r, col)[0]
        return None

    @staticmethod
    def _tooltip(r: CameraRow, col: int) -> str | None:
        st = r.status
        if col == Column.STATE and st and st.last_error:
            retry = (f"\nnext attempt in {max(0, round(st.next_retry_in - (now() - st.since)))} s"
                     if st.state is CameraState.RECONNECTING else "")
            return st.last_error + retry
        if col == Column.FILE and st and st.current_file:
            return st.current_file
        if col == Column.DRIVE and r.folder_link:
            return link_tip(r.folder_link)
        if col == Column.NODE and r.node.startswith("offline node "):
            return ("its node stopped reporting: another node takes the camera once its lease runs out; the files "
                    "it recorded stay on its disk until it returns")
        if col == Column.UPLOAD and r.upload and r.upload.error:
            return r.upload.error
        return None
