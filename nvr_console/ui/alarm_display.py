"""Alarms at a glance: each read of the alerts (the Alerts tab's `loaded`) drives the banner above the camera
table, the Alerts tab's title (count, colour of the worst unacknowledged alert), the window's and tray's icon
badge, and the optional sound for a critical alert nobody has acknowledged (`alerts.sound`). UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget

from nvr_console.core.monitoring.alert_store import AlertRecord
from nvr_console.ui.views.alerts_view import AlertsView
from nvr_console.ui.widgets.alert_badge import badged
from nvr_console.ui.widgets.alert_banner import SEVERITY_COLORS, AlertBanner, unacknowledged, worst
from nvr_console.ui.widgets.tray import Tray

ACKNOWLEDGED_COLOR = "#6b6b6b"  # firing, but every one has been taken on
TAB_TITLE = "Ale&rts"


class AlarmDisplay(QObject):
    def __init__(self, window: QMainWindow, banner: AlertBanner, tabs: QTabWidget, alerts: AlertsView,
                 tray: Tray | None, sound: Callable[[], bool]) -> None:
        """`sound()`: whether critical alerts sound (alerts.sound, read at each alert)."""
        super().__init__(window)
        self.window, self.banner, self.tabs, self.view, self.tray = window, banner, tabs, alerts, tray
        self._sound = sound
        self.beep: Callable[[], None] = QApplication.beep  # tests count the calls
        self._sounded: set[int] = set()  # critical alerts already sounded (each once)
        import qtawesome  # needs the QApplication

        self.base_icon: QIcon = qtawesome.icon("mdi6.cctv", color="#1f6fbf")
        window.setWindowIcon(self.base_icon)
        self.count = 0  # unacknowledged firing alerts
        self.color = ""  # the badge's and the tab's colour ("": nothing firing)
        alerts.loaded.connect(self.show_alerts)
        banner.clicked.connect(self.open_alerts)

    def open_alerts(self) -> None:
        """The banner's click: the Alerts tab, its first unacknowledged alert selected."""
        self.tabs.setCurrentWidget(self.view)
        first = unacknowledged(list(self.view.model.rows()))
        if first:
            self.view.select_alert(first[0].id)
        self.view.table.setFocus()

    def show_alerts(self, alerts: list[AlertRecord]) -> None:
        self.banner.show_alerts(alerts)
        open_ = unacknowledged(alerts)
        firing = [a for a in alerts if a.state == "firing"]
        self.count = len(open_)
        self.color = (SEVERITY_COLORS.get(worst(open_), "#c46a00") if open_
                      else ACKNOWLEDGED_COLOR if firing else "")
        index = self.tabs.indexOf(self.view)
        self.tabs.setTabText(index, f"{TAB_TITLE} ({len(firing)})" if firing else TAB_TITLE)
        self.tabs.tabBar().setTabTextColor(index, QColor(self.color) if self.color else QColor())
        self.tabs.setTabToolTip(index, f"{len(firing)} alert(s) firing, {len(firing) - len(open_)} acknowledged"
                                if firing else "")
        self.window.setWindowIcon(badged(self.base_icon, self.count, self.color))
        if self.tray is not None:
            self.tray.set_alerts(self.count, self.color)
        critical = {a.id for a in open_ if a.severity == "critical"}
        new = critical - self._sounded
        self._sounded &= {a.id for a in firing}  # forget resolved ones
        self._sounded |= critical
        if new and self._sound():
            self.beep()
