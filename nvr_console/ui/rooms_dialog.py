"""Rooms editor: name, Drive folder (a pasted folder URL or id), sound source with the same Test as cameras.
Validation and storage by core.catalog. UI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.stream_url import InvalidInput, drive_folder_link, parse_drive_folder
from nvr_console.ui.camera_dialog import StreamTester, error_label, show_message


class RoomsDialog(QDialog):
    def __init__(self, db: Database, ffmpeg: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.changed = False  # the main window reloads the engine when rooms changed
        self.setWindowTitle("Rooms")
        self.list = QListWidget()
        self.list.setAccessibleName("Rooms")
        self.name = QLineEdit()
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("https://drive.google.com/drive/folders/… or a folder id (empty: root folder)")
        self.folder_info = QLabel()
        self.folder_info.setOpenExternalLinks(False)
        self.folder_info.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.sound = QLineEdit()
        self.sound.setPlaceholderText("rtsp://… audio-only stream (optional)")
        self.tester = StreamTester(ffmpeg, self.sound.text, parent=self)
        self.error = error_label()
        self.new_button = QPushButton("&New")
        self.save_button = QPushButton("&Save")
        self.remove_button = QPushButton("&Remove")
        form = QFormLayout()
        form.addRow("&Name:", self.name)
        form.addRow("&Drive folder:", self.folder)
        form.addRow("", self.folder_info)
        form.addRow("S&ound source:", self.sound)
        form.addRow("", self.tester)
        actions = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.remove_button):
            actions.addWidget(b)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.error)
        right.addLayout(actions)
        right.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(right, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(close)
        self.list.currentTextChanged.connect(self._show)
        self.folder.textChanged.connect(self._check_folder)
        self.new_button.clicked.connect(self._new)
        self.save_button.clicked.connect(self.save)
        self.remove_button.clicked.connect(self.remove)
        self._current: str | None = None
        self._reload()
        self.resize(760, 380)

    def _reload(self, select: str | None = None) -> None:
        self.list.clear()
        self.list.addItems([r.name for r in catalog.list_rooms(self.db)])
        items = self.list.findItems(select, Qt.MatchFlag.MatchExactly) if select else []
        if items:
            self.list.setCurrentItem(items[0])
        elif self.list.count():
            self.list.setCurrentRow(0)
        else:
            self._new()

    def _show(self, name: str) -> None:
        if not name:
            return
        room = catalog.get_room(self.db, name)
        self._current = room.name
        self.name.setText(room.name)
        self.folder.setText(room.drive_folder or "")
        self.sound.setText(room.sound_source_url or "")
        show_message(self.error, "")

    def _new(self) -> None:
        self._current = None
        self.list.clearSelection()
        for w in (self.name, self.folder, self.sound):
            w.clear()
        self.name.setFocus()

    def _check_folder(self, text: str) -> None:
        if not text.strip():
            self.folder_info.setText("Files go under the root folder (drive.root_folder).")
            return
        try:
            fid = parse_drive_folder(text)
        except InvalidInput as exc:
            show_message(self.folder_info, str(exc))
            return
        self.folder_info.setStyleSheet("")
        self.folder_info.setText(f'Folder id {fid} · <a href="{drive_folder_link(fid)}">open in Drive</a>')
        self.folder_info.show()

    def save(self) -> None:
        try:
            if self._current is None:
                room = catalog.add_room(self.db, self.name.text(), self.folder.text() or None,
                                        self.sound.text() or None)
            else:
                room = catalog.edit_room(self.db, self._current, new_name=self.name.text(),
                                         drive_folder=self.folder.text() or None,
                                         sound_source=self.sound.text() or None)
        except InvalidInput as exc:
            show_message(self.error, str(exc))
            return
        self.changed = True
        self._reload(room.name)
        show_message(self.error, f"Saved room {room.name}.", ok=True)

    def remove(self) -> None:
        if self._current is None:
            return
        room = catalog.get_room(self.db, self._current)
        with_cameras = False
        if room.camera_count:
            answer = QMessageBox.question(
                self, "Remove room",
                f"Room {room.name} has {room.camera_count} camera(s). Remove them too? Their recordings stay.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            with_cameras = True
        try:
            catalog.remove_room(self.db, room.name, with_cameras=with_cameras)
        except InvalidInput as exc:
            show_message(self.error, str(exc))
            return
        self.changed = True
        self._reload()



