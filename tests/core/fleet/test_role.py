"""Recorder or control station: the decision, the live recorders it looks at, and the answer remembered."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nvr_console.core.config import load_settings
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry
from nvr_console.core.fleet.role import RoleChoice, other_live_recorders, remember, resolve


@pytest.mark.parametrize(("setting", "headless", "no_record", "others", "expected"), [
    ("auto", True, False, 3, RoleChoice.RECORD),  # --no-gui always records
    ("false", True, True, 0, RoleChoice.RECORD),
    ("auto", False, False, 0, RoleChoice.RECORD),  # one machine: as before, no question
    ("auto", False, False, 1, RoleChoice.ASK),
    ("true", False, False, 1, RoleChoice.RECORD),
    ("false", False, False, 0, RoleChoice.CONTROL),
    ("true", False, True, 0, RoleChoice.CONTROL),  # --no-record wins over the file
])
def test_resolve(setting: str, headless: bool, no_record: bool, others: int, expected: RoleChoice) -> None:
    assert resolve(setting, headless=headless, no_record=no_record, other_live_recorders=others) is expected


def test_other_live_recorders(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="srv1:1")
    registry.register(fleet_db, "gone", NodeRole.RECORDER, lease_ttl=0.2, process="gone:1")
    registry.register(fleet_db, "desk", NodeRole.CONTROL, lease_ttl=15, process="desk:1")
    registry.register(fleet_db, "me", NodeRole.RECORDER, lease_ttl=15, process="me:1")
    time.sleep(0.4)
    assert other_live_recorders(fleet_db, "me") == ["srv1"]


def test_the_answer_is_remembered_in_the_users_config(tmp_path: Path) -> None:
    path = load_settings(env={}, cwd=tmp_path).inputs.writable_file()
    remember(RoleChoice.CONTROL, path)
    assert load_settings(env={}, cwd=tmp_path).node.record == "false"
    assert path.read_text(encoding="utf-8").count("record =") == 1
    remember(RoleChoice.RECORD, path)
    assert load_settings(env={}, cwd=tmp_path).node.record == "true"
