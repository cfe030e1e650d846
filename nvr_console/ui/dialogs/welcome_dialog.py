"""First run with an empty database: add a camera, or start demo cameras that need no hardware. UI thread."""

from __future__ import annotations

import enum

from PySide6.QtWidgets import QWidget

from nvr_console.ui.dialogs.choice_dialog import ChoiceDialog


class WelcomeChoice(enum.Enum):
    NOTHING = 0
    ADD_CAMERA = 1
    DEMO = 2


class WelcomeDialog(ChoiceDialog[WelcomeChoice]):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "Welcome to nvr-console",
            "<h3>No cameras yet</h3>"
            "<p>nvr-console records each camera into files cut on the clock (:00 and :30 by default) and "
            "uploads every finished file to Google Drive or a local archive.</p>"
            "<p>Add your first camera with its RTSP address, or start two demo cameras (FFmpeg test "
            "pictures, no hardware needed) to see the console at work.</p>",
            [("&Add a camera…", WelcomeChoice.ADD_CAMERA), ("Start &demo cameras", WelcomeChoice.DEMO),
             ("&Later", None)],
            WelcomeChoice.NOTHING, right=1, size=(520, 220), parent=parent)
        self.add_button, self.demo_button, self.later_button = self.buttons
        self.add_button.setDefault(True)
