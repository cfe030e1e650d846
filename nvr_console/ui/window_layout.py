"""What the console remembers of its window between runs (QSettings): geometry, toolbars, the camera table's
columns and the splitter. UI thread."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter, QTableView

from nvr_console.ui.camera_table_model import Column

HEADER_KEY = "main/cameraHeader2"  # the camera table's columns; "2" since the Node column (old layouts do not fit)


def restore_layout(window: QMainWindow, table: QTableView, splitter: QSplitter) -> None:
    s = QSettings()
    if geometry := s.value("main/geometry"):
        window.restoreGeometry(geometry)
    else:
        window.resize(1180, 720)
    if state := s.value("main/state"):
        window.restoreState(state)
    if header := s.value(HEADER_KEY):
        table.horizontalHeader().restoreState(header)
    table.setColumnHidden(Column.NODE, True)  # until the first overview says several machines share it
    if sizes := s.value("main/splitter"):
        splitter.restoreState(sizes)


def save_layout(window: QMainWindow, table: QTableView, splitter: QSplitter) -> None:
    s = QSettings()
    s.setValue("main/geometry", window.saveGeometry())
    s.setValue("main/state", window.saveState())
    s.setValue(HEADER_KEY, table.horizontalHeader().saveState())
    s.setValue("main/splitter", splitter.saveState())
    s.sync()
