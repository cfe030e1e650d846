"""The console's status bar: the next cut, where finished files go, the upload queue, Drive's daily budget, the
recordings disk, the database and the engine. UI thread; the database reads run on the database pool.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.schedule.boundaries import next_boundary, now_in
from nvr_console.core.status import DiskStatus, QueueStatus
from nvr_console.core.upload import drive_usage
from nvr_console.ui.background import BackgroundCall, database_pool, run_in_background
from nvr_console.ui.formatting import human_duration, human_rate, human_size
from nvr_console.ui.google_account import destination_text

DB_CHECK_MS = 30_000
DRIVE_CHECK_MS = 60_000
DRIVE_NEAR = 0.9  # of drive.daily_limit: the label turns to a warning
DISK_CHECK_MS = 5_000
WARN = "color: #c62828; font-weight: bold;"
ATTENTION = "color: #c46a00;"


class ConsoleStatus(QObject):
    """The permanent labels of the main window's status bar and what keeps them current."""

    def __init__(self, bar: QStatusBar, db: Database, settings: Callable[[], Settings], engine_available: bool,
                 database_back: Callable[[], None]) -> None:
        """`settings()`: the console's current settings; `database_back()`: told when a check finds the database
        answering (the window lists its cameras again if the first listing failed)."""
        super().__init__(bar)
        self.db, self._settings, self._database_back = db, settings, database_back
        self.rotation_label = QLabel()
        self.queue_label = QLabel("Upload queue: —")
        self.drive_label = QLabel()  # bytes sent to Drive today, per account (Drive's day: Pacific time)
        self.disk_label = QLabel()
        self.db_label = QLabel()
        self.destination_label = QLabel()
        self.engine_label = QLabel("" if engine_available else "Engine not running: view only")
        for w in (self.rotation_label, self.destination_label, self.queue_label, self.drive_label, self.disk_label,
                  self.db_label, self.engine_label):
            bar.addPermanentWidget(w)
        self.disk_status: DiskStatus | None = None  # the engine's last word on the recordings disk
        self._db_check: BackgroundCall | None = None  # the database check in flight
        self._drive_check: BackgroundCall | None = None  # the Drive usage read in flight
        self.disk_timer = QTimer(self)
        self.disk_timer.setInterval(DISK_CHECK_MS)
        self.disk_timer.timeout.connect(self.update_disk)
        self.disk_timer.start()
        self.db_timer = QTimer(self)
        self.db_timer.setInterval(DB_CHECK_MS)
        self.db_timer.timeout.connect(self.check_database)
        self.db_timer.start()
        self.drive_timer = QTimer(self)
        self.drive_timer.setInterval(DRIVE_CHECK_MS)
        self.drive_timer.timeout.connect(self.check_drive_usage)
        self.drive_timer.start()

    def show_rotation(self) -> None:
        """When the next file starts (every second)."""
        rec = self._settings().recording
        now = now_in(rec.zone())
        nxt = next_boundary(now, rec.segment_length)
        self.rotation_label.setText(f"Next file in {human_duration((nxt - now).total_seconds())} "
                                    f"({nxt.strftime('%H:%M')})")

    def show_destination(self) -> None:
        """The words for where finished files go (ui.google_account)."""
        text, tip, attention = destination_text(self._settings())
        self.destination_label.setText(text)
        self.destination_label.setToolTip(tip)
        self.destination_label.setStyleSheet(ATTENTION if attention else "")

    def show_queue(self, q: QueueStatus) -> None:
        text = f"Upload queue: {q.files} file(s), {human_size(q.bytes)}"
        if q.rate_bps:
            text += f", {human_rate(q.rate_bps)}"
        if q.paused:
            text += " — PAUSED"
        elif q.accounts_waiting:
            text += " — an account waits"
        self.queue_label.setStyleSheet("color: #c46a00; font-weight: bold;" if q.paused else
                                       ATTENTION if q.accounts_waiting else "")
        self.queue_label.setToolTip(q.reason if q.paused else q.accounts_waiting)
        self.queue_label.setText(text)

    def show_control_station(self) -> None:
        self.engine_label.setText("Control station: records nothing here")
        self.engine_label.setToolTip("The cameras are recorded by the recorder nodes (Nodes tab); Start and Stop "
                                     "ask the node that holds the camera. Settings: Record on this node.")

    def on_disk_status(self, disk: DiskStatus) -> None:
        """Slot for Engine.disk_status: what the engine keeps free, which says when the disk counts as low."""
        self.disk_status = disk
        self.update_disk()

    def update_disk(self) -> None:
        settings = self._settings()
        folder = Path(settings.recording.dir)
        probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if probe is None:
            self.disk_label.setText("Disk: ?")
            return
        free = shutil.disk_usage(probe).free
        engine = self.disk_status
        # A recording engine keeps more than retention.min_free_space free when its cameras' next segments need
        # it; before it has said so (or on a control station), the setting is the line.
        keep, why = ((engine.keep, engine.why) if engine is not None
                     else (settings.retention.min_free_space, "retention.min_free_space"))
        low = free < keep
        self.disk_label.setText(f"Disk free: {human_size(free)}")
        self.disk_label.setStyleSheet(WARN if low else "")
        self.disk_label.setToolTip(
            f"{probe}: under the {human_size(keep)} kept free ({why}); verified copies are deleted oldest first, "
            "and recording stops if there is still no room" if low else f"{probe}: {human_size(keep)} kept free ({why})"
        )

    def check_drive_usage(self) -> None:
        """Read today's Drive usage (every node's uploads) on the database pool and show it; nothing while files
        do not go to Drive. A read still waiting for its answer is not doubled."""
        settings = self._settings()
        if settings.effective_destination() != "drive":
            self.drive_label.setText("")
            return
        if self._drive_check is not None:
            return
        db = self.db

        def ok(used: dict[str, int]) -> None:
            self._drive_check = None
            self.show_drive_usage(used, settings.drive.account_names(), settings.drive.daily_limit)

        def failed(_msg: str) -> None:
            self._drive_check = None  # the database label says what is wrong

        self._drive_check = run_in_background(lambda: drive_usage.used_today(db), ok, failed, pool=database_pool(),
                                              context=self)

    def show_drive_usage(self, used: dict[str, int], accounts: tuple[str, ...], limit: int) -> None:
        """'Drive today: 312 GiB of 698 GiB' (the fullest account's, when there are several); each account in
        the tooltip."""
        names = list(accounts) + sorted(set(used) - set(accounts))
        fullest = max(names, key=lambda a: used.get(a, 0))
        near = used.get(fullest, 0) >= DRIVE_NEAR * limit
        who = f" ({fullest})" if len(names) > 1 else ""
        self.drive_label.setText(f"Drive today{who}: {human_size(used.get(fullest, 0))} of {human_size(limit)}")
        self.drive_label.setStyleSheet(WARN if near else "")
        self.drive_label.setToolTip(
            "Uploaded to Google Drive today (Drive's day, Pacific time), every node together; Drive takes "
            f"{human_size(limit)} per account a day (drive.daily_limit):\n"
            + "\n".join(f"{a}: {human_size(used.get(a, 0))}" for a in names))

    def check_database(self) -> None:
        """A connection check on the database pool (a remote server may take seconds); a check still
        waiting for its answer is not doubled."""
        if self._db_check is not None:
            return

        def ok(_: object) -> None:
            self._db_check = None
            self.db_label.setText("Database: OK")
            self.db_label.setStyleSheet("")
            self.db_label.setToolTip(self.db.display_url)
            self._database_back()

        def failed(msg: str) -> None:
            self._db_check = None
            self.db_label.setText("Database: unavailable")
            self.db_label.setStyleSheet(WARN)
            self.db_label.setToolTip(msg)

        self._db_check = run_in_background(self.db.check_connection, ok, failed, pool=database_pool(), context=self)
