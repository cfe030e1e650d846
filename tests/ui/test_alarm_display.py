"""Alarms at a glance on the real main window: the banner above the table appears and clears with an alert, the
Alerts tab's title and the window icon carry the count, a click opens the tab, a critical alert sounds once
(when alerts.sound is on), and an acknowledge calms all of it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, DISK_FORECAST, Condition, Status
from nvr_console.ui.app import Console, build_console
from tests.ui.engine_double import EngineDouble


def down(camera: str, status: Status = Status.ACTIVE) -> Condition:
    return Condition(f"camera_down:camera:{camera}", CAMERA_DOWN, f"A-101 / {camera}", status,
                     "not recording for 2m31s (reconnecting: connection refused)")


def console_on(qtbot: QtBot, settings: Settings, db: Database) -> Console:
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    c = build_console(settings, db, EngineDouble({cam.id: ("A-101", "front")}))
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitExposed(c.window)
    return c


def badge_pixel(c: Console) -> QColor:
    """The colour at the lower right of the window icon's 32 px picture (where the badge goes)."""
    image = c.window.windowIcon().pixmap(32, 32).toImage()
    return image.pixelColor(image.width() - 6, image.height() - 6)


def test_the_banner_tab_title_and_badge_follow_the_alerts(
        qtbot: QtBot, settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"alerts.sound": "true"})
    db = Database(settings.database.url)
    prepare_database(db)
    c = console_on(qtbot, settings, db)
    w = c.window
    beeps: list[int] = []
    w.alarms.beep = lambda: beeps.append(1)  # type: ignore[method-assign]
    tabs = w.tabs
    index = tabs.indexOf(w.alerts)
    qtbot.waitUntil(lambda: w.alerts.summary.text().startswith("No alert firing"), timeout=5000)
    assert not w.banner.isVisible() and tabs.tabText(index) == "Ale&rts"
    quiet = badge_pixel(c)

    alert_store.apply(db, [down("front")], "rec-1", None)
    alert_store.apply(db, [Condition("disk_forecast:node:rec-1", DISK_FORECAST, "disk on rec-1", Status.ACTIVE,
                                     "full in 20h")], "rec-1", None)
    w.alerts.refresh()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=5000)
    text = w.banner.label.text()
    assert text.startswith("2 alert(s) firing, critical: A-101 / front: camera not recording (and 1 more)"), text
    assert w.banner.severity == "critical"
    assert tabs.tabText(index) == "Ale&rts (2)"
    assert tabs.tabBar().tabTextColor(index) == QColor("#c62828")
    assert badge_pixel(c) == QColor("#c62828") != quiet
    assert beeps == [1]  # the critical one, once
    # The banner sits above the camera table.
    assert w.banner.mapTo(w, w.banner.rect().bottomLeft()).y() < w.table.mapTo(w, w.table.rect().topLeft()).y()

    # Read again: nothing new, no second sound.
    w.alerts.refresh()
    qtbot.waitUntil(lambda: not w.alerts._pending, timeout=5000)
    assert beeps == [1]

    # A click on the banner opens the Alerts tab with the critical alert selected.
    tabs.setCurrentWidget(w.uploads)
    qtbot.mouseClick(w.banner, Qt.MouseButton.LeftButton, pos=w.banner.rect().center())
    assert tabs.currentWidget() is w.alerts
    selected = w.alerts.selected_alert()
    assert selected is not None and selected.subject == "A-101 / front"

    # Acknowledged from this console: the banner names only the warning left; the tab keeps the count.
    w.alerts.ask_note = lambda _a: "on my way"  # type: ignore[method-assign]
    qtbot.mouseClick(w.alerts.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.banner.severity == "warning", timeout=5000)
    assert w.banner.label.text().startswith("1 alert(s) firing, warning: disk on rec-1")
    assert "acknowledged by" in w.alerts.ack_result.text() and "(on my way)" in w.alerts.ack_result.text()
    assert w.alerts.summary.text() == "2 alert(s) firing, 1 acknowledged"
    assert tabs.tabText(index) == "Ale&rts (2)" and tabs.tabBar().tabTextColor(index) == QColor("#c46a00")
    row = next(r for r, a in enumerate(w.alerts.model.rows()) if a.subject == "A-101 / front")
    assert w.alerts.model.index(row, 1).data() == "acknowledged"
    assert w.alerts.model.index(row, 7).data().endswith(": on my way")

    # Both resolve: the banner goes, the title and icon are quiet again.
    alert_store.apply(db, [down("front", Status.INACTIVE)], "rec-1", None)
    alert_store.apply(db, [Condition("disk_forecast:node:rec-1", DISK_FORECAST, "disk on rec-1", Status.INACTIVE)],
                      "rec-1", None)
    w.alerts.refresh()
    qtbot.waitUntil(lambda: not w.banner.isVisible(), timeout=5000)
    assert tabs.tabText(index) == "Ale&rts" and badge_pixel(c) == quiet
    assert w.alarms.count == 0
    w.request_quit()
    db.dispose()


def test_no_sound_unless_alerts_sound_is_on(qtbot: QtBot, settings: Settings, db: Database) -> None:
    assert settings.alerts.sound is False  # the default
    c = console_on(qtbot, settings, db)
    beeps: list[int] = []
    c.window.alarms.beep = lambda: beeps.append(1)  # type: ignore[method-assign]
    alert_store.apply(db, [down("front")], "rec-1", None)
    c.window.alerts.refresh()
    qtbot.waitUntil(lambda: c.window.banner.isVisible(), timeout=5000)
    assert beeps == []
    c.window.request_quit()


def test_the_tray_icon_carries_the_badge_too(qtbot: QtBot, settings: Settings, db: Database,
                                            monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from nvr_console.ui.widgets import tray as tray_module

    # Offscreen Qt has no system tray; the console must still be tested as on a desktop that has one.
    monkeypatch.setattr(tray_module.Tray, "available", staticmethod(lambda: True))
    c = console_on(qtbot, settings, db)
    tray = c.window.tray
    assert tray is not None

    def corner() -> QColor:
        image = tray.icon().pixmap(32, 32).toImage()
        return image.pixelColor(image.width() - 6, image.height() - 6)

    qtbot.waitUntil(lambda: c.window.alerts.summary.text().startswith("No alert firing"), timeout=5000)
    quiet = corner()
    alert_store.apply(db, [down("front")], "rec-1", None)
    c.window.alerts.refresh()
    qtbot.waitUntil(lambda: corner() == QColor("#c62828"), timeout=5000)
    assert quiet != QColor("#c62828") and "1 alert(s) not acknowledged" in tray.toolTip()
    alert_store.apply(db, [down("front", Status.INACTIVE)], "rec-1", None)
    c.window.alerts.refresh()
    qtbot.waitUntil(lambda: corner() == quiet, timeout=5000)
    c.window.request_quit()
