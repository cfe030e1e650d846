"""The live camera table's view: one row per camera (sorted, filtered by CameraFilter), buttons and links in
cells (camera_table_delegates), the selected camera, and the rows on screen. UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from nvr_console.core.fleet.overview import FleetOverview
from nvr_console.core.status import CameraState
from nvr_console.ui.models import camera_table_delegates
from nvr_console.ui.models.camera_table_filter import CameraFilter
from nvr_console.ui.models.camera_table_model import CameraTableModel, Column, Role

WIDTHS = ((Column.PREVIEW, 76), (Column.ROOM, 110), (Column.CAMERA, 120), (Column.STREAM, 150), (Column.NODE, 110),
          (Column.FILE, 190), (Column.UPLOAD, 190), (Column.DRIVE, 90), (Column.ACTION, 80))


class CameraTableView(QTableView):
    def __init__(self, model: CameraTableModel, proxy: CameraFilter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera_model, self.proxy = model, proxy
        self.setObjectName("cameraTable")
        self.setModel(proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(Column.ROOM, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.setWordWrap(False)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(40)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(Column.STATE, QHeaderView.ResizeMode.Stretch)
        for col, width in WIDTHS:
            header.resizeSection(col, width)
        self.button_delegate, self.link_delegate = camera_table_delegates.install(self)

    def show_nodes(self, overview: FleetOverview) -> None:
        """Who records each camera (the Nodes view's read): the Node column, shown only when several machines
        share the database."""
        several = overview.several
        self.camera_model.apply_nodes({cid: h.text for cid, h in overview.cameras.items()} if several else {})
        self.setColumnHidden(Column.NODE, not several)

    def selected_camera(self) -> int | None:
        rows = self.selectionModel().selectedRows() or ([self.currentIndex()] if self.currentIndex().isValid() else [])
        return int(rows[0].data(Role.CAMERA_ID)) if rows else None

    def recording_on_screen(self) -> list[tuple[int, str]]:
        """(camera id, file being written) of the visible rows that record: a thumbnail nobody sees costs
        nothing."""
        out: list[tuple[int, str]] = []
        first = self.rowAt(0)
        last = self.rowAt(self.viewport().height() - 1)
        if first < 0:
            return out
        last = self.proxy.rowCount() - 1 if last < 0 else last
        for prow in range(first, last + 1):
            cid = int(self.proxy.index(prow, 0).data(Role.CAMERA_ID))
            row = self.camera_model.camera_row(cid)
            if row and row.status and row.status.state is CameraState.RECORDING and row.status.current_file:
                out.append((cid, row.status.current_file))
        return out
