"""Settings: the options an operator changes most, validated by core's own parsers and saved to the user's
config.toml (core.config_writer). Says which changes apply now and which at the next start. UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.config import OPTIONS_BY_NAME, ConfigError, ConfigFileError, Settings
from nvr_console.core.config_writer import APPLIES_LIVE, user_config_path, validate_setting, write_settings
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.ui.background import run_in_background
from nvr_console.ui.camera_dialog import error_label, show_message

FIELDS: tuple[tuple[str, str], ...] = (
    ("recording.dir", "Recordings &folder"),
    ("recording.segment_length", "&Segment length"),
    ("recording.timezone", "&Time zone"),
    ("recording.window", "Recording &window"),
    ("upload.workers", "&Upload workers"),
    ("retention.delete_after", "&Delete local copy after"),
    ("database.url", "Data&base URL"),
    ("drive.credentials", "Google &credentials file"),
)


def _shown(settings: Settings) -> dict[str, str]:
    return {name: value for name, value, _source in settings.display()}


class SettingsDialog(QDialog):
    """`saved(list[str])` names the settings written. `live` says whether a running engine applies some now."""

    saved = Signal(list)

    def __init__(self, settings: Settings, parent: QWidget | None = None, live: bool = False) -> None:
        super().__init__(parent)
        self.settings, self.live = settings, live
        self.path = user_config_path(settings.files)
        self.setWindowTitle("Settings")
        current = _shown(settings)
        self._initial: dict[str, str] = {}
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for name, label in FIELDS:
            edit = QLineEdit(current.get(name, ""))
            edit.setToolTip(f"{OPTIONS_BY_NAME[name].help}\nExpected: {OPTIONS_BY_NAME[name].expected}")
            if name == "database.url":
                edit.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)  # may hold a MySQL password
            self._initial[name] = edit.text()
            self.edits[name] = edit
            self.errors[name] = error_label()
            edit.textChanged.connect(lambda _t, n=name: self._check(n))
            row: QWidget | QHBoxLayout = edit
            if name in ("recording.dir", "drive.credentials"):
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                browse = QPushButton("…")
                browse.setToolTip("Browse")
                browse.clicked.connect(lambda _c=False, n=name: self._browse(n))
                row.addWidget(browse)
            if name == "database.url":
                row = QHBoxLayout()
                row.addWidget(edit, 1)
                self.test_db = QPushButton("Test &connection")
                self.test_db.clicked.connect(self.test_connection)
                row.addWidget(self.test_db)
            form.addRow(label + ":", row)
            form.addRow("", self.errors[name])
        self.db_result = error_label()
        form.addRow("", self.db_result)
        self.result = error_label()
        note = QLabel(f"Saved to {self.path}")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.result)
        layout.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())

    def _check(self, name: str) -> bool:
        try:
            validate_setting(name, self.edits[name].text())
        except ConfigError as exc:
            show_message(self.errors[name], str(exc))
            return False
        show_message(self.errors[name], "")
        return True

    def _browse(self, name: str) -> None:
        if name == "recording.dir":
            chosen = QFileDialog.getExistingDirectory(self, "Recordings folder", self.edits[name].text())
        else:
            chosen = QFileDialog.getOpenFileName(self, "Google credentials", str(Path.home()), "JSON (*.json)")[0]
        if chosen:
            self.edits[name].setText(chosen)

    def changes(self) -> dict[str, str]:
        return {n: e.text().strip() for n, e in self.edits.items() if e.text().strip() != self._initial[n].strip()}

    def test_connection(self) -> None:
        """Connect once in the background (a remote server may take seconds to answer). UI thread."""
        url = self.edits["database.url"].text().strip()
        try:
            url = validate_setting("database.url", url)
        except ConfigError as exc:
            show_message(self.db_result, str(exc))
            return
        self.test_db.setEnabled(False)
        show_message(self.db_result, "Connecting …", ok=True)

        def check() -> str:
            db = Database(url)
            try:
                db.check_connection()
            finally:
                db.dispose()
            return f"Connected: {db.display_url}"

        run_in_background(check, self._db_ok, self._db_failed, expected=(DatabaseUnavailable,))

    def _db_ok(self, message: str) -> None:
        self.test_db.setEnabled(True)
        show_message(self.db_result, message, ok=True)

    def _db_failed(self, message: str) -> None:
        self.test_db.setEnabled(True)
        show_message(self.db_result, message)

    def save(self) -> None:
        changes = self.changes()
        if not changes:
            show_message(self.result, "Nothing changed.", ok=True)
            return
        if not all(self._check(n) for n in changes):
            show_message(self.result, "Fix the values marked in red; nothing was saved.")
            return
        try:
            write_settings(self.path, changes)
        except (ConfigError, ConfigFileError, OSError) as exc:
            show_message(self.result, str(exc))
            return
        self._initial.update(changes)
        now = sorted(n for n in changes if self.live and n in APPLIES_LIVE)
        later = sorted(n for n in changes if n not in now)
        parts = []
        if now:
            parts.append(f"Applied now: {', '.join(now)}.")
        if later:
            parts.append(f"Takes effect when nvr-console restarts: {', '.join(later)}.")
        show_message(self.result, "Saved. " + " ".join(parts), ok=True)
        self.saved.emit(sorted(changes))
