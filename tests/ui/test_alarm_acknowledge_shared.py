"""Two consoles sharing one MariaDB (the throwaway server the tests start): an acknowledge on one shows on the
other by its own periodic read, and when both acknowledge the same alert one wins and the other is told who."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, Condition, Status
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.views.alerts_view import REFRESH_MS
from tests.ui.engine_double import EngineDouble


def fire(db: Database, camera: str) -> int:
    [t] = alert_store.apply(db, [Condition(f"camera_down:camera:{camera}", CAMERA_DOWN, f"A-101 / {camera}",
                                           Status.ACTIVE, "not recording for 3m")], "rec-1", None)
    return t.alert.id


def open_console(qtbot: QtBot, settings: Settings, db: Database) -> Console:
    c = build_console(settings, db, EngineDouble({}))
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    return c


def acked_row(c: Console, alert_id: int) -> str:
    for row, a in enumerate(c.window.alerts.model.rows()):
        if a.id == alert_id:
            return str(c.window.alerts.model.index(row, 7).data())
    return ""


@pytest.mark.mariadb
def test_an_acknowledge_on_one_console_shows_on_the_other(
        qtbot: QtBot, settings_factory: Callable[..., Settings], mariadb_url: str) -> None:
    db_a, db_b = Database(mariadb_url), Database(mariadb_url)
    prepare_database(db_a)
    catalog.add_room(db_a, "A-101")
    first = fire(db_a, "front")
    a = open_console(qtbot, settings_factory(**{"database.url": mariadb_url, "node.name": "desk-1"}), db_a)
    b = open_console(qtbot, settings_factory(**{"database.url": mariadb_url, "node.name": "wall-2"}), db_b)
    try:
        for c in (a, b):
            qtbot.waitUntil(lambda c=c: c.window.banner.isVisible(), timeout=10_000)
        # Console A acknowledges through its Alerts tab.
        a.window.alarms.open_alerts()
        a.window.alerts.ask_note = lambda _alert: "camera power cycled"  # type: ignore[method-assign]
        qtbot.mouseClick(a.window.alerts.ack_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not a.window.banner.isVisible(), timeout=10_000)
        assert acked_row(a, first).endswith(": camera power cycled") and "@desk-1" in acked_row(a, first)
        # Console B, untouched, sees it at its next periodic read.
        qtbot.waitUntil(lambda: not b.window.banner.isVisible(), timeout=REFRESH_MS + 5_000)
        assert "@desk-1" in acked_row(b, first)
        assert b.window.alerts.summary.text() == "1 alert(s) firing, 1 acknowledged"

        # Both acknowledge the next one at once: one wins, the other is told who did.
        second = fire(db_a, "back")
        for c in (a, b):
            c.window.alerts.refresh()
            qtbot.waitUntil(lambda c=c: c.window.banner.isVisible(), timeout=10_000)
        a.window.alerts.acknowledge(second)
        b.window.alerts.acknowledge(second, "me too")
        qtbot.waitUntil(lambda: bool(a.window.alerts.ack_result.text() and b.window.alerts.ack_result.text()),
                        timeout=10_000)
        texts = sorted((a.window.alerts.ack_result.text(), b.window.alerts.ack_result.text()))
        assert texts[0].startswith(f"alert {second} (A-101 / back) acknowledged by ") and "@desk-1" in texts[0]
        assert texts[1].startswith(f"alert {second} (A-101 / back) was already acknowledged by ")
        assert "@desk-1" in texts[1]
        qtbot.waitUntil(lambda: not a.window.banner.isVisible() and not b.window.banner.isVisible(), timeout=10_000)
    finally:
        for c in (a, b):
            c.window.request_quit()
        db_a.dispose()
        db_b.dispose()
