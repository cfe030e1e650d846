"""A table model over a Python list with fixed column headers, and the read-only table that shows one: the parts
every list-backed view (lectures, nodes, alerts, uploads) shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

RowT = TypeVar("RowT")


class ListTableModel(QAbstractTableModel, Generic[RowT]):
    """Subclasses set HEADERS and implement `data()`; the rows are replaced whole (`replace_rows`) or edited
    in place by the subclass between the model's own signals. UI thread."""

    HEADERS: ClassVar[Sequence[str]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RowT] = []

    def rows(self) -> Sequence[RowT]:
        return self._rows

    def row(self, i: int) -> RowT:
        return self._rows[i]

    def row_or_none(self, i: int) -> RowT | None:
        """The row at `i`, or None when a selection outlived a refresh that shortened the list."""
        return self._rows[i] if 0 <= i < len(self._rows) else None

    def replace_rows(self, rows: Iterable[RowT]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None
