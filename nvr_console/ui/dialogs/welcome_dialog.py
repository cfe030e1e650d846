"""First run with an empty database: add a camera, or start demo cameras that need no hardware. UI thread."""

from __future__ import annotations

import enum

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomeChoice(enum.Enum):
    NOTHING = 0
    ADD_CAMERA = 1
    DEMO = 2


class WelcomeDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = WelcomeChoice.NOTHING
        self.setWindowTitle("Welcome to nvr-console")
        text = QLabel(
            "<h3>No cameras yet</h3>"
            "<p>nvr-console records each camera into files cut on the clock (:00 and :30 by default) and "
            "uploads every finished file to Google Drive or a local archive.</p>"
            "<p>Add your first camera with its RTSP address, or start two demo cameras (FFmpeg test "
            "pictures, no hardware needed) to see the console at work.</p>"
        )
        text.setWordWrap(True)
        self.add_button = QPushButton("&Add a camera…")
        self.demo_button = QPushButton("Start &demo cameras")
        self.later_button = QPushButton("&Later")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(lambda: self._choose(WelcomeChoice.ADD_CAMERA))
        self.demo_button.clicked.connect(lambda: self._choose(WelcomeChoice.DEMO))
        self.later_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.later_button)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(buttons)
        self.resize(520, 220)

    def _choose(self, choice: WelcomeChoice) -> None:
        self.choice = choice
        self.accept()
