"""The console's Alerts tab: firing alerts first, resolved ones after, read off the UI thread."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, DISK_FORECAST, Condition, Status
from nvr_console.ui.views.alerts_view import AlertsView


def test_alerts_tab_lists_firing_then_resolved(qtbot: QtBot, db: Database) -> None:
    alert_store.apply(db, [Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", Status.ACTIVE,
                                     "not recording for 3m")], "n1", None)
    alert_store.apply(db, [Condition("disk_forecast:node:n1", DISK_FORECAST, "disk on n1", Status.ACTIVE, "full")],
                      "n1", None)
    alert_store.apply(db, [Condition("disk_forecast:node:n1", DISK_FORECAST, "disk on n1", Status.INACTIVE)],
                      "n1", None)
    view = AlertsView(db)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
    m = view.model
    assert [m.index(r, 1).data() for r in range(2)] == ["firing", "resolved"]
    assert m.index(0, 0).data() == str(m.row(0).id)  # the id `alerts ack ID` takes
    assert m.index(0, 3).data() == "A-101 / front" and m.index(0, 4).data() == "camera not recording"
    assert m.index(0, 8).data() == "not recording for 3m" and m.index(0, 7).data() == ""
    assert view.summary.text() == "1 alert(s) firing"
    alert_store.apply(db, [Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", Status.INACTIVE)],
                      "n1", None)
    view.refresh()
    qtbot.waitUntil(lambda: view.model.firing() == 0, timeout=5000)
    assert view.summary.text().startswith("No alert firing")
