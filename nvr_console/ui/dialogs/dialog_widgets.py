"""Widgets and helpers the dialogs share: inline message labels and the stream Test button. UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet.overview import recorder_names
from nvr_console.core.snapshot import StreamCheck, check_stream
from nvr_console.core.stream_url import InvalidInput, validate_stream_url
from nvr_console.core.text.masking import mask_url
from nvr_console.ui.background import database_pool, run_in_background

ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #1b8a3a;"
WARN_STYLE = "color: #c46a00;"


class WrappingLabel(QLabel):
    """A word-wrapped label as tall as its text needs at its width. A layout in a top-level window gives a
    wrapping label the height of its size hint (one line at a wider width: QLabel's height-for-width is not
    asked), so a long message was cut off; this one asks for its height and grows its window to fit."""

    def __init__(self, text: str = "") -> None:
        super().__init__(text)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = self.width() if self.width() > 1 else self.sizeHint().width()
        need = self.heightForWidth(width) if self.text() else 0
        if need == self.minimumHeight():
            return
        self.setMinimumHeight(max(0, need))
        top = self.window()
        if top is not self and top.isVisible():
            layout = top.layout()
            if layout is not None:
                layout.activate()
            if top.height() < top.minimumSizeHint().height():
                top.resize(top.width(), top.minimumSizeHint().height())


def error_label() -> QLabel:
    """A hidden, selectable, word-wrapped label for one inline message, shown whole."""
    label = WrappingLabel()
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def text_field(placeholder: str = "", secret: bool = False) -> QLineEdit:
    """A line edit showing `placeholder` while empty; `secret`: typed characters shown as dots (a password)."""
    field = QLineEdit()
    field.setPlaceholderText(placeholder)
    if secret:
        field.setEchoMode(QLineEdit.EchoMode.Password)
    return field


def form(rows: list[tuple[str, QWidget]]) -> QFormLayout:
    """A form of (label, field) rows; an empty label puts the widget (an error line, a Test button) under the
    field above it."""
    layout = QFormLayout()
    for label, widget in rows:
        layout.addRow(label, widget)
    return layout


def show_message(label: QLabel, text: str, ok: bool = False) -> None:
    """Show `text` as an error (or, `ok`, a success); an empty text hides the label."""
    label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


class NodeChoice(QComboBox):
    """"Record on node" of the camera and room editors: any node, or one named (a pin, as `--node NAME`).

    Offers the recorder nodes listed on the database pool; a name may also be typed (a node that has not
    started yet). `value()` is the name, or "" for any node."""

    ANY = "Any node"

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.addItem(self.ANY)
        self.setToolTip("The node that records this while it is alive, records and has room; otherwise any node "
                        "does (placement)")
        self.loaded = False
        run_in_background(lambda: recorder_names(db), self._listed, lambda _msg: None, pool=database_pool(),
                          expected=(DatabaseUnavailable,), context=self)

    def _listed(self, names: list[str]) -> None:
        typed = self.currentText()
        self.addItems([n for n in names if self.findText(n) < 0])
        self.setCurrentText(typed)  # what was set or typed meanwhile stays
        self.loaded = True

    def set_value(self, node: str | None) -> None:
        if node and self.findText(node) < 0:
            self.addItem(node)
        self.setCurrentText(node or self.ANY)

    def value(self) -> str:
        text = self.currentText().strip()
        return "" if text in ("", self.ANY) else text


DESCRIBE_S = 5.0  # seconds of stream the camera Test reads to describe it (keyframe intervals up to ~4 s)


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
        self.result = WrappingLabel()
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
        # A camera is also described (a few seconds of ffprobe): B-frames, keyframe interval, recordable or not.
        describe = 0.0 if self.audio_only else DESCRIBE_S
        run_in_background(lambda: check_stream(self.ffmpeg, url, transport, audio_only=self.audio_only,
                                               describe_s=describe),
                          self._done, self._failed, context=self)

    def _done(self, check: StreamCheck) -> None:
        self.button.setEnabled(True)
        self.last = check
        if check.recordable:
            show_message(self.result, f"OK: {check.summary()}", ok=True)
        else:
            show_message(self.result, f"Cannot be recorded as it is: {check.summary()}")
        pix = QPixmap()
        if pix.loadFromData(check.png, "PNG"):
            smooth = Qt.TransformationMode.SmoothTransformation
            self.snapshot.setPixmap(pix.scaledToWidth(min(360, pix.width()), smooth))
            self.snapshot.show()

    def _failed(self, message: str) -> None:
        self.button.setEnabled(True)
        self.last = None
        show_message(self.result, message)
