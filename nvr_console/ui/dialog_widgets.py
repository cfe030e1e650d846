"""Widgets and helpers the dialogs share: inline message labels and the stream Test button. UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from nvr_console.core.masking import mask_url
from nvr_console.core.snapshot import StreamCheck, check_stream
from nvr_console.core.stream_url import InvalidInput, validate_stream_url
from nvr_console.ui.background import run_in_background

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #1b8a3a;"
WARN_STYLE = "color: #c46a00;"


def error_label() -> QLabel:
    """A hidden, selectable, word-wrapped label for one inline message."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_message(label: QLabel, text: str, ok: bool = False) -> None:
    """Show `text` as an error (or, `ok`, a success); an empty text hides the label."""
    label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


class StreamTester(QWidget):
    """A Test button, a result line and a snapshot; `url_source()` supplies what to probe. The camera dialog
    tests cameras, the rooms dialog sound sources (`audio_only`: a second of audio is read, no snapshot)."""

    def __init__(self, ffmpeg: str, url_source: Callable[[], str],
                 transport_source: Callable[[], str] | None = None, parent: QWidget | None = None,
                 audio_only: bool = False) -> None:
        super().__init__(parent)
        self.ffmpeg, self._url, self._transport = ffmpeg, url_source, transport_source
        self.audio_only = audio_only
        self.button = QPushButton("&Test")
        self.button.setToolTip("Connect to the stream and read a second of its audio (runs in the background)"
                               if audio_only else "Connect to the stream and grab one frame (runs in the background)")
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.snapshot = QLabel()
        self.snapshot.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.snapshot.hide()
        self.button.clicked.connect(self.run)
        self.last: StreamCheck | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addWidget(self.result, 1)
        layout.addLayout(row)
        layout.addWidget(self.snapshot)

    def run(self) -> None:
        """Probe the stream on a pool thread; the answer arrives in `_done` / `_failed`."""
        try:
            url = validate_stream_url(self._url(), "URL")
        except InvalidInput as exc:
            show_message(self.result, str(exc))
            return
        transport = self._transport() if self._transport else "tcp"
        self.button.setEnabled(False)
        self.result.setStyleSheet("")
        self.result.setText(f"Testing {mask_url(url)} …")
        self.snapshot.hide()
        run_in_background(lambda: check_stream(self.ffmpeg, url, transport, audio_only=self.audio_only),
                          self._done, self._failed, context=self)

    def _done(self, check: StreamCheck) -> None:
        self.button.setEnabled(True)
        self.last = check
        show_message(self.result, f"OK: {check.summary()}", ok=True)
        pix = QPixmap()
        if pix.loadFromData(check.png, "PNG"):
            smooth = Qt.TransformationMode.SmoothTransformation
            self.snapshot.setPixmap(pix.scaledToWidth(min(360, pix.width()), smooth))
            self.snapshot.show()

    def _failed(self, message: str) -> None:
        self.button.setEnabled(True)
        self.last = None
        show_message(self.result, message)
