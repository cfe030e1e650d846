"""What closing the window or quitting asks while cameras record (the main window's questions). UI thread."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_close(parent: QWidget, active: int, tray: bool) -> str:
    """Closing while `active` cameras record: 'keep' (recording on in the tray, when there is one), 'stop' or
    'cancel'."""
    box = QMessageBox(parent)
    box.setWindowTitle("Close nvr-console")
    box.setText(f"{active} camera(s) are recording.")
    keep = box.addButton("Keep recording in the tray", QMessageBox.ButtonRole.AcceptRole) if tray else None
    stop = box.addButton("Stop recording and quit", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    if keep is not None and box.clickedButton() is keep:
        return "keep"
    return "stop" if box.clickedButton() is stop else "cancel"


def ask_quit(parent: QWidget, active: int) -> bool:
    """Quitting (Ctrl+Q, the tray's Quit) while `active` cameras record: whether to stop them and quit."""
    box = QMessageBox(parent)
    box.setWindowTitle("Quit nvr-console")
    box.setText(f"{active} camera(s) are recording. Quitting stops them; their current files are finished "
                "and uploaded later.")
    stop = box.addButton("Stop recording and quit", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is stop
