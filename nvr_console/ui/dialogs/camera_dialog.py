"""Camera editor: room, name, URL with its password in a masked field, transport; inline validation by
core (catalog / stream_url), and a Test that probes the stream off the UI thread. Reading and saving run on
the database pool (ui.background), so a slow database never freezes the dialog. UI thread."""

from __future__ import annotations

import re

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from nvr_console.core import catalog
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.stream_url import InvalidInput, validate_stream_url
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.dialogs.dialog_widgets import NodeChoice, StreamTester, error_label, form, show_message, text_field

_USERINFO = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?:(?P<user>[^:/@\s]*)(?::(?P<pw>[^\s/]*))?@)?(?P<rest>.*)$"
)


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


def save_camera(db: Database, camera: catalog.CameraInfo | None, room: str, name: str, url: str,
                transport: str, node: str = "", live_url: str = "") -> catalog.CameraInfo:
    """Create (camera=None) or update a camera, creating its room when new; `node` pins it to a node ("": any
    node); `live_url` is the sub-stream the live wall plays ("": the recorded stream). Database pool thread."""
    if room and room not in [r.name for r in catalog.list_rooms(db)]:
        catalog.add_room(db, room)
    if camera is None:
        added = catalog.add_camera(db, room, name, url, transport)
        if not node and not live_url:
            return added
        return catalog.edit_camera(db, added.room, added.name, pinned_node=node, live_url=live_url)
    return catalog.edit_camera(db, camera.room, camera.name, new_name=name, url=url, transport=transport,
                               new_room=room if room != camera.room else None, pinned_node=node,
                               live_url=live_url)


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
        self.name = text_field()
        self.url = text_field("rtsp://user@10.0.0.5:554/stream1")
        self.password = text_field("camera password (kept out of the URL field)", secret=True)
        self.transport = QComboBox()
        self.transport.addItems(["tcp", "udp"])
        # The live wall's sub-stream: its password also goes to a masked field of its own.
        self.live_url = text_field("optional sub-stream for the live wall, e.g. rtsp://user@10.0.0.5/stream2")
        self.live_password = text_field("the sub-stream's password", secret=True)
        self.node = NodeChoice(db)
        self.error = error_label()
        self.name_error, self.url_error, self.live_error = error_label(), error_label(), error_label()
        self.tester = StreamTester(ffmpeg, self.full_url, self.transport.currentText, self)
        if camera is not None:
            self._fill(camera)
        elif room:
            self.room.setCurrentText(room)
        self._lay_out()
        self.name.textChanged.connect(self._check_name)
        self.url.textChanged.connect(self._check_url)
        self.password.textChanged.connect(self._check_url)
        self.live_url.textChanged.connect(self._check_live_url)
        self.live_password.textChanged.connect(self._check_live_url)
        self.resize(560, self.sizeHint().height())
        self.rooms_loaded = False  # the room list arrives from the database pool
        run_in_background(lambda: [r.name for r in catalog.list_rooms(db)], self._rooms_listed,
                          lambda msg: show_message(self.error, f"Rooms could not be listed: {msg}"),
                          pool=database_pool(), expected=(DatabaseUnavailable,), context=self)

    def _fill(self, camera: catalog.CameraInfo) -> None:
        """The edited camera's values; passwords go to their masked fields, never the URL fields."""
        self.room.setCurrentText(camera.room)
        self.name.setText(camera.name)
        shown, pw = split_password(camera.stream_url)
        self.url.setText(shown)
        self.password.setText(pw)
        self.transport.setCurrentText(camera.rtsp_transport)
        self.node.set_value(camera.pinned_node)
        live_shown, live_pw = split_password(camera.live_url or "")
        self.live_url.setText(live_shown)
        self.live_password.setText(live_pw)

    def _lay_out(self) -> None:
        """The form, its error lines under the fields they speak of, the dialog's error and buttons."""
        fields = form([("&Room:", self.room), ("&Name:", self.name), ("", self.name_error), ("&URL:", self.url),
                       ("", self.url_error), ("&Password:", self.password), ("&Live URL:", self.live_url),
                       ("", self.live_error), ("Live pass&word:", self.live_password), ("Trans&port:", self.transport),
                       ("Record on nod&e:", self.node), ("", self.tester)])
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def _rooms_listed(self, names: list[str]) -> None:
        """Offer the existing rooms; a room already typed (or the edited camera's) stays chosen."""
        typed = self.room.currentText()
        self.room.addItems(names)
        if typed:
            self.room.setCurrentText(typed)
        self.rooms_loaded = True

    def full_url(self) -> str:
        return join_password(self.url.text(), self.password.text())

    def full_live_url(self) -> str:
        return join_password(self.live_url.text(), self.live_password.text()) if self.live_url.text().strip() else ""

    def _check_live_url(self) -> None:
        try:
            if self.full_live_url():
                validate_stream_url(self.full_live_url(), "live URL")
            show_message(self.live_error, "")
        except InvalidInput as exc:
            show_message(self.live_error, str(exc))

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

    @property
    def saving(self) -> bool:
        """A save is on its way to the database (Save is disabled until it answers)."""
        return not self.buttons.isEnabled()

    def save(self) -> None:
        """Create or update through the catalog on the database pool; the dialog closes when it has saved,
        and its message stays on screen when it refuses. UI thread."""
        if self.saving:
            return
        db, camera = self.db, self.camera
        room, name, url = self.room.currentText().strip(), self.name.text(), self.full_url()
        transport, node, live_url = self.transport.currentText(), self.node.value(), self.full_live_url()
        self.buttons.setEnabled(False)
        show_message(self.error, "Saving…", ok=True)
        run_in_background(lambda: save_camera(db, camera, room, name, url, transport, node, live_url),
                          self._saved, self._refused, pool=database_pool(),
                          expected=(InvalidInput, DatabaseUnavailable), context=self)

    def _saved(self, info: catalog.CameraInfo) -> None:
        self.buttons.setEnabled(True)
        self.saved = info
        show_message(self.error, "")
        self.accept()

    def _refused(self, message: str) -> None:
        self.buttons.setEnabled(True)
        show_message(self.error, message)
