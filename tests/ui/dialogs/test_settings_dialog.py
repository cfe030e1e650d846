"""The Settings dialog: fields built from core's option declarations, validated by core's parsers, saved into the
file the process reads; after a save the console and the engine reload with every layer they started with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
)

from nvr_console.core import catalog
from nvr_console.core.config import OPTIONS, Kind, Settings, load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.ui.app import build_console
from nvr_console.ui.dialogs.settings_dialog import SettingsDialog, unmask, with_mnemonics
from tests.ui.engine_double import EngineDouble

PASSWORD = "Zq9-db-secret"


@pytest.fixture
def user_file(isolated_env: Path) -> Path:
    path = isolated_env / ".config" / "nvr-console" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def from_files(tmp_path: Path, user_file: Path, **overrides: str) -> Settings:
    """Settings as a console started from the user's file (and `overrides` as flags) would have them."""
    if not user_file.exists():
        user_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "user.sqlite3"}"\n', encoding="utf-8")
    return load_settings(overrides=overrides, system_config=tmp_path / "no-etc.toml")


def test_fields_are_the_declared_options_with_their_labels_and_kinds(qtbot, settings: Settings) -> None:
    d = SettingsDialog(settings)
    qtbot.addWidget(d)
    labelled = [o for o in OPTIONS if o.label]
    assert list(d.edits) == [o.name for o in labelled]  # one declaration decides what the dialog shows
    form = d.layout().itemAt(0).layout()
    assert isinstance(form, QFormLayout)
    labels = [form.itemAt(r, QFormLayout.ItemRole.LabelRole).widget().text() for r in range(0, 2 * len(labelled), 2)]
    assert [t.replace("&", "").rstrip(":") for t in labels] == [o.label for o in labelled]
    keys = [t[t.index("&") + 1].lower() for t in labels]
    assert len(set(keys)) == len(keys)  # every field has an Alt+key of its own
    for row, option in enumerate(labelled):
        field = form.itemAt(2 * row, QFormLayout.ItemRole.FieldRole)
        buttons = [field.layout().itemAt(i).widget() for i in range(field.layout().count())][1:] \
            if isinstance(field.layout(), QHBoxLayout) else []
        texts = [b.text() for b in buttons if isinstance(b, QPushButton)]
        if option.kind is Kind.DATABASE_URL:
            assert texts == ["Test &connection"]
            # Not dots: an SQLite path has no password; a password inside a URL is masked in the text.
            assert d.edits[option.name].echoMode() is QLineEdit.EchoMode.Normal
        elif option.kind in (Kind.FOLDER, Kind.JSON_FILE):
            assert texts == ["…"]
        else:
            assert texts == []
        assert option.help in d.edits[option.name].toolTip()
        # Every label's '&' is a mnemonic, never a literal ampersand: its buddy is the field's edit.
        label = form.itemAt(2 * row, QFormLayout.ItemRole.LabelRole).widget()
        assert label.buddy() is d.edits[option.name], option.name
    assert d.edits["database.url"].text() == settings.database.url  # the SQLite URL in clear


def test_mnemonics_take_free_letters() -> None:
    assert with_mnemonics(["Segment length", "Time zone", "Time window", "Tt"]) == [
        "&Segment length", "&Time zone", "Time &window", "Tt"]


def test_validates_and_writes_the_file_the_console_reads(qtbot, tmp_path: Path, user_file: Path) -> None:
    settings = from_files(tmp_path, user_file)
    d = SettingsDialog(settings, live=True)
    qtbot.addWidget(d)
    assert d.path == user_file
    d.edits["recording.segment_length"].setText("forever")
    assert "recording.segment_length" in d.errors["recording.segment_length"].text()
    d.edits["recording.segment_length"].setText("1.5s")  # FFmpeg cuts whole seconds: refused, not rounded
    assert "not a whole number of seconds" in d.errors["recording.segment_length"].text()
    before = user_file.read_text()
    d.save()
    assert "nothing was saved" in d.outcome.text() and user_file.read_text() == before
    d.edits["recording.segment_length"].setText("10m")
    d.edits["database.url"].setText(f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    with qtbot.waitSignal(d.saved) as sig:
        d.save()
    assert sig.args[0] == ["database.url", "recording.segment_length"]
    assert "Applied now: recording.segment_length" in d.outcome.text()
    assert "restarts: database.url" in d.outcome.text()
    assert load_settings(d.path).recording.segment_length == 600


def test_a_value_a_flag_sets_is_saved_but_said_to_stay(qtbot, tmp_path: Path, user_file: Path) -> None:
    flag = f"sqlite:///{tmp_path / 'flag.sqlite3'}"
    d = SettingsDialog(from_files(tmp_path, user_file, **{"database.url": flag}), live=True)
    qtbot.addWidget(d)
    d.edits["database.url"].setText(f"sqlite:///{tmp_path / 'other.sqlite3'}")
    d.save()
    assert d.outcome.text() == "Saved. database.url stays as the command line sets it, which wins over the file."


def test_a_value_the_environment_sets_is_shown_read_only_with_the_variable_when_the_dialog_opens(
        qtbot, tmp_path: Path, user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVR_RECORDING_SEGMENT_LENGTH", "10m")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    (tmp_path / "cwd" / ".env").write_text("NVR_UPLOAD_WORKERS=3\n")
    d = SettingsDialog(from_files(tmp_path, user_file))
    qtbot.addWidget(d)
    edit = d.edits["recording.segment_length"]
    assert edit.isReadOnly() and edit.text() == "10m"
    assert d.errors["recording.segment_length"].text() == ("Set by the environment variable "
                                                           "NVR_RECORDING_SEGMENT_LENGTH, which wins over the file: "
                                                           "unset it to change it here.")
    assert not d.errors["recording.segment_length"].isHidden()
    assert d.edits["upload.workers"].isReadOnly()
    assert "NVR_UPLOAD_WORKERS in .env" in d.errors["upload.workers"].text()
    assert not d.edits["recording.dir"].isReadOnly() and d.errors["recording.dir"].text() == ""


def test_a_masked_password_is_kept_when_the_url_is_edited(qtbot, tmp_path: Path, user_file: Path) -> None:
    user_file.write_text(f'[database]\nurl = "mysql+pymysql://nvr:{PASSWORD}@db1.example:3306/nvr"\n')
    d = SettingsDialog(from_files(tmp_path, user_file))
    qtbot.addWidget(d)
    shown = d.edits["database.url"].text()
    assert PASSWORD not in shown and ":***@db1.example" in shown  # never shown, as everywhere
    d.edits["database.url"].setText(shown.replace("db1.example", "db2.example"))
    d.save()
    assert load_settings().database.url == f"mysql+pymysql://nvr:{PASSWORD}@db2.example:3306/nvr"
    assert PASSWORD not in d.outcome.text()
    assert unmask("mysql://u:new@h/db", "mysql://u:old@h/db") == "mysql://u:new@h/db"  # a typed password wins


# ------------------------------------------------------------------------------ the console reloads


@pytest.fixture
def console_db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'flag.sqlite3'}"
    db = Database(url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    db.dispose()
    return url


def save_in_the_dialog(qtbot, window, changes: dict[str, str]) -> list[str]:  # type: ignore[no-untyped-def]
    """Open Settings from the main window as an operator does, type `changes`, Save, Close; what it said."""
    said: list[str] = []

    def operate() -> None:  # the modal dialog runs its own loop: act from a timer inside it
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, operate)
            return
        for name, text in changes.items():
            dialog.edits[name].setText(text)
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        said.append(dialog.outcome.text())
        dialog.buttons.button(QDialogButtonBox.StandardButton.Close).click()

    QTimer.singleShot(0, operate)
    window.editors.edit_settings()
    return said


@pytest.mark.parametrize("user_file_at_start", [True, False])
def test_after_a_save_the_console_and_engine_keep_etc_the_users_file_and_the_flag(
    qtbot, tmp_path: Path, user_file: Path, console_db: str, user_file_at_start: bool,
) -> None:
    etc = tmp_path / "etc" / "config.toml"
    etc.parent.mkdir()
    etc.write_text('# the administrator\'s\n[upload]\nworkers = 7\n[recording]\ntimezone = "Europe/Moscow"\n'
                   f'[database]\nurl = "sqlite:///{tmp_path / "etc.sqlite3"}"\n', encoding="utf-8")
    if user_file_at_start:
        user_file.write_text('[log]\nlevel = "debug"  # for the AV team\n', encoding="utf-8")
    settings = load_settings(overrides={"database.url": console_db}, system_config=etc)  # as `--database-url`
    assert settings.files == ((etc, user_file) if user_file_at_start else (etc,))
    db = Database(console_db)
    engine = EngineDouble()
    console = build_console(settings, db, engine)
    window = console.window
    window.close_question = lambda _active: "keep"
    qtbot.addWidget(window)
    try:
        said = save_in_the_dialog(qtbot, window, {"recording.segment_length": "10m"})
        assert said == ["Saved. Applied now: recording.segment_length."]
        assert "the administrator's" in etc.read_text()  # /etc is never written
        assert 'segment_length = "10m"' in user_file.read_text()

        reloaded = window.settings
        assert reloaded is not settings
        assert reloaded.recording.segment_length == 600  # what the dialog just wrote
        assert reloaded.upload.workers == 7 and reloaded.recording.timezone == "Europe/Moscow"  # /etc's values
        assert reloaded.database.url == console_db  # the flag still wins over /etc's database
        assert reloaded.files == (etc, user_file)
        if user_file_at_start:
            assert reloaded.log.level == "debug" and "# for the AV team" in user_file.read_text()
        qtbot.waitUntil(lambda: engine.applied != [], timeout=3000)
        assert engine.applied == [reloaded]  # the engine gets the same, whole settings
    finally:
        db.dispose()


def test_a_bad_file_after_a_save_is_shown_and_the_running_settings_stay(
    qtbot, tmp_path: Path, user_file: Path, console_db: str,
) -> None:
    settings = from_files(tmp_path, user_file, **{"database.url": console_db})
    db = Database(console_db)
    engine = EngineDouble()
    console = build_console(settings, db, engine)
    console.window.close_question = lambda _active: "keep"
    qtbot.addWidget(console.window)
    warned: list[str] = []

    def read_the_warning() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, read_the_warning)
            return
        warned.append(box.text())
        box.close()

    try:
        user_file.write_text(user_file.read_text() + "[upload]\nworkerz = 3\n")  # broken by hand meanwhile
        QTimer.singleShot(0, read_the_warning)
        console.window.editors._settings_saved(["upload.workers"])
        assert warned and "unknown setting upload.workerz; did you mean upload.workers?" in warned[0]
        assert console.window.settings is settings and engine.applied == []
    finally:
        db.dispose()


def test_record_on_this_node_is_a_list_and_applies_at_the_next_start(qtbot, tmp_path: Path, user_file: Path) -> None:
    d = SettingsDialog(from_files(tmp_path, user_file), live=True)
    qtbot.addWidget(d)
    combo = d.edits["node.record"].parent()
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == ["auto", "true", "false"]
    assert d.edits["node.record"].text() == "auto"  # the current value, not the list's first item by chance
    assert d.changes() == {}
    combo.setCurrentText("false")
    d.edits["node.max_cameras"].setText("12")
    d.edits["node.name"].setText("desk-2")
    with qtbot.waitSignal(d.saved):
        d.save()
    assert "restarts: node.max_cameras, node.name, node.record" in d.outcome.text()
    assert "Applied now" not in d.outcome.text()
    node = load_settings(d.path).node
    assert (node.record, node.max_cameras, node.name) == ("false", 12, "desk-2")
