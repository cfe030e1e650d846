"""Ask once: a console starting where other machines record asks whether this one records too, remembers the
answer in the user's config file, and does not ask again; --no-record and a single machine never ask."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from nvr_console.core.config import Settings
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry
from nvr_console.core.fleet.role import RoleChoice
from nvr_console.ui.dialogs.role_dialog import RoleDialog, choose_role


def never_ask(_recorders: list[str]) -> RoleChoice:
    raise AssertionError("the operator was asked")


def answer_with(button: str) -> list[str]:
    """Click `button` ("record_button", "control_button", or "close") in the dialog once it is open; returns the
    texts the dialog showed."""
    seen: list[str] = []

    def click() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RoleDialog):
            QTimer.singleShot(20, click)
            return
        seen.append(" ".join(w.text() for w in dialog.findChildren(QLabel)))
        if button == "close":
            dialog.reject()
        else:
            getattr(dialog, button).click()

    QTimer.singleShot(0, click)
    return seen


def test_a_single_machine_records_without_a_question(qtbot: QtBot, settings: Settings, db: Database) -> None:
    registry.register(db, settings.node.name, NodeRole.RECORDER, lease_ttl=30, process="me:1")  # its own row
    assert choose_role(settings, db, no_record=False, ask=never_ask) is RoleChoice.RECORD
    assert not settings.inputs.writable_file().exists()  # nothing to remember


def test_asked_once_where_others_record_and_the_answer_is_remembered(qtbot: QtBot, settings: Settings,
                                                                     db: Database) -> None:
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    shown = answer_with("control_button")
    assert choose_role(settings, db, no_record=False) is RoleChoice.CONTROL
    assert "srv1" in shown[0]
    again = settings.inputs.load()
    assert again.node.record == "false"
    assert choose_role(again, db, no_record=False, ask=never_ask) is RoleChoice.CONTROL


def test_record_here_too_is_remembered(qtbot: QtBot, settings: Settings, db: Database) -> None:
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    answer_with("record_button")
    assert choose_role(settings, db, no_record=False) is RoleChoice.RECORD
    again = settings.inputs.load()
    assert again.node.record == "true"
    assert choose_role(again, db, no_record=False, ask=never_ask) is RoleChoice.RECORD


def test_closed_without_an_answer_controls_only_and_asks_again(qtbot: QtBot, settings: Settings,
                                                              db: Database) -> None:
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    answer_with("close")
    assert choose_role(settings, db, no_record=False) is RoleChoice.CONTROL
    assert settings.inputs.load().node.record == "auto"


def test_no_record_skips_the_question(qtbot: QtBot, settings: Settings, db: Database) -> None:
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    assert choose_role(settings, db, no_record=True, ask=never_ask) is RoleChoice.CONTROL
    assert settings.inputs.load().node.record == "auto"  # a flag for this run, not a remembered answer
