"""The camera table's proxy: filters rows on room and camera name; sorting is the camera model's own.

A status change never makes this proxy look again (`dynamicSortFilter` is off): only names are filtered,
and the model says when a name changes. Sorting requests from the view (a header click,
`sortByColumn`) go to the model, which sorts its rows in Python far more cheaply than this proxy could
(see ui.camera_table_model); the proxy keeps the model's order. All methods: UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt

from nvr_console.ui.models.camera_table_model import CameraTableModel


class CameraFilter(QSortFilterProxyModel):
    """Shows the rows whose "room camera" contains the filter text (case-insensitive, taken literally)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setDynamicSortFilter(False)
        self._text = ""
        self._cameras: CameraTableModel | None = None

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        if not isinstance(model, CameraTableModel):
            raise TypeError("CameraFilter filters a CameraTableModel")
        if self._cameras is not None:
            self._cameras.names_changed.disconnect(self._refilter)
        super().setSourceModel(model)
        self._cameras = model
        model.names_changed.connect(self._refilter)

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        """Filter on `text` ('' shows every camera)."""
        text = text.strip().casefold()
        if text != self._text:
            self.beginFilterChange()
            self._text = text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _refilter(self) -> None:
        if self._text:
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        return not self._text or self._cameras is None or self._text in self._cameras.filter_text(source_row)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """The view asks for a sort: the model sorts its own rows; this proxy stays in the model's order."""
        if self._cameras is not None:
            self._cameras.sort(column, order)
