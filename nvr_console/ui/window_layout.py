"""What the console remembers of its window between runs (QSettings): geometry, toolbars, the camera table's
columns and the splitter. UI thread."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QMainWindow, QSplitter, QTableView

from nvr_console.ui.models.camera_table_model import Column

HEADER_KEY = "main/cameraHeader2"  # the camera table's columns; "2" since the Node column (old layouts do not fit)
FIRST_SIZE = 0.85  # of the screen's available area, for a first start (no saved geometry)


def restore_layout(window: QMainWindow, table: QTableView, splitter: QSplitter) -> None:
    s = QSettings()
    if geometry := s.value("main/geometry"):
        window.restoreGeometry(geometry)
    else:
        first_size(window)
    if state := s.value("main/state"):
        window.restoreState(state)
    if header := s.value(HEADER_KEY):
        table.horizontalHeader().restoreState(header)
    table.setColumnHidden(Column.NODE, True)  # until the first overview says several machines share it
    if sizes := s.value("main/splitter"):
        splitter.restoreState(sizes)


def first_size(window: QMainWindow) -> None:
    """A first start: most of the screen the window opens on (a fixed 1180x720 left most of a large screen's
    table empty), centred."""
    screen: QScreen | None = window.screen()
    if screen is None:
        screen = QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(1180, 720)
        return
    area = screen.availableGeometry()
    window.resize(round(area.width() * FIRST_SIZE), round(area.height() * FIRST_SIZE))
    frame = window.frameGeometry()
    frame.moveCenter(area.center())
    window.move(frame.topLeft())


def save_layout(window: QMainWindow, table: QTableView, splitter: QSplitter) -> None:
    s = QSettings()
    s.setValue("main/geometry", window.saveGeometry())
    s.setValue("main/state", window.saveState())
    s.setValue(HEADER_KEY, table.horizontalHeader().saveState())
    s.setValue("main/splitter", splitter.saveState())
    s.sync()
