"""Whether this process records (a recorder node) or only commands (a control station).

- `nvr-console --no-gui` always records.
- `--no-record` or `node.record = false`: a control station; `node.record = true`: records.
- `node.record = auto` (never chosen): a console records unless live recorders of other machines share the
  database; then it asks once (record here, or control only) and the answer is written to the user's
  config.toml, so it is not asked again.
A single machine on SQLite has no other recorders, so it records without asking, as before.
"""

from __future__ import annotations

import enum
from pathlib import Path

from nvr_console.core.config.write import write_settings
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry


class RoleChoice(enum.StrEnum):
    RECORD = "record"
    CONTROL = "control"
    ASK = "ask"  # the console asks the operator once


def resolve(record_setting: str, *, headless: bool, no_record: bool, other_live_recorders: int) -> RoleChoice:
    """The decision from the settings and what the database says (pure)."""
    if headless:
        return RoleChoice.RECORD
    if no_record or record_setting == "false":
        return RoleChoice.CONTROL
    if record_setting == "true":
        return RoleChoice.RECORD
    return RoleChoice.ASK if other_live_recorders else RoleChoice.RECORD


def other_live_recorders(db: Database, this_node: str) -> list[str]:
    """Names of live recorder nodes other than this one (one query). Any thread."""
    return [n.name for n in registry.list_nodes(db)
            if n.alive and n.role == NodeRole.RECORDER.value and n.name != this_node]


def remember(choice: RoleChoice, path: Path) -> None:
    """Write the operator's answer as node.record into `path` (the console's settings file:
    Settings.inputs.writable_file())."""
    assert choice is not RoleChoice.ASK
    write_settings(path, {"node.record": "true" if choice is RoleChoice.RECORD else "false"})

