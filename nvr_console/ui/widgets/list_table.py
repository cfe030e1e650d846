"""The read-only table every list view shows: whole rows selected one at a time, no editing, no row numbers."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def list_table(model: QAbstractItemModel, name: str = "", stretch: int | None = None) -> QTableView:
    """A table over `model`, named `name` (tests and style sheets find it by that), column `stretch` taking the
    room that is left. UI thread."""
    table = QTableView()
    if name:
        table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    if stretch is not None:
        table.horizontalHeader().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def selected_row(table: QTableView) -> int | None:
    """The selected row's number in the table's own model, or None. UI thread."""
    rows = table.selectionModel().selectedRows()
    return rows[0].row() if rows else None
