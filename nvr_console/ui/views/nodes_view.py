"""Nodes: the machines sharing the database (recorders and control stations), with Drain, Undrain and Forget.

The fleet overview (core.fleet.overview: every node, and who records each camera) is read on the database
pool every REFRESH_MS; `overview_loaded` hands it on, so the camera table's Node column needs no read of its
own. Drain, Undrain and Forget call core.fleet.registry on the database pool, which refuses what the
command line refuses, in the same words. UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet import registry
from nvr_console.core.fleet.overview import FleetOverview, read_overview
from nvr_console.core.fleet.registry import NodeInfo
from nvr_console.core.stream_url import InvalidInput
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.dialogs.dialog_widgets import error_label, show_message
from nvr_console.ui.formatting import human_duration, human_size
from nvr_console.ui.models.list_table_model import ListTableModel
from nvr_console.ui.widgets.list_table import list_table, selected_row

REFRESH_MS = 3_000
_RED, _AMBER, _GREEN = QColor("#c62828"), QColor("#c46a00"), QColor("#1b8a3a")


def state_text(n: NodeInfo) -> str:
    """Alive, draining, or offline with when it was last seen (by the database's clock)."""
    if not n.alive:
        return f"offline, last seen {human_duration(n.seconds_since_heartbeat)} ago"
    return "draining" if n.draining else "alive"


def cameras_text(n: NodeInfo) -> str:
    if n.role != NodeRole.RECORDER.value:
        return ""
    return f"{n.cameras_held} of {n.max_cameras}" if n.max_cameras else str(n.cameras_held)


class NodesModel(ListTableModel[NodeInfo]):
    HEADERS = ("Name", "Role", "Version", "State", "Cameras", "Free disk", "Upload queue", "Uploads")

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        n = self.row(index.row())
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            recorder = n.role == NodeRole.RECORDER.value
            return (
                n.name, "recorder" if recorder else "control station", n.version, state_text(n), cameras_text(n),
                human_size(n.free_disk) if n.free_disk is not None else "",
                f"{n.queue_files} file(s), {human_size(n.queue_bytes)}" if recorder else "",
                ("paused" if n.uploads_paused else "running") if recorder else "",
            )[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 3:
                return _RED if not n.alive else _AMBER if n.draining else _GREEN
            if col == 7 and n.uploads_paused:
                return _AMBER
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 7 and n.uploads_paused:
                return n.pause_reason
            return f"{n.name}: {n.process} on {n.host}, started {n.started_at:%Y-%m-%d %H:%M} UTC"
        return None


class NodesView(QWidget):
    """`overview_loaded(FleetOverview)` after every read."""

    overview_loaded = Signal(object)

    def __init__(self, db: Database, parent: QWidget | None = None, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.db = db
        self.overview: FleetOverview | None = None
        self.model = NodesModel()
        self.table = list_table(self.model, "nodesTable", stretch=3)
        self.summary = QLabel("Nodes: —")
        self.message = error_label()
        self.drain_button = QPushButton("&Drain")
        self.drain_button.setToolTip("Move this recorder's cameras to the other recorders at their next segment "
                                     "boundary (nothing is lost), e.g. before maintenance")
        self.undrain_button = QPushButton("&Undrain")
        self.undrain_button.setToolTip("Let this recorder take cameras again")
        self.forget_button = QPushButton("&Forget")
        self.forget_button.setToolTip("Remove an offline node once the files on its disk are uploaded")
        self.drain_button.clicked.connect(self.drain_selected)
        self.undrain_button.clicked.connect(self.undrain_selected)
        self.forget_button.clicked.connect(self.forget_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        for b in (self.drain_button, self.undrain_button, self.forget_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.table)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()
        self._pending = False
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # --- reading -------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the overview on the database pool; one read at a time. UI thread."""
        if self._pending:
            return
        self._pending = True
        db = self.db
        run_in_background(lambda: read_overview(db), self._loaded, self._failed, pool=database_pool(),
                          context=self)

    def _loaded(self, overview: FleetOverview) -> None:
        self._pending = False
        selected = self.selected_node()
        self.overview = overview
        self.model.replace_rows(overview.nodes)
        if selected is not None:  # the reset cleared the selection: the same node stays selected
            row = next((i for i, n in enumerate(overview.nodes) if n.name == selected.name), None)
            if row is not None:
                self.table.selectRow(row)
        alive = sum(1 for n in overview.nodes if n.alive)
        offline = len(overview.nodes) - alive
        self.summary.setText(f"{alive} node(s) alive" + (f", {offline} offline" if offline else "")
                             if overview.nodes else "No node registered yet")
        self._update_buttons()
        self.overview_loaded.emit(overview)

    def _failed(self, message: str) -> None:
        self._pending = False
        self.summary.setText(f"Nodes could not be read: {message}")

    # --- actions ---------------------------------------------------------------------------------

    def selected_node(self) -> NodeInfo | None:
        row = selected_row(self.table)
        return None if row is None else self.model.row_or_none(row)

    def _update_buttons(self, *_args: object) -> None:
        n = self.selected_node()
        recorder = n is not None and n.role == NodeRole.RECORDER.value
        self.drain_button.setEnabled(bool(recorder and n and n.alive and not n.draining))
        self.undrain_button.setEnabled(bool(recorder and n and n.draining))
        self.forget_button.setEnabled(n is not None and not n.alive)

    def confirm(self, title: str, text: str) -> bool:
        """Ask before acting; tests replace it."""
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes

    def drain_selected(self) -> None:
        n = self.selected_node()
        if n is None:
            return
        others = [o for o in self.model.rows() if o.name != n.name and o.alive and not o.draining
                  and o.role == NodeRole.RECORDER.value]
        if not self.confirm("Drain node", drain_question(n, len(others))):
            return
        name, db = n.name, self.db
        self._act(lambda: registry.set_draining(db, name, True),
                  f"Draining {name}: its cameras move to the other recorders at their next segment boundary.")

    def undrain_selected(self) -> None:
        n = self.selected_node()
        if n is None:
            return
        name, db = n.name, self.db
        self._act(lambda: registry.set_draining(db, name, False), f"{name} takes cameras again.")

    def forget_selected(self) -> None:
        n = self.selected_node()
        if n is None:
            return
        if not self.confirm("Forget node", f"Forget node {n.name}? Its row is removed and whatever it still "
                            "holds goes to the live recorders. A node with recordings not uploaded yet is refused."):
            return
        name, db = n.name, self.db
        self._act(lambda: registry.forget(db, name), f"Forgot node {name}.")

    def _act(self, call: Callable[[], object], done_text: str) -> None:
        """Run a registry call on the database pool; its refusal (one sentence) shows above the table."""

        def done(_result: object) -> None:
            show_message(self.message, done_text, ok=True)
            self.refresh()

        run_in_background(call, done, lambda msg: show_message(self.message, msg), pool=database_pool(),
                          expected=(InvalidInput, DatabaseUnavailable), context=self)


def drain_question(n: NodeInfo, other_recorders: int) -> str:
    """What Drain does, asked before doing it; `other_recorders`: live recorders that could take the cameras."""
    text = (f"Drain node {n.name}? Its {n.cameras_held} camera(s) move to the other recorders at their next segment "
            "boundary: the other recorder starts before this one stops, so nothing is lost. It takes no new camera "
            "until it restarts or you undrain it.")
    if not other_recorders:
        text += f"\n\nNo other recorder is alive now: {n.name} keeps recording its cameras until one starts."
    return text
