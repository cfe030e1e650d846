"""The console's editors: a camera's, the rooms' and the settings' dialogs, opened for the main window. What
they change reaches the rest of the console through `catalog_changed` (cameras and rooms) and the settings
holder (settings). UI thread; a camera's row is read on the database pool.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from nvr_console.core import catalog
from nvr_console.core.config import ConfigError, ConfigFileError
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.session import Database
from nvr_console.ui.background import database_pool, run_in_background


class ConsoleEditors(QObject):
    catalog_changed = Signal()  # a camera or room was added, changed or removed

    def __init__(self, window: QWidget, db: Database, holder: SettingsHolder, ffmpeg: Callable[[], str],
                 live: Callable[[], bool]) -> None:
        """`ffmpeg()`: the FFmpeg the dialogs probe with; `live()`: whether a running engine applies live
        settings at once (a recording engine's console)."""
        super().__init__(window)
        self.window, self.db, self.holder, self._ffmpeg, self._live = window, db, holder, ffmpeg, live
        self._editing = False  # a camera's editor is being opened (its row is on its way from the catalog)

    def add_camera(self) -> bool:
        from nvr_console.ui.dialogs.camera_dialog import CameraDialog

        dialog = CameraDialog(self.db, self._ffmpeg(), parent=self.window)
        if dialog.exec() and dialog.saved is not None:
            self.catalog_changed.emit()
            return True
        return False

    def edit_camera(self, camera_id: int) -> None:
        """Open the camera's editor once the catalog (database pool) has answered."""
        if self._editing:
            return
        self._editing = True  # a second F2 or double-click while the catalog answers opens no second editor
        db = self.db
        run_in_background(lambda: catalog.get_camera_by_id(db, camera_id), self._edit_camera, self._edit_failed,
                          pool=database_pool(), context=self)

    def _edit_failed(self, message: str) -> None:
        self._editing = False
        QMessageBox.warning(self.window, "Edit camera", message)

    def _edit_camera(self, info: catalog.CameraInfo | None) -> None:
        from nvr_console.ui.dialogs.camera_dialog import CameraDialog

        self._editing = False
        if info is None:
            return  # removed meanwhile (the engine's camera_removed takes the row away)
        dialog = CameraDialog(self.db, self._ffmpeg(), info, parent=self.window)
        if dialog.exec() and dialog.saved is not None:
            self.catalog_changed.emit()

    def edit_rooms(self) -> None:
        from nvr_console.ui.dialogs.rooms_dialog import RoomsDialog

        dialog = RoomsDialog(self.db, self._ffmpeg(), self.window, settings=self.holder.current)
        dialog.exec()
        if dialog.changed:
            self.catalog_changed.emit()

    def edit_settings(self) -> None:
        from nvr_console.ui.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.holder.current, self.window, live=self._live())
        dialog.saved.connect(self._settings_saved)
        dialog.exec()

    def _settings_saved(self, _names: list[str]) -> None:
        try:
            # The same layers as at start (/etc, the user's file or --config, .env, variables, flags), read again.
            loaded = self.holder.current.inputs.load()
        except (ConfigError, ConfigFileError) as exc:
            QMessageBox.warning(self.window, "Settings", str(exc))
            return
        self.holder.apply(loaded)
