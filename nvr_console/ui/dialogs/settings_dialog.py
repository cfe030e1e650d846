"""Settings: the options core declares with a label (core.config.OPTIONS), validated by core's own parsers and
saved into the config file the process reads (core.config.write). Each option's declared kind picks its
editor here; its declared live flag says whether a change applies now or at the next start. UI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.config import OPTIONS, ConfigError, ConfigFileError, Kind, Option, Settings
from nvr_console.core.config.write import validate_setting, write_settings
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.text.masking import MASK, url_password
from nvr_console.ui.background import run_in_background
from nvr_console.ui.dialogs.dialog_widgets import error_label, show_message

_BROWSE_FILE_TYPES = {Kind.JSON_FILE: "JSON (*.json);;All files (*)", Kind.FILE: "All files (*)",
                      Kind.PROGRAM: "All files (*)"}


def dialog_options() -> list[Option]:
    """The options the dialog offers: those core gives a label, in declaration order."""
    return [o for o in OPTIONS if o.label]


def with_mnemonics(labels: list[str]) -> list[str]:
    """Each label with '&' before a letter no earlier label took (a word's first letter if free), for Alt+key."""
    taken: set[str] = set()
    out = []
    for label in labels:
        starts = [i for i, c in enumerate(label) if c.isalnum() and (i == 0 or not label[i - 1].isalnum())]
        rest = [i for i, c in enumerate(label) if c.isalnum() and i not in starts]
        pick = next((i for i in starts + rest if label[i].lower() not in taken), None)
        if pick is None:
            out.append(label)
            continue
        taken.add(label[pick].lower())
        out.append(f"{label[:pick]}&{label[pick:]}")
    return out


def unmask(text: str, real: str) -> str:
    """`text` as edited from the masked `real` value: a password still shown as *** is the real one again."""
    password = url_password(real)
    if password and url_password(text) == MASK:
        return text.replace(f":{MASK}@", f":{password}@", 1)
    return text


class SettingsDialog(QDialog):
    """`saved(list[str])` names the settings written. `live` says whether a running engine applies some now."""

    saved = Signal(list)

    def __init__(self, settings: Settings, parent: QWidget | None = None, live: bool = False) -> None:
        super().__init__(parent)
        self.settings, self.live = settings, live
        self.path = settings.inputs.writable_file()
        self.setWindowTitle("Settings")
        options = dialog_options()
        self.options = {o.name: o for o in options}
        self._initial: dict[str, str] = {}
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self.test_db: QPushButton | None = None
        form = QFormLayout()
        for option, label in zip(options, with_mnemonics([o.label for o in options]), strict=True):
            # Secrets (a database password) are shown masked, as everywhere; unmask() puts them back on save.
            text = settings.text(option.name)
            edit = QLineEdit(settings.shown(option.name) if option.secret else text)
            edit.setToolTip(f"{option.help}\nExpected: {option.expected}")
            self._initial[option.name] = edit.text()
            self.edits[option.name] = edit
            self.errors[option.name] = error_label()
            edit.textChanged.connect(lambda _t, n=option.name: self._check(n))
            # A label of our own with its buddy: a row whose field is a layout (edit and button) gets no buddy
            # from addRow, and its '&' then shows as a literal ampersand.
            caption = QLabel(label + ":")
            caption.setBuddy(edit)
            form.addRow(caption, self._editor(option, edit))
            form.addRow("", self.errors[option.name])
            self._show_outranking(option, edit)
        self.db_result = error_label()
        form.addRow("", self.db_result)
        self.outcome = error_label()  # not `result`: that is QDialog.result()
        note = QLabel(f"Saved to {self.path}")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.outcome)
        layout.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())

    def outranked_by(self, option: Option) -> str:
        """Who sets `option` over the file the dialog saves to, in words ("" when nobody): an environment
        variable, `.env` or a command-line flag."""
        src = self.settings.sources.get(option.name, "default")
        if src == "default" or src in {str(f) for f in self.settings.files} | {str(self.path)}:
            return ""
        if src == "command line":
            return "the command line"
        if src == ".env":
            return f"{option.env} in .env"
        return f"the environment variable {src}"

    def _show_outranking(self, option: Option, edit: QLineEdit) -> None:
        """A value set by the environment (or a flag) is shown read-only, with who sets it, from the start."""
        who = self.outranked_by(option)
        if who:
            edit.setReadOnly(True)
            edit.setToolTip(f"Set by {who}, which wins over the file.\n{edit.toolTip()}")
            show_message(self.errors[option.name], f"Set by {who}, which wins over the file: unset it to change "
                         "it here.", ok=True)

    def _editor(self, option: Option, edit: QLineEdit) -> QWidget | QLayout:
        """The widget(s) for one option, by its declared kind: a line edit, plus Browse or Test where they help."""
        if option.kind is Kind.DATABASE_URL:
            # Shown in clear but for a password inside the URL, masked as everywhere (Settings.shown).
            self.test_db = QPushButton("Test &connection")
            self.test_db.clicked.connect(self.test_connection)
            return self._beside(edit, self.test_db)
        if option.kind is Kind.FOLDER or option.kind in _BROWSE_FILE_TYPES:
            browse = QPushButton("…")
            browse.setToolTip("Browse")
            browse.clicked.connect(lambda _c=False, o=option: self._browse(o))
            return self._beside(edit, browse)
        if option.kind is Kind.CHOICE and option.choices:
            # A list of the values, over the same line edit (what is validated and saved).
            current = edit.text()
            combo = QComboBox()
            combo.setEditable(True)
            combo.setLineEdit(edit)
            combo.addItems(list(option.choices))
            combo.setCurrentText(current)
            return combo
        return edit

    @staticmethod
    def _beside(edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        return row

    def value(self, name: str) -> str:
        """What the field says, a masked secret put back: the text that is validated and saved."""
        text = self.edits[name].text().strip()
        return unmask(text, self.settings.text(name)) if self.options[name].secret else text

    def _check(self, name: str) -> bool:
        try:
            validate_setting(name, self.value(name))
        except ConfigError as exc:
            show_message(self.errors[name], str(exc))
            return False
        if not self.edits[name].isReadOnly():
            show_message(self.errors[name], "")
        return True

    def _browse(self, option: Option) -> None:
        edit = self.edits[option.name]
        if option.kind is Kind.FOLDER:
            chosen = QFileDialog.getExistingDirectory(self, option.label, edit.text())
        else:
            start = edit.text() or str(Path.home())
            chosen = QFileDialog.getOpenFileName(self, option.label, start, _BROWSE_FILE_TYPES[option.kind])[0]
        if chosen:
            edit.setText(chosen)

    def changes(self) -> dict[str, str]:
        return {n: self.value(n) for n, e in self.edits.items() if e.text().strip() != self._initial[n].strip()}

    def test_connection(self) -> None:
        """Connect once in the background (a remote server may take seconds to answer). UI thread."""
        assert self.test_db is not None
        try:
            url = validate_setting("database.url", self.value("database.url"))
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

        run_in_background(check, self._db_ok, self._db_failed, expected=(DatabaseUnavailable,), context=self)

    def _db_ok(self, message: str) -> None:
        assert self.test_db is not None
        self.test_db.setEnabled(True)
        show_message(self.db_result, message, ok=True)

    def _db_failed(self, message: str) -> None:
        assert self.test_db is not None
        self.test_db.setEnabled(True)
        show_message(self.db_result, message)

    def save(self) -> None:
        changes = self.changes()
        if not changes:
            show_message(self.outcome, "Nothing changed.", ok=True)
            return
        if not all(self._check(n) for n in changes):
            show_message(self.outcome, "Fix the values marked in red; nothing was saved.")
            return
        try:
            write_settings(self.path, changes)
        except (ConfigError, ConfigFileError, OSError) as exc:
            show_message(self.outcome, str(exc))
            return
        self._initial.update({n: self.edits[n].text() for n in changes})
        files = {str(f) for f in self.settings.files} | {str(self.path)}
        # A variable or a flag wins over any file: the saved value waits until it is gone.
        outranked = {n: src for n in changes if (src := self.settings.sources.get(n, "default")) != "default"
                     and src not in files}
        now = sorted(n for n in changes if self.live and self.options[n].live and n not in outranked)
        later = sorted(n for n in changes if n not in now and n not in outranked)
        parts = []
        if now:
            parts.append(f"Applied now: {', '.join(now)}.")
        if later:
            parts.append(f"Takes effect when nvr-console restarts: {', '.join(later)}.")
        parts += [f"{n} stays as {'the command line' if src == 'command line' else src} sets it, which wins over "
                  "the file." for n, src in sorted(outranked.items())]
        show_message(self.outcome, "Saved. " + " ".join(parts), ok=True)
        self.saved.emit(sorted(changes))
