"""The engine's log lines with a per-camera filter. Bounded: the oldest lines go first. UI thread."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.status import LogLine
from nvr_console.ui.models.list_table_model import ListTableModel

MAX_LINES = 5000
_LEVEL_COLORS = {"error": QColor("#c62828"), "warning": QColor("#c46a00")}
CAMERA_ID_ROLE = Qt.ItemDataRole.UserRole + 1
ALL_CAMERAS = -1


class LogModel(ListTableModel[LogLine]):
    HEADERS = ("Time", "Level", "Camera", "Message")

    def __init__(self, parent: QObject | None = None, max_lines: int = MAX_LINES) -> None:
        super().__init__(parent)
        self._max = max_lines
        self._names: dict[int, str] = {}

    def set_camera_name(self, camera_id: int, name: str) -> None:
        self._names[camera_id] = name

    def append(self, line: LogLine) -> None:
        """Slot for Engine.log_line."""
        if len(self._rows) >= self._max:
            drop = max(1, self._max // 10)  # drop in chunks: one model reset-free removal per 10%
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self._rows[:drop]
            self.endRemoveRows()
        n = len(self._rows)
        self.beginInsertRows(QModelIndex(), n, n)
        self._rows.append(line)
        self.endInsertRows()

    def last_error(self, camera_id: int) -> LogLine | None:
        return next((ln for ln in reversed(self._rows) if ln.camera_id == camera_id and ln.level == "error"), None)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        ln = self._rows[index.row()]
        if role == CAMERA_ID_ROLE:
            return ln.camera_id if ln.camera_id is not None else ALL_CAMERAS
        if role == Qt.ItemDataRole.DisplayRole:
            col = index.column()
            if col == 0:
                return datetime.fromtimestamp(ln.time).strftime("%H:%M:%S")
            if col == 1:
                return ln.level
            if col == 2:
                return self._names.get(ln.camera_id, f"#{ln.camera_id}") if ln.camera_id is not None else ""
            return ln.text
        if role == Qt.ItemDataRole.ForegroundRole:
            return _LEVEL_COLORS.get(ln.level)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 3:
            return ln.text
        return None


class CameraLogFilter(QSortFilterProxyModel):
    """Lines of one camera (and engine-wide lines with no camera), or everything."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.camera_id = ALL_CAMERAS
        self.errors_only = False

    def set_camera(self, camera_id: int) -> None:
        self.beginFilterChange()  # Qt 6.10+: replaces the deprecated invalidateFilter()
        self.camera_id = camera_id
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        idx = model.index(source_row, 0, source_parent)
        if self.errors_only and model.index(source_row, 1, source_parent).data() != "error":
            return False
        if self.camera_id == ALL_CAMERAS:
            return True
        return idx.data(CAMERA_ID_ROLE) in (self.camera_id, ALL_CAMERAS)


class LogView(QWidget):
    """A filter bar over the log table; `show_camera(id)` jumps to one camera's lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(self)
        self.proxy = CameraLogFilter(self)
        self.proxy.setSourceModel(self.model)
        self.camera_box = QComboBox()
        self.camera_box.setAccessibleName("Log camera filter")
        self.camera_box.addItem("All cameras", ALL_CAMERAS)
        self.camera_box.currentIndexChanged.connect(self._camera_chosen)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)
        self._follow = True
        self.model.rowsInserted.connect(self._scroll)
        bar = QHBoxLayout()
        label = QLabel("&Camera:")
        label.setBuddy(self.camera_box)
        bar.addWidget(label)
        bar.addWidget(self.camera_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)

    def _camera_chosen(self, _i: int) -> None:
        self.proxy.set_camera(int(self.camera_box.currentData()))

    def add_camera(self, camera_id: int, label: str) -> None:
        self.model.set_camera_name(camera_id, label)
        if self.camera_box.findData(camera_id) < 0:
            self.camera_box.addItem(label, camera_id)

    def show_camera(self, camera_id: int) -> None:
        i = self.camera_box.findData(camera_id)
        if i >= 0:
            self.camera_box.setCurrentIndex(i)

    def _scroll(self) -> None:
        sb = self.table.verticalScrollBar()
        if sb.value() >= sb.maximum() - 2:  # follow the tail only when the operator is at the bottom
            self.table.scrollToBottom()
