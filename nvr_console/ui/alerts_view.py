"""Alerts: the built-in alerts firing now and those resolved in the last day. UI thread.

Rows are read from the database off the UI thread (core.monitoring.alert_store, on the database pool)
every REFRESH_MS and at once when the monitor announces a change (`refresh()`), so a slow database never
freezes the console and alerts raised by other nodes show up too.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.alert_store import AlertRecord
from nvr_console.core.monitoring.rules import RULES
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.list_table_model import ListTableModel

REFRESH_MS = 30_000
_COLORS = {"critical": QColor("#c62828"), "warning": QColor("#c46a00"), "resolved": QColor("#1b8a3a")}


class AlertsModel(ListTableModel):
    HEADERS = ("State", "Severity", "Subject", "Alert", "Since", "Resolved", "Details")

    def __init__(self) -> None:
        super().__init__()
        self.alerts: list[AlertRecord] = []

    def rows(self) -> Sequence[AlertRecord]:
        return self.alerts

    def set_alerts(self, alerts: list[AlertRecord]) -> None:
        self.beginResetModel()
        self.alerts = list(alerts)
        self.endResetModel()

    def firing(self) -> int:
        return sum(1 for a in self.alerts if a.state == "firing")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        a = self.alerts[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            when = lambda d: d.astimezone().strftime("%Y-%m-%d %H:%M") if d else ""  # noqa: E731
            details = a.summary + (f" — not delivered: {a.delivery_error}" if a.delivery_error else "")
            return (a.state, a.severity, a.subject, RULES[a.rule].title if a.rule in RULES else a.rule,
                    when(a.started_at), when(a.resolved_at), details)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() in (0, 1):
            return _COLORS.get("resolved" if a.state == "resolved" else a.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{a.subject}: {a.summary}\nnode {a.node}; key {a.key}"
        return None


class AlertsView(QWidget):
    def __init__(self, db: Database, parent: QWidget | None = None, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.db = db
        self.model = AlertsModel()
        self.table = QTableView()
        self.table.setObjectName("alertsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel("Alerts: —")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        self._pending = False
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Read the alerts on a pool thread; one read at a time. UI thread."""
        if self._pending:
            return
        self._pending = True
        db = self.db
        run_in_background(lambda: alert_store.list_alerts(db), self._loaded, self._failed, pool=database_pool(),
                          context=self)

    def _loaded(self, alerts: list[AlertRecord]) -> None:
        self._pending = False
        self.model.set_alerts(alerts)
        n = self.model.firing()
        self.summary.setText(f"{n} alert(s) firing" if n else "No alert firing (resolved ones of the last day below)")

    def _failed(self, message: str) -> None:
        self._pending = False
        self.summary.setText(f"Alerts could not be read: {message}")
