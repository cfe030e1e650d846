"""What the main window asks before it stops recordings (closing, quitting, stop all, remove a camera), and the
progress it shows while they stop. UI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget


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


def ask_stop_all(parent: QWidget) -> bool:
    """Whether to stop recording on every camera."""
    answer = QMessageBox.question(parent, "Stop all cameras",
                                  "Stop recording on every camera? Current files are finished and uploaded.")
    return answer == QMessageBox.StandardButton.Yes


def ask_remove(parent: QWidget, room: str, camera: str) -> bool:
    """Whether to remove a camera (its recordings and uploads stay)."""
    answer = QMessageBox.question(parent, "Remove camera",
                                  f"Remove camera {room} / {camera}? Its recordings and uploads stay.")
    return answer == QMessageBox.StandardButton.Yes


def stopping_progress(parent: QWidget) -> QProgressDialog:
    """Shown while the recorders stop and finish their files; it cannot be cancelled (never kill recorders
    mid-file from here)."""
    progress = QProgressDialog("Stopping recorders and finishing the current files…", "", 0, 0, parent)
    progress.setWindowTitle("Quitting nvr-console")
    progress.setCancelButton(None)
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(0)
    progress.show()
    return progress
