"""The console's actions (icon, shortcut, tooltip saying the shortcut) and its toolbar. UI thread."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

Shortcut = QKeySequence | QKeySequence.StandardKey | str | None


def console_action(window: QMainWindow, text: str, icon: str, shortcut: Shortcut, slot: Callable[[], object],
                   tip: str = "") -> QAction:
    """An action of the window; its shortcut works even when the toolbar is hidden."""
    import qtawesome

    action = QAction(qtawesome.icon(icon), text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(f"{tip or text.replace('&', '')} ({action.shortcut().toString()})" if shortcut else tip)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def main_toolbar(window: QMainWindow, actions: Iterable[QAction | None]) -> None:
    """The toolbar, text beside icons; None: a separator."""
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for a in actions:
        if a is None:
            toolbar.addSeparator()
        else:
            toolbar.addAction(a)
