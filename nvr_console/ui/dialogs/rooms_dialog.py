"""Rooms editor: name, Drive folder (a pasted folder URL or id, checked on Drive to show its name), sound source
with the same Test as cameras. Validation and storage by core.catalog, called on the database pool
(ui.background) so a slow database never freezes the dialog. UI thread unless a docstring says otherwise."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core import catalog
from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT, Settings
from nvr_console.core.db.models import RecordMode
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.lectures import timetable_store
from nvr_console.core.lectures.timetable_store import Timetable
from nvr_console.core.stream_url import InvalidInput, drive_folder_link, parse_drive_folder
from nvr_console.core.upload.drive_lookup import DriveItem, FolderProblem, check_room_folder, drive_ready
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.dialogs.dialog_widgets import (
    ERROR_STYLE,
    OK_STYLE,
    WARN_STYLE,
    NodeChoice,
    StreamTester,
    error_label,
    form,
    show_message,
    text_field,
)

FOLDER_CHECK_DELAY_MS = 400  # ask Drive once typing or pasting has stopped, not on every keystroke
_DB_ERRORS = (InvalidInput, DatabaseUnavailable)  # their own sentences, shown as they are


def check_folder(settings: Settings, folder_id: str, account: str = DEFAULT_DRIVE_ACCOUNT,
                 ) -> tuple[str, str, DriveItem | str]:
    """(folder_id, 'ok' | 'problem' | 'unknown', DriveItem or the sentence), asked as the room's Google account
    (the one that will upload into it). Pool thread (network)."""
    try:
        return folder_id, "ok", check_room_folder(settings.for_drive_account(account), folder_id)
    except FolderProblem as exc:
        return folder_id, "problem", str(exc)
    except Exception as exc:  # offline, sign-in trouble: nothing is known about the folder, saving stays allowed
        return folder_id, "unknown", str(exc)


class RoomsDialog(QDialog):
    def __init__(self, db: Database, ffmpeg: str, parent: QWidget | None = None,
                 settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.changed = False  # the main window reloads the engine when rooms changed
        # Folders are checked on Drive only when uploads go there and a sign-in exists; otherwise the id and
        # its link are shown as they are (nothing to ask, and saving is never held back).
        self._settings = settings
        self._drive_checks = settings is not None and drive_ready(settings)
        self._folder_id: str | None = None  # the id whose check is due or running (older answers are stale)
        self._folder_names: dict[str, str] = {}  # id -> name found this session: flipping rooms asks no more
        self.folder_timer = QTimer(self)
        self.folder_timer.setSingleShot(True)
        self.folder_timer.setInterval(FOLDER_CHECK_DELAY_MS)
        self.folder_timer.timeout.connect(self._start_folder_check)
        self.setWindowTitle("Rooms")
        self._make_fields(db, ffmpeg)
        self._lay_out()
        self.list.currentTextChanged.connect(self._show)
        self.folder.textChanged.connect(self._check_folder)
        self.new_button.clicked.connect(self._new)
        self.save_button.clicked.connect(self.save)
        self.remove_button.clicked.connect(self.remove)
        self._current: str | None = None
        self._rooms: dict[str, catalog.RoomInfo] = {}  # name -> room, as last listed
        self.loaded = False  # the first listing has arrived
        self._reload()
        self.resize(760, 380)

    def _make_fields(self, db: Database, ffmpeg: str) -> None:
        """The room list and the room's fields: name, Drive folder, sound source (with its Test), node and
        timetable."""
        self.list = QListWidget()
        self.list.setAccessibleName("Rooms")
        self.name = text_field()
        self.folder = text_field("https://drive.google.com/drive/folders/… or a folder id (empty: root folder)")
        self.folder_info = QLabel()
        self.folder_info.setOpenExternalLinks(False)
        self.folder_info.linkActivated.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))
        self.sound = text_field("rtsp://… audio-only stream (optional)")
        self.tester = StreamTester(ffmpeg, self.sound.text, parent=self, audio_only=True)
        self.node = NodeChoice(db)  # a room with a sound source is recorded as one unit, so it is pinned as one
        # The Google account its files upload with (drive.accounts); offered when there is more than one.
        self._accounts = (self._settings.drive.account_names() if self._settings is not None
                          else (DEFAULT_DRIVE_ACCOUNT,))
        self.account = QComboBox()
        self.account.setAccessibleName("Google account")
        self.account.addItems(list(self._accounts))
        self.account.setToolTip("Drive takes 750 GB a day per account: rooms on different accounts share the load. "
                                "Accounts are listed in config.toml ([drive.accounts.NAME]).")
        # The room's timetable (lectures): its calendar, the LOCATION text its events carry, how it records.
        self.calendar = text_field("https://…/timetable.ics, caldav+https://…/collection/ or an .ics file (optional)")
        self.calendar_location = text_field("events whose LOCATION contains this (empty: the room's name)")
        self.record_mode = QComboBox()
        self.record_mode.addItem("All the time", RecordMode.CONTINUOUS.value)
        self.record_mode.addItem("Around the timetable's lectures only", RecordMode.TIMETABLE.value)
        self._timetables: dict[str, Timetable] = {}  # room name -> its timetable row, as last listed
        self.error = error_label()
        self.new_button = QPushButton("&New")
        self.save_button = QPushButton("&Save")
        self.remove_button = QPushButton("&Remove")

    def _lay_out(self) -> None:
        """The list on the left, the fields, error and buttons on the right, Close below."""
        account = [("Google &account:", self.account)] if len(self._accounts) > 1 else []
        fields = form([("&Name:", self.name), ("&Drive folder:", self.folder), ("", self.folder_info),
                       ("S&ound source:", self.sound), ("", self.tester), ("Record on nod&e:", self.node), *account,
                       ("&Timetable:", self.calendar), ("Calendar &location:", self.calendar_location),
                       ("Re&cord:", self.record_mode)])
        actions = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.remove_button):
            actions.addWidget(b)
        right = QVBoxLayout()
        right.addLayout(fields)
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

    def _reload(self, select: str | None = None, done: str = "") -> None:
        """List the rooms (database pool), then select `select`, else the first room, and say `done`."""
        self._set_busy(True)
        def read() -> tuple[list[catalog.RoomInfo], dict[str, Timetable]]:  # database pool thread
            return catalog.list_rooms(self.db), {t.room: t for t in timetable_store.all_rooms(self.db)}

        def listed(got: tuple[list[catalog.RoomInfo], dict[str, Timetable]]) -> None:
            self._timetables = got[1]
            self._listed(got[0], select, done)

        run_in_background(read, listed, self._refused, pool=database_pool(), expected=_DB_ERRORS, context=self)

    def _listed(self, rooms: list[catalog.RoomInfo], select: str | None, done: str = "") -> None:
        self._set_busy(False)
        self._rooms = {r.name: r for r in rooms}
        self.list.clear()
        self.list.addItems([r.name for r in rooms])
        items = self.list.findItems(select, Qt.MatchFlag.MatchExactly) if select else []
        if items:
            self.list.setCurrentItem(items[0])
        elif self.list.count():
            self.list.setCurrentRow(0)
        elif not any(w.text() for w in (self.name, self.folder, self.sound)):
            self._new()  # no rooms yet, and nothing typed while the list was on its way
        if done:
            show_message(self.error, done, ok=True)
        self.loaded = True

    def _set_busy(self, busy: bool) -> None:
        """While the database works on a request, the buttons that would send another wait."""
        for b in (self.new_button, self.save_button, self.remove_button):
            b.setEnabled(not busy)

    @property
    def busy(self) -> bool:
        return not self.save_button.isEnabled()

    def _refused(self, message: str) -> None:
        self._set_busy(False)
        show_message(self.error, message)

    def _show(self, name: str) -> None:
        room = self._rooms.get(name)  # from the last listing: showing a room asks the database nothing
        if room is None:
            return
        self._current = room.name
        self.name.setText(room.name)
        self.folder.setText(room.drive_folder or "")
        self.sound.setText(room.sound_source_url or "")
        self.node.set_value(room.pinned_node)
        if self.account.findText(room.drive_account) < 0:  # named by a room, missing from config.toml
            self.account.addItem(room.drive_account)
        self.account.setCurrentText(room.drive_account)
        tt = self._timetables.get(room.name)
        self.calendar.setText(tt.source if tt else "")
        self.calendar_location.setText(tt.location if tt else "")
        self.record_mode.setCurrentIndex(max(0, self.record_mode.findData(tt.record_mode if tt else "continuous")))
        show_message(self.error, "")

    def _new(self) -> None:
        self._current = None
        self.list.clearSelection()
        for w in (self.name, self.folder, self.sound, self.calendar, self.calendar_location):
            w.clear()
        self.record_mode.setCurrentIndex(0)
        self.account.setCurrentIndex(0)
        self.node.set_value(None)
        self.name.setFocus()

    def _check_folder(self, text: str) -> None:
        """The pasted text at once (syntax); its name on Drive after FOLDER_CHECK_DELAY_MS without typing."""
        self.folder_timer.stop()
        self._folder_id = None
        if not text.strip():
            self._folder_message("Files go under the root folder (drive.root_folder).", "")
            return
        try:
            fid = parse_drive_folder(text)
        except InvalidInput as exc:
            self._folder_message(str(exc), ERROR_STYLE)
            return
        if fid in self._folder_names:
            self._folder_message(f"Folder “{self._folder_names[fid]}”", OK_STYLE, fid)
            return
        if not self._drive_checks:
            self._folder_message(f"Folder id {fid}", "", fid)
            return
        self._folder_id = fid
        self._folder_message(f"Checking folder {fid}…", "", fid)
        self.folder_timer.start()

    def _start_folder_check(self) -> None:
        """Typing stopped: ask Drive on a pool thread; `_folder_checked` gets the answer."""
        fid, settings, account = self._folder_id, self._settings, self.account.currentText()
        if fid is None or settings is None:
            return
        run_in_background(lambda: check_folder(settings, fid, account), self._folder_checked, context=self)

    def _folder_checked(self, result: tuple[str, str, DriveItem | str]) -> None:
        """A check's answer; dropped when the field has changed since it was asked."""
        fid, outcome, found = result
        if isinstance(found, DriveItem):
            self._folder_names[fid] = found.name
        if fid != self._folder_id:
            return
        if isinstance(found, DriveItem):
            self._folder_message(f"Folder “{found.name}”", OK_STYLE, fid)
        elif outcome == "problem":
            self._folder_message(str(found), ERROR_STYLE, fid)
        else:
            self._folder_message(f"Could not check the folder: {found}. Saving is still allowed.", WARN_STYLE, fid)

    def _folder_message(self, text: str, style: str, fid: str | None = None) -> None:
        link = f' · <a href="{html.escape(drive_folder_link(fid))}">open in Drive</a>' if fid else ""
        self.folder_info.setStyleSheet(style)
        self.folder_info.setTextFormat(Qt.TextFormat.RichText)
        self.folder_info.setText(html.escape(text, quote=False) + link)
        self.folder_info.show()

    def save(self) -> None:
        """Add or edit the room on the database pool; the list reloads when it has saved. UI thread."""
        if self.busy:
            return
        db, current = self.db, self._current
        name, folder, sound = self.name.text(), self.folder.text() or None, self.sound.text() or None
        node = self.node.value()
        account: str | catalog.Keep = self.account.currentText()
        if current is not None and current in self._rooms and account == self._rooms[current].drive_account:
            account = catalog.UNSET  # unchanged: kept even when config.toml no longer lists it
        accounts = self._accounts
        calendar, location = self.calendar.text().strip(), self.calendar_location.text().strip()
        mode = str(self.record_mode.currentData())
        had_timetable = current is not None and current in self._timetables

        def store() -> catalog.RoomInfo:  # database pool thread
            if current is None:
                added = catalog.add_room(db, name, folder, sound)
                room = catalog.edit_room(db, added.name, pinned_node=node or None, drive_account=account,
                                         accounts=accounts)
            else:
                room = catalog.edit_room(db, current, new_name=name, drive_folder=folder, sound_source=sound,
                                         pinned_node=node, drive_account=account, accounts=accounts)
            if calendar or location or mode != RecordMode.CONTINUOUS.value or had_timetable:
                timetable_store.configure(db, room.name, source=calendar, location=location, record_mode=mode)
            return room

        self._set_busy(True)
        run_in_background(store, self._saved, self._refused, pool=database_pool(), expected=_DB_ERRORS, context=self)

    def _saved(self, room: catalog.RoomInfo) -> None:
        self.changed = True
        self._reload(room.name, f"Saved room {room.name}.")

    def remove(self) -> None:
        """Remove the selected room (and, once confirmed, its cameras) on the database pool. UI thread."""
        room = self._rooms.get(self._current) if self._current is not None else None
        if room is None or self.busy:
            return
        with_cameras = False
        if room.camera_count:
            answer = QMessageBox.question(
                self, "Remove room",
                f"Room {room.name} has {room.camera_count} camera(s). Remove them too? Their recordings stay.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
            with_cameras = True
        db = self.db
        self._set_busy(True)
        run_in_background(lambda: catalog.remove_room(db, room.name, with_cameras=with_cameras), self._removed,
                          self._refused, pool=database_pool(), expected=_DB_ERRORS, context=self)

    def _removed(self, _room: catalog.RoomInfo) -> None:
        self.changed = True
        self._new()
        self._reload()
