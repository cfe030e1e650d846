"""System tray icon: overall state at a glance (all recording / something wrong), a small menu, and
desktop notifications. UI thread."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from nvr_console.core.status import CameraState
from nvr_console.ui.widgets.alert_badge import badged

PROBLEM_STATES = frozenset({CameraState.FAILED, CameraState.STALLED, CameraState.RECONNECTING})


def overall(states: Iterable[CameraState | None]) -> tuple[str, str]:
    """(level, sentence): level is 'problem', 'recording', 'idle' — what the tray icon shows."""
    states = list(states)
    bad = sum(1 for s in states if s in PROBLEM_STATES)
    rec = sum(1 for s in states if s is CameraState.RECORDING)
    if bad:
        return "problem", f"{bad} camera(s) need attention, {rec} recording"
    if rec:
        return "recording", f"all {rec} active camera(s) recording"
    return "idle", "no camera recording"


_ICONS = {"problem": ("mdi6.cctv-off", "#c62828"), "recording": ("mdi6.cctv", "#1b8a3a"),
          "idle": ("mdi6.cctv", "#6b6b6b")}


class Tray(QSystemTrayIcon):
    """Exists only where the desktop has a tray (`Tray.available()`)."""

    def __init__(self, window: QWidget, actions: Iterable[QAction], quit_action: QAction) -> None:
        super().__init__(window)
        self._level = ""
        self._alerts = (0, "")  # unacknowledged alerts firing, and their badge's colour
        self._text = ""  # the cameras' overall state, in words
        self._icons: dict[str, QIcon] = {}
        menu = QMenu(window)
        self.window = window
        self.show_action = menu.addAction("Show console")
        self.show_action.triggered.connect(self.show_window)
        menu.addSeparator()
        for a in actions:
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(quit_action)
        self.setContextMenu(menu)
        self._menu = menu
        self.activated.connect(self._activated)
        self.set_overall([])

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_action.trigger()

    @classmethod
    def create(cls, window: QWidget, actions: Iterable[QAction], quit_action: QAction) -> Tray | None:
        """A shown tray icon, or None where the desktop has no tray."""
        if not cls.available():
            return None
        tray = cls(window, actions, quit_action)
        tray.show()
        return tray

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def set_overall(self, states: Iterable[CameraState | None]) -> str:
        level, text = overall(states)
        if level != self._level:
            self._level = level
            self._update_icon()
        self._text = text
        self._update_tooltip()
        return level

    def set_alerts(self, count: int, color: str) -> None:
        """Unacknowledged firing alerts: a badge with their count over the icon (ui.alarm_display)."""
        if (count, color) != self._alerts:
            self._alerts = (count, color)
            self._update_icon()
            self._update_tooltip()

    def _update_tooltip(self) -> None:
        count = self._alerts[0]
        self.setToolTip(f"nvr-console: {self._text}" + (f"; {count} alert(s) not acknowledged" if count else ""))

    def _update_icon(self) -> None:
        level = self._level
        if level not in self._icons:
            import qtawesome

            name, color = _ICONS[level]
            self._icons[level] = qtawesome.icon(name, color=color)
        count, color = self._alerts
        self.setIcon(badged(self._icons[level], count, color) if count else self._icons[level])

    def notify(self, title: str, message: str, problem: bool = True) -> None:
        icon = QSystemTrayIcon.MessageIcon.Warning if problem else QSystemTrayIcon.MessageIcon.Information
        self.showMessage(title, message, icon, 10_000)
