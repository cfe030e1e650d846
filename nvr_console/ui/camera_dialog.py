"""Camera editor: room, name, URL with its password in a masked field, transport; inline validation by
core (catalog / stream_url), and a Test that probes the stream off the UI thread. UI thread."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.masking import mask_url
from nvr_console.core.snapshot import StreamCheck, check_stream
from nvr_console.core.stream_url import InvalidInput, validate_stream_url
from nvr_console.ui.background import run_in_background

_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?:(?P<user>[^:/@\s]*)(?::(?P<pw>[^\s/]*))?@)?(?P<rest>.*)$"
)
ERROR_STYLE = "color: #c62828;"
OK_STYLE = "color: #1b8a3a;"


def split_password(url: str) -> tuple[str, str]:
    """`rtsp://u:p@h/x` -> (`rtsp://u@h/x`, `p`): the password goes to its own masked field."""
    m = _USERINFO.match(url.strip())
    if not m or m["pw"] is None:
        return url.strip(), ""
    return f"{m['scheme']}{m['user']}@{m['rest']}", m["pw"]


def join_password(url: str, password: str) -> str:
    """Put the masked field's password back into the URL (replacing one typed into the URL itself)."""
    if not password:
        return url.strip()
    m = _USERINFO.match(url.strip())
    if not m:
        return url.strip()
    return f"{m['scheme']}{m['user'] or ''}:{password}@{m['rest']}"


def error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_message(label: QLabel, text: str, ok: bool = False) -> None:
    label.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
    label.setText(text)
    label.setVisible(bool(text))


class StreamTester(QWidget):
    """A Test button, a result line and a snapshot; `url()` supplies what to probe. Reused by the rooms
    dialog for sound sources (`audio_only`: a second of audio is read, no snapshot)."""

    def __init__(self, ffmpeg: str, url_source, transport_source=None, parent: QWidget | None = None,  # type: ignore[no-untyped-def]
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
                          self._done, self._failed)

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


class CameraDialog(QDialog):
    """Add (camera=None) or edit a camera; on accept `saved` holds the catalog's CameraInfo."""

    def __init__(self, db: Database, ffmpeg: str, camera: catalog.CameraInfo | None = None,
                 parent: QWidget | None = None, room: str | None = None) -> None:
        super().__init__(parent)
        self.db, self.camera = db, camera
        self.saved: catalog.CameraInfo | None = None
        self.setWindowTitle("Edit camera" if camera else "Add camera")
        self.room = QComboBox()
        self.room.setEditable(True)  # typing a new room name creates it on save
        self.room.addItems([r.name for r in catalog.list_rooms(db)])
        self.name = QLineEdit()
        self.url = QLineEdit()
        self.url.setPlaceholderText("rtsp://user@10.0.0.5:554/stream1")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("camera password (kept out of the URL field)")
        self.transport = QComboBox()
        self.transport.addItems(["tcp", "udp"])
        self.error = error_label()
        self.name_error, self.url_error = error_label(), error_label()
        self.tester = StreamTester(ffmpeg, self.full_url, self.transport.currentText, self)
        if camera is not None:
            self.room.setCurrentText(camera.room)
            self.name.setText(camera.name)
            shown, pw = split_password(camera.stream_url)
            self.url.setText(shown)
            self.password.setText(pw)
            self.transport.setCurrentText(camera.rtsp_transport)
        elif room:
            self.room.setCurrentText(room)
        form = QFormLayout()
        form.addRow("&Room:", self.room)
        form.addRow("&Name:", self.name)
        form.addRow("", self.name_error)
        form.addRow("&URL:", self.url)
        form.addRow("", self.url_error)
        form.addRow("&Password:", self.password)
        form.addRow("Trans&port:", self.transport)
        form.addRow("", self.tester)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._check_name)
        self.url.textChanged.connect(self._check_url)
        self.password.textChanged.connect(self._check_url)
        self.resize(560, self.sizeHint().height())

    def full_url(self) -> str:
        return join_password(self.url.text(), self.password.text())

    def _check_name(self) -> None:
        try:
            catalog.validate_name(self.name.text(), "camera")
            show_message(self.name_error, "")
        except InvalidInput as exc:
            show_message(self.name_error, str(exc))

    def _check_url(self) -> None:
        try:
            validate_stream_url(self.full_url(), "camera URL")
            show_message(self.url_error, "")
        except InvalidInput as exc:
            show_message(self.url_error, str(exc))

    def save(self) -> None:
        """Create or update through the catalog; its message stays on screen when it refuses. UI thread."""
        room = self.room.currentText().strip()
        try:
            if room and room not in [r.name for r in catalog.list_rooms(self.db)]:
                catalog.add_room(self.db, room)
            if self.camera is None:
                self.saved = catalog.add_camera(self.db, room, self.name.text(), self.full_url(),
                                                self.transport.currentText())
            else:
                self.saved = catalog.edit_camera(
                    self.db, self.camera.room, self.camera.name, new_name=self.name.text(), url=self.full_url(),
                    transport=self.transport.currentText(), new_room=room if room != self.camera.room else None,
                )
        except InvalidInput as exc:
            show_message(self.error, str(exc))
            return
        self.accept()
