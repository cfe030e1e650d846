"""In-cell painting and clicks of the camera table, on a real QTableView over the real model: the Start/Stop
button, the folder link, the upload progress bar, the thumbnail and the bold state."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QStyleOptionViewItem, QTableView

from nvr_console.core.status import CameraState, CameraStatus, UploadProgress, UploadState
from nvr_console.ui.models import camera_table_delegates
from nvr_console.ui.models.camera_table_delegates import ActionButtonDelegate, LinkDelegate, StateDelegate
from nvr_console.ui.models.camera_table_model import CameraTableModel, Column
from tests.support.url_catcher import catch_urls

FOLDER = "https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp"


class Table:
    def __init__(self, qtbot) -> None:  # type: ignore[no-untyped-def]
        self.model = CameraTableModel(batch_interval_ms=10)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.verticalHeader().setDefaultSectionSize(40)
        for col, width in ((Column.PREVIEW, 76), (Column.UPLOAD, 190), (Column.DRIVE, 90), (Column.ACTION, 80)):
            self.view.horizontalHeader().resizeSection(col, width)
        self.button, self.link = camera_table_delegates.install(self.view)
        qtbot.addWidget(self.view)
        self.view.resize(1100, 300)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.model.seed([(1, "A-101", "front"), (2, "A-101", "back")])
        self.model.apply_status(CameraStatus(1, "A-101", "front", CameraState.RECORDING, since=time.time()))
        self.model.flush()

    def rect(self, row: int, column: Column) -> QRect:
        return self.view.visualRect(self.model.index(row, column))

    def cell_image(self, row: int, column: Column) -> QImage:
        self.model.flush()
        self.view.viewport().repaint()
        return self.view.viewport().grab(self.rect(row, column)).toImage()


@pytest.fixture
def table(qtbot) -> Table:  # type: ignore[no-untyped-def]
    return Table(qtbot)


def test_button_click_emits_the_rows_camera_and_action(qtbot, table: Table) -> None:
    actions = [table.model.index(row, Column.ACTION).data() for row in (0, 1)]
    assert actions == ["Stop", "Start"]
    vp = table.view.viewport()
    with qtbot.waitSignal(table.button.clicked) as sig:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=table.rect(0, Column.ACTION).center())
    assert sig.args == [1, "stop"]
    with qtbot.waitSignal(table.button.clicked) as sig:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=table.rect(1, Column.ACTION).center())
    assert sig.args == [2, "start"]


def test_button_needs_press_and_release_on_itself(qtbot, table: Table) -> None:
    vp = table.view.viewport()
    clicks: list[tuple[int, str]] = []
    table.button.clicked.connect(lambda cid, action: clicks.append((cid, action)))
    cell = table.rect(0, Column.ACTION)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=cell.center())
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=table.rect(1, Column.ACTION).center())  # dragged off
    edge = ActionButtonDelegate.button_rect(cell)
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(cell.left() + 1, cell.center().y()))  # the margin
    assert not edge.contains(QPoint(cell.left() + 1, cell.center().y()))
    assert clicks == []
    table.view.setCurrentIndex(table.model.index(0, Column.ACTION))
    table.view.setFocus()
    with qtbot.waitSignal(table.button.clicked) as sig:  # the keyboard presses it too
        qtbot.keyClick(vp, Qt.Key.Key_Space)
    assert sig.args == [1, "stop"]


def test_link_is_underlined_and_opens_its_url_on_click(qtbot, table: Table) -> None:
    table.model.apply_upload(UploadProgress(7, 1, UploadState.UPLOADED, 10, 10, folder_link=FOLDER))
    table.model.flush()
    linked, bare = table.model.index(0, Column.DRIVE), table.model.index(1, Column.DRIVE)
    for index, underlined in ((linked, True), (bare, False)):
        option = QStyleOptionViewItem()
        table.link.initStyleOption(option, index)
        assert option.font.underline() is underlined  # type: ignore[attr-defined]
    with catch_urls("https") as urls:
        with qtbot.waitSignal(table.link.opened) as sig:
            qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=table.rect(0, Column.DRIVE).center())
        qtbot.mouseClick(table.view.viewport(), Qt.MouseButton.LeftButton, pos=table.rect(1, Column.DRIVE).center())
        qtbot.waitUntil(lambda: bool(urls), timeout=3000)
    assert sig.args[0].toString() == FOLDER and [u.toString() for u in urls] == [FOLDER]
    assert LinkDelegate().open(bare) is False  # no link, nothing opened


def _share(image: QImage, color: QColor) -> float:
    """Share of the image's pixels within a small distance of `color`."""
    hits = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            hits += abs(c.red() - color.red()) + abs(c.green() - color.green()) + abs(c.blue() - color.blue()) < 60
    return hits / (image.width() * image.height())


def test_upload_cell_paints_a_bar_that_grows_and_text_otherwise(qtbot, table: Table) -> None:
    highlight = table.view.palette().color(table.view.palette().ColorRole.Highlight)
    shares = []
    for sent in (100, 900):
        table.model.apply_upload(UploadProgress(7, 1, UploadState.UPLOADING, sent, 1000, rate_bps=1e6))
        shares.append(_share(table.cell_image(0, Column.UPLOAD), highlight))
    table.model.apply_upload(UploadProgress(7, 1, UploadState.UPLOADED, 1000, 1000))
    done = _share(table.cell_image(0, Column.UPLOAD), highlight)
    assert shares[1] > shares[0] + 0.3  # the bar's filled part follows the bytes sent
    assert done < 0.05 and table.model.index(0, Column.UPLOAD).data() == "verified"  # text, no bar


def test_thumbnail_is_scaled_into_the_cell_with_its_aspect_ratio(qtbot, table: Table) -> None:
    red = QColor("#ff0000")
    image = QImage(160, 90, QImage.Format.Format_RGB32)
    image.fill(red)
    table.model.set_thumbnail(1, image)
    cell = table.cell_image(0, Column.PREVIEW)
    assert cell.pixelColor(cell.width() // 2, cell.height() // 2) == red
    # 16:9 into the cell less a 2 px margin: as high as that, narrower, centred, so the sides stay clear
    inner_w, inner_h = cell.width() - 4, cell.height() - 4
    scaled_w = inner_h * 16 / 9
    assert scaled_w < inner_w - 4
    middle = cell.height() // 2
    assert cell.pixelColor(4, middle) != red and cell.pixelColor(cell.width() - 5, middle) != red
    assert _share(cell, red) == pytest.approx(scaled_w * inner_h / (cell.width() * cell.height()), abs=0.02)
    assert _share(table.cell_image(1, Column.PREVIEW), red) == 0  # no thumbnail yet: nothing painted


def test_state_text_is_bold(table: Table) -> None:
    option = QStyleOptionViewItem()
    StateDelegate().initStyleOption(option, table.model.index(0, Column.STATE))
    assert option.font.bold() and option.text == "recording"  # type: ignore[attr-defined]
