"""Alerts: the built-in alerts firing now and those resolved in the last day; acknowledging one. UI thread.

Rows are read from the database off the UI thread (core.monitoring.alert_store, on the database pool)
every REFRESH_MS and at once when the monitor announces a change (`refresh()`), so a slow database never
freezes the console and alerts raised (or acknowledged) on other consoles show up too. `loaded` hands each
read to the banner, the tab title and the badges (ui.alarm_display). An acknowledge is written on the
database pool too, and its answer (taken, or someone else was first) shows in the summary line.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.alert_store import AlertRecord
from nvr_console.core.monitoring.rules import RULES
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.models.list_table_model import ListTableModel
from nvr_console.ui.widgets.list_table import list_table, selected_row

REFRESH_MS = 10_000  # an acknowledge on another console shows here within this
_COLORS = {"critical": QColor("#c62828"), "warning": QColor("#c46a00"), "resolved": QColor("#1b8a3a"),
           "acknowledged": QColor("#6b6b6b")}
ID_ROLE = Qt.ItemDataRole.UserRole + 1


def state_word(a: AlertRecord) -> str:
    return "acknowledged" if a.state == "firing" and a.acknowledged else a.state


class AlertsModel(ListTableModel[AlertRecord]):
    HEADERS = ("Id", "State", "Severity", "Subject", "Alert", "Since", "Resolved", "Acknowledged", "Details")

    def firing(self) -> int:
        return sum(1 for a in self._rows if a.state == "firing")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        a = self.row(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            when = lambda d: d.astimezone().strftime("%Y-%m-%d %H:%M") if d else ""  # noqa: E731
            details = a.summary + (f" — not delivered: {a.delivery_error}" if a.delivery_error else "")
            acked = f"{a.acked_by}, {when(a.acked_at)}" + (f": {a.ack_note}" if a.ack_note else "") \
                if a.acknowledged else ""
            return (str(a.id), state_word(a), a.severity, a.subject,
                    RULES[a.rule].title if a.rule in RULES else a.rule, when(a.started_at), when(a.resolved_at),
                    acked, details)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() in (1, 2):
            word = state_word(a)
            return _COLORS.get(word if word != "firing" else a.severity)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{a.subject}: {a.summary}\nnode {a.node}; key {a.key}"
        if role == ID_ROLE:
            return a.id
        return None


class AlertsView(QWidget):
    loaded = Signal(object)  # list[AlertRecord], each time the alerts have been read
    acknowledged = Signal(object)  # alert_store.AckResult of this console's acknowledge

    def __init__(self, db: Database, parent: QWidget | None = None, refresh_ms: int = REFRESH_MS,
                 operator: Callable[[], str] = lambda: "operator") -> None:
        """`operator()`: who acknowledges from this console ("user@node")."""
        super().__init__(parent)
        self.db = db
        self.operator = operator
        self.model = AlertsModel()
        self.table = list_table(self.model, "alertsTable")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(AlertsModel.HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
        self.summary = QLabel("Alerts: —")
        self.summary.setWordWrap(True)
        self.ack_result = QLabel()  # this console's last acknowledge: taken, or who was first
        self.ack_result.setWordWrap(True)
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.setToolTip("Take the selected firing alert on: every console shows who did, and e-mail and "
                                   "webhook repeats stop until it resolves")
        self.ack_button.setEnabled(False)
        self.ack_button.clicked.connect(self.acknowledge_selected)
        ack_action = QAction("Acknowledge…", self.table)
        ack_action.triggered.connect(self.acknowledge_selected)
        self.table.addAction(ack_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.ack_result, 2)
        top.addWidget(self.ack_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._pending = False
        self._again = False
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self, *_args: object) -> None:
        """Read the alerts on a pool thread; one read at a time. UI thread."""
        if self._pending:
            self._again = True  # asked during a read that may predate the news: read once more after it
            return
        self._pending, self._again = True, False
        db = self.db
        run_in_background(lambda: alert_store.list_alerts(db), self._loaded, self._failed, pool=database_pool(),
                          context=self)

    def _loaded(self, alerts: list[AlertRecord]) -> None:
        self._pending = False
        if self._again:
            self.refresh()
        chosen = self.selected_alert()
        self.model.replace_rows(alerts)
        if chosen is not None:  # the selection follows its alert across reads
            for row, a in enumerate(self.model.rows()):
                if a.id == chosen.id:
                    self.table.selectRow(row)
        n = self.model.firing()
        acked = sum(1 for a in self.model.rows() if a.state == "firing" and a.acknowledged)
        if n:
            self.summary.setText(f"{n} alert(s) firing" + (f", {acked} acknowledged" if acked else ""))
        else:
            self.summary.setText("No alert firing (resolved ones of the last day below)")
        self._update_button()
        self.loaded.emit(list(alerts))

    def _failed(self, message: str) -> None:
        self._pending = False
        if self._again:
            self.refresh()
        self.summary.setText(f"Alerts could not be read: {message}")

    # --- acknowledging ---------------------------------------------------------------------------------

    def selected_alert(self) -> AlertRecord | None:
        row = selected_row(self.table)
        return None if row is None else self.model.row_or_none(row)

    def select_alert(self, alert_id: int) -> bool:
        for row, a in enumerate(self.model.rows()):
            if a.id == alert_id:
                self.table.selectRow(row)
                return True
        return False

    def _update_button(self) -> None:
        a = self.selected_alert()
        self.ack_button.setEnabled(a is not None and a.state == "firing" and not a.acknowledged)

    def ask_note(self, alert: AlertRecord) -> str | None:
        """The operator's optional note, or None to cancel. Tests replace it."""
        text, ok = QInputDialog.getText(self, "Acknowledge alert",
                                        f"{alert.subject}: {alert.summary}\n\nAcknowledge as {self.operator()}. "
                                        "Note for the other operators (optional):", QLineEdit.EchoMode.Normal)
        return text if ok else None

    def acknowledge_selected(self) -> None:
        a = self.selected_alert()
        if a is None or a.state != "firing" or a.acknowledged:
            return
        note = self.ask_note(a)
        if note is not None:
            self.acknowledge(a.id, note)

    def acknowledge(self, alert_id: int, note: str = "") -> None:
        """Write the acknowledge on the database pool (never on the UI thread), then read the alerts again."""
        db, who = self.db, self.operator()
        self.ack_button.setEnabled(False)

        def done(result: alert_store.AckResult) -> None:
            self.ack_result.setText(result.sentence(alert_id))
            self.acknowledged.emit(result)
            self.refresh()

        run_in_background(lambda: alert_store.acknowledge(db, alert_id, who, note), done,
                          lambda msg: self.ack_result.setText(f"Alert {alert_id} not acknowledged: {msg}"),
                          pool=database_pool(), context=self)
