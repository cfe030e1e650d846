"""Ask once: does this computer record cameras too, or only control the recorders sharing the database?

The rule is core's (core.fleet.role): asked only when the console starts with `node.record = auto` on a
database where live recorder nodes of other machines exist; the answer is written to the user's config
file (node.record), so it is not asked again. Main (UI) thread, at start, before the engine exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from nvr_console.core.config import ConfigError, ConfigFileError, Settings
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import role
from nvr_console.core.fleet.role import RoleChoice
from nvr_console.ui.dialogs.choice_dialog import ChoiceDialog

log = logging.getLogger(__name__)


class RoleDialog(ChoiceDialog[RoleChoice]):
    """Two answers; closing it without one leaves `choice` at ASK (nothing remembered)."""

    def __init__(self, recorders: list[str], parent: QWidget | None = None) -> None:
        names = ", ".join(recorders[:5]) + (f" and {len(recorders) - 5} more" if len(recorders) > 5 else "")
        super().__init__(
            "Record on this computer?",
            f"<h3>Other computers record here</h3><p>Recorders already use this database: {names}.</p>"
            "<p>This computer can record cameras too (they are shared out among the recorders, each camera "
            "recorded once), or only show and control the cameras the others record.</p>"
            "<p>The answer is saved; Settings (Record on this node) changes it later.</p>",
            [("&Record cameras on this computer too", RoleChoice.RECORD), ("&Control only", RoleChoice.CONTROL)],
            RoleChoice.ASK, right=1, size=(560, 240), parent=parent)
        self.record_button, self.control_button = self.buttons
        self.control_button.setDefault(True)  # the cautious answer: nothing changes for the recorders


def ask_operator(recorders: list[str]) -> RoleChoice:
    dialog = RoleDialog(recorders)
    dialog.exec()
    return dialog.choice


def choose_role(settings: Settings, db: Database, no_record: bool,
                ask: Callable[[list[str]], RoleChoice] = ask_operator) -> RoleChoice:
    """RECORD or CONTROL for this start, asking the operator when core says to (and remembering the answer).

    Main thread, before the window and the engine exist (next to the schema check, which also reads the
    database there); the one query is bounded by the connection's timeouts. A dialog closed without an
    answer means control only for this run, asked again next time.
    """
    recorders: list[str] = []
    if settings.node.record == "auto" and not no_record:
        recorders = role.other_live_recorders(db, settings.node.name)
    choice = role.resolve(settings.node.record, headless=False, no_record=no_record,
                          other_live_recorders=len(recorders))
    if choice is not RoleChoice.ASK:
        return choice
    choice = ask(recorders)
    if choice is RoleChoice.ASK:
        log.info("no answer to 'record on this computer?': control only for now; asked again at the next start")
        return RoleChoice.CONTROL
    path = settings.inputs.writable_file()
    try:
        role.remember(choice, path)
    except (ConfigError, ConfigFileError, OSError) as exc:
        log.warning("the answer (node.record) could not be saved to %s: %s; asked again at the next start", path, exc)
    return choice
