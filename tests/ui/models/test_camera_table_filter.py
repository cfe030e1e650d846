"""The camera table's filter proxy over the real model and a real view: literal, case-insensitive matching on room
and camera, a new look only when a name changes, and sorting handed to the model."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QTableView

from nvr_console.core.status import CameraState, CameraStatus
from nvr_console.ui.models.camera_table_filter import CameraFilter
from nvr_console.ui.models.camera_table_model import CameraTableModel, Column


class CountingFilter(CameraFilter):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        self.asked += 1
        return super().filterAcceptsRow(source_row, source_parent)


def shown(proxy: CameraFilter) -> list[str]:
    return [f"{proxy.index(r, Column.ROOM).data()} {proxy.index(r, Column.CAMERA).data()}"
            for r in range(proxy.rowCount())]


def build() -> tuple[CameraTableModel, CountingFilter]:
    model = CameraTableModel(batch_interval_ms=10_000)
    model.seed([(1, "A-101", "Front"), (2, "A-101", "back"), (3, "B-202", "front"), (4, "A-1010", "door")])
    proxy = CountingFilter()
    proxy.setSourceModel(model)
    return model, proxy


def test_filter_text_is_taken_literally_and_case_insensitively(qtbot) -> None:
    _model, proxy = build()
    proxy.set_text("a-101 ")  # a '-' is no pattern syntax; surrounding spaces do not count
    assert shown(proxy) == ["A-101 Front", "A-101 back", "A-1010 door"]
    proxy.set_text("FRONT")
    assert shown(proxy) == ["A-101 Front", "B-202 front"]
    proxy.set_text("101 back")  # room and camera read as one text
    assert shown(proxy) == ["A-101 back"]
    proxy.set_text("")
    assert proxy.rowCount() == 4


def test_status_changes_do_not_refilter_but_a_renamed_camera_does(qtbot) -> None:
    model, proxy = build()
    proxy.set_text("front")
    proxy.asked = 0
    for cid, (room, name) in {1: ("A-101", "Front"), 2: ("A-101", "back"), 3: ("B-202", "front")}.items():
        model.apply_status(CameraStatus(cid, room, name, CameraState.RECORDING, since=time.time()))
    model.flush()
    assert proxy.asked == 0 and shown(proxy) == ["A-101 Front", "B-202 front"]
    model.apply_status(CameraStatus(2, "A-101", "front-left", CameraState.RECORDING, since=time.time()))
    assert shown(proxy) == ["A-101 Front", "B-202 front"]  # names apply with the batch
    model.flush()
    assert shown(proxy) == ["A-101 Front", "A-101 front-left", "B-202 front"]


def test_the_view_sorts_through_the_model(qtbot) -> None:
    model, proxy = build()
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(Column.CAMERA, Qt.SortOrder.DescendingOrder)
    assert model.sort_column == Column.CAMERA and proxy.sortColumn() == -1  # the proxy keeps the model's order
    assert shown(proxy) == ["B-202 front", "A-101 Front", "A-1010 door", "A-101 back"]
    view.horizontalHeader().setSortIndicator(Column.ROOM, Qt.SortOrder.AscendingOrder)  # what a header click does
    assert model.sort_column == Column.ROOM
    assert shown(proxy) == ["A-101 back", "A-101 Front", "A-1010 door", "B-202 front"]
    proxy.set_text("a-101")
    assert shown(proxy) == ["A-101 back", "A-101 Front", "A-1010 door"]
