"""The operator console's main window: live camera table, toolbar, status bar, uploads and log views.

Everything shown comes from engine signals (through EngineEvents); every action goes to the engine as a
queued command (EngineCommands) or to core.catalog for configuration. All methods: UI thread.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nvr_console import __version__
from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.fleet.overview import FleetOverview
from nvr_console.core.schedule.boundaries import next_boundary, now_in
from nvr_console.core.status import CameraState, CameraStatus, DiskStatus, LogLine, QueueStatus, UploadProgress
from nvr_console.ui import camera_table_delegates
from nvr_console.ui.alerts_view import AlertsView
from nvr_console.ui.background import BackgroundCall, database_pool, run_in_background
from nvr_console.ui.camera_table_filter import CameraFilter
from nvr_console.ui.camera_table_model import CameraTableModel, Column, Role
from nvr_console.ui.engine_bridge import EngineCommands, EngineEvents
from nvr_console.ui.formatting import human_duration, human_rate, human_size
from nvr_console.ui.google_account import GoogleAccount, destination_text
from nvr_console.ui.log_view import LogView
from nvr_console.ui.nodes_view import NodesView
from nvr_console.ui.recordings_view import RecordingsView
from nvr_console.ui.tray import Tray
from nvr_console.ui.uploads_view import UploadsView

if TYPE_CHECKING:  # imported when thumbnails start: FFmpeg snapshots are not needed to open the window
    from nvr_console.core.monitoring.monitor import AlertNotice  # and by app.py, which starts the monitor
    from nvr_console.ui.thumbnails import ThumbnailService

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_MS = 60_000  # recorders finish their files; FFmpeg's 'q' normally takes a second or two
DB_CHECK_MS = 30_000
DISK_CHECK_MS = 5_000
HEADER_KEY = "main/cameraHeader2"  # the camera table's columns; "2" since the Node column (old layouts do not fit)


def ffmpeg_for(settings: Settings) -> str:
    """The FFmpeg the console runs for Test and thumbnails: the same rule as the engine's."""
    try:
        from nvr_console.core.recording.ffmpeg_locate import locate_tools

        return str(locate_tools(settings.recording.ffmpeg).ffmpeg)
    except Exception:  # the Test button then reports FFmpeg missing, in its own words
        return str(settings.recording.ffmpeg or "ffmpeg")


class MainWindow(QMainWindow):
    quit_ready = Signal()  # recorders are stopped (or the engine did not answer in time): the app may exit
    cameras_loaded = Signal(int)  # the catalog's camera listing arrived (number of cameras)
    notified = Signal(str, str)  # title, message: also what the tray shows

    def __init__(self, settings: Settings, db: Database, commands: EngineCommands, events: EngineEvents,
                 engine_available: bool = True) -> None:
        super().__init__()
        self.settings, self.db, self.commands, self.events = settings, db, commands, events
        self.engine_available = engine_available
        self.ffmpeg = ffmpeg_for(settings)
        self._quitting = False
        self._shutdown_progress: QProgressDialog | None = None
        self._last_state: dict[int, CameraState] = {}
        self._queue_paused = False
        self._db_check: BackgroundCall | None = None  # the database check in flight
        self._cameras_loaded = False  # the catalog has answered a camera listing at least once
        self._editing = False  # a camera's editor is being opened (its row is on its way from the catalog)
        self.control_station = False  # this console records nothing; its engine commands the recorder nodes
        self.setWindowTitle(f"nvr-console {__version__}")

        self.model = CameraTableModel(self)
        self.proxy = CameraFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setObjectName("cameraTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.ROOM, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setMouseTracking(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(40)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(Column.STATE, QHeaderView.ResizeMode.Stretch)
        for col, width in ((Column.PREVIEW, 76), (Column.ROOM, 110), (Column.CAMERA, 120), (Column.STREAM, 150),
                           (Column.NODE, 110), (Column.FILE, 190), (Column.UPLOAD, 190), (Column.DRIVE, 90),
                           (Column.ACTION, 80)):
            header.resizeSection(col, width)
        self.button_delegate, self.link_delegate = camera_table_delegates.install(self.table)
        self.button_delegate.clicked.connect(self.camera_command)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._double_clicked)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter rooms and cameras (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)

        self.uploads = UploadsView()
        self.uploads.model.camera_names = self._camera_names
        self.uploads.retry_requested.connect(self.commands.retry_upload_requested)
        self.uploads.resume_requested.connect(self.commands.resume_uploads_requested)
        self.logs = LogView()
        self.alerts = AlertsView(db)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.uploads, "&Uploads")
        self.tabs.addTab(self.logs, "&Log")
        self.tabs.addTab(self.alerts, "Ale&rts")
        # A day's coverage per camera, playback and export; it reads the database (off the UI thread) only once shown.
        self.recordings = RecordingsView(settings, db)
        self.tabs.addTab(self.recordings, "Re&cordings")
        # The machines sharing the database; its reads also fill the camera table's Node column.
        self.nodes = NodesView(db)
        self.nodes.overview_loaded.connect(self.on_fleet_overview)
        self.tabs.addTab(self.nodes, "&Nodes")

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.filter_edit)
        top_layout.addWidget(self.table)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)

        self._build_actions()
        self._build_status_bar()
        self.tray: Tray | None = None
        if Tray.available():
            self.tray = Tray(self, [self.start_all_action, self.stop_all_action], self.quit_action)
            self.tray.show()

        ev = self.events
        ev.camera_status.connect(self.on_camera_status)
        ev.camera_removed.connect(self.model.remove_camera)
        ev.recording_finished.connect(self.model.apply_recording)
        ev.recording_finished.connect(self.uploads.model.apply_recording)
        ev.upload_progress.connect(self.on_upload_progress)
        ev.queue_status.connect(self.on_queue_status)
        ev.disk_status.connect(self.on_disk_status)
        ev.log_line.connect(self.on_log_line)
        ev.stopped.connect(self._engine_stopped)

        self.second = QTimer(self)
        self.second.setInterval(1000)
        self.second.timeout.connect(self._every_second)
        self.second.start()
        self.disk_timer = QTimer(self)
        self.disk_timer.setInterval(DISK_CHECK_MS)
        self.disk_timer.timeout.connect(self.update_disk)
        self.disk_timer.start()
        self.db_timer = QTimer(self)
        self.db_timer.setInterval(DB_CHECK_MS)
        self.db_timer.timeout.connect(self.check_database)
        self.db_timer.start()

        self.thumbnails: ThumbnailService | None = None  # started by start_thumbnails()
        self.reload_cameras()
        self.uploads.load_history(db)
        self.update_disk()
        self.check_database()
        self._every_second()
        self._restore_state()

    # --- building --------------------------------------------------------------------------------

    def _action(self, text: str, icon: str, shortcut: QKeySequence | QKeySequence.StandardKey | str | None,
                slot: Callable[[], object], tip: str = "") -> QAction:
        import qtawesome

        action = QAction(qtawesome.icon(icon), text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip or text.replace('&', '')} ({action.shortcut().toString()})" if shortcut else tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the toolbar is hidden
        return action

    def _build_actions(self) -> None:
        self.start_all_action = self._action("Start &all", "mdi6.play-circle", "Ctrl+Shift+R",
                                             self.commands.start_all_requested.emit, "Start every enabled camera")
        self.stop_all_action = self._action("&Stop all", "mdi6.stop-circle", "Ctrl+Shift+S",
                                            self.stop_all, "Stop every camera (current files are finished)")
        self.add_camera_action = self._action("Add &camera", "mdi6.cctv", QKeySequence.StandardKey.New,
                                              self.add_camera)
        self.rooms_action = self._action("&Rooms", "mdi6.door", "Ctrl+Shift+O", self.edit_rooms)
        self.settings_action = self._action("Se&ttings", "mdi6.cog", "Ctrl+,", self.edit_settings)
        self.google_action = self._action("Google account", "mdi6.google-drive", "Ctrl+Shift+G", self.google_account)
        self.toggle_action = self._action("Start/stop camera", "mdi6.play-pause", "Ctrl+T", self.toggle_selected,
                                          "Start or stop the selected camera")
        self.edit_action = self._action("&Edit camera", "mdi6.pencil", "F2", self.edit_selected)
        self.remove_action = self._action("Remove camera", "mdi6.delete", QKeySequence.StandardKey.Delete,
                                          self.remove_selected)
        self.log_action = self._action("Camera &log", "mdi6.text-box-search", "Ctrl+L", self.show_selected_log,
                                       "Show the selected camera's log and its last FFmpeg error")
        self.filter_action = self._action("Filter", "mdi6.magnify", QKeySequence.StandardKey.Find,
                                          lambda: self.filter_edit.setFocus())
        self.quit_action = self._action("&Quit", "mdi6.power", QKeySequence.StandardKey.Quit, self.request_quit,
                                        "Stop recording cleanly and quit")
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.start_all_action, self.stop_all_action, None, self.add_camera_action, self.rooms_action,
                  self.settings_action, None, self.google_action):
            if a is None:
                toolbar.addSeparator()
            else:
                toolbar.addAction(a)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for a in (self.toggle_action, self.edit_action, self.log_action, self.remove_action):
            self.table.addAction(a)
        for a in (self.start_all_action, self.stop_all_action):
            a.setEnabled(self.engine_available)
        # Removing goes through the engine (it stops the recorder first); a view-only console cannot.
        self.remove_action.setEnabled(self.engine_available and self.commands.can("remove_camera_requested"))
        self.google = GoogleAccount(self.google_action, lambda: self.settings, self)
        self.google.signed_in.connect(lambda: self.commands.settings_changed.emit(self.settings))

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.rotation_label = QLabel()
        self.queue_label = QLabel("Upload queue: —")
        self.disk_label = QLabel()
        self._disk_status: DiskStatus | None = None  # the engine's last word on the recordings disk
        self.db_label = QLabel()
        self.destination_label = QLabel()
        self.engine_label = QLabel("" if self.engine_available else "Engine not running: view only")
        for w in (self.rotation_label, self.destination_label, self.queue_label, self.disk_label, self.db_label,
                  self.engine_label):
            bar.addPermanentWidget(w)
        self.update_google_action()

    def set_control_station(self) -> None:
        """This console records nothing (node.record false, --no-record, or the operator's answer at start): say
        so, and closing it never asks about stopping recordings (they go on, on the recorder nodes)."""
        self.control_station = True
        self.engine_label.setText("Control station: records nothing here")
        self.engine_label.setToolTip("The cameras are recorded by the recorder nodes (Nodes tab); Start and Stop "
                                     "ask the node that holds the camera. Settings: Record on this node.")

    # --- engine events ---------------------------------------------------------------------------

    def on_camera_status(self, st: CameraStatus) -> None:
        self.model.apply_status(st)
        prev = self._last_state.get(st.camera_id)
        self._last_state[st.camera_id] = st.state
        if prev is None:
            self.logs.add_camera(st.camera_id, f"{st.room} / {st.camera}")
        if st.state is CameraState.FAILED and prev is not CameraState.FAILED:
            self.notify(f"Camera {st.room} / {st.camera} failed", st.last_error or "see the log")

    def on_fleet_overview(self, overview: FleetOverview) -> None:
        """Who records each camera (Nodes view's read): the Node column, shown only when several machines share
        the database."""
        several = overview.several
        self.model.apply_nodes({cid: holder.text for cid, holder in overview.cameras.items()} if several else {})
        self.table.setColumnHidden(Column.NODE, not several)

    def _camera_names(self, camera_id: int) -> tuple[str, str] | None:
        row = self.model.camera_row(camera_id)
        return (row.room, row.camera) if row else None

    def on_upload_progress(self, up: UploadProgress) -> None:
        self.model.apply_upload(up)
        self.uploads.model.apply_upload(up)

    def on_queue_status(self, q: QueueStatus) -> None:
        text = f"Upload queue: {q.files} file(s), {human_size(q.bytes)}"
        if q.rate_bps:
            text += f", {human_rate(q.rate_bps)}"
        if q.paused:
            text += " — PAUSED"
            self.queue_label.setStyleSheet("color: #c46a00; font-weight: bold;")
            self.queue_label.setToolTip(q.reason)
        else:
            self.queue_label.setStyleSheet("")
            self.queue_label.setToolTip("")
        self.queue_label.setText(text)
        self.uploads.apply_queue(q)
        if q.paused and not self._queue_paused:
            self.notify("Uploads paused", q.reason or "the upload queue waits for the operator")
        self._queue_paused = q.paused

    def on_log_line(self, line: LogLine) -> None:
        self.logs.model.append(line)

    def on_alert(self, notice: AlertNotice) -> None:
        """A built-in alert fired, repeated or resolved (Monitor.notice): the desktop channel."""
        self.alerts.refresh()
        self.notify(notice.title, notice.text)

    def notify(self, title: str, message: str) -> None:
        self.notified.emit(title, message)
        if self.tray is not None:
            self.tray.notify(title, message)

    # --- periodic ------------------------------------------------------------------------------

    def _every_second(self) -> None:
        self.model.tick()
        rec = self.settings.recording
        now = now_in(rec.zone())
        nxt = next_boundary(now, rec.segment_length)
        self.rotation_label.setText(f"Next file in {human_duration((nxt - now).total_seconds())} "
                                    f"({nxt.strftime('%H:%M')})")
        if self.tray is not None:
            self.tray.set_overall(self.model.states())

    def on_disk_status(self, disk: DiskStatus) -> None:
        """Slot for Engine.disk_status: what the engine keeps free, which says when the disk counts as low."""
        self._disk_status = disk
        self.update_disk()

    def update_disk(self) -> None:
        folder = Path(self.settings.recording.dir)
        probe = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if probe is None:
            self.disk_label.setText("Disk: ?")
            return
        free = shutil.disk_usage(probe).free
        engine = self._disk_status
        # A recording engine keeps more than retention.min_free_space free when its cameras' next segments need
        # it; before it has said so (or on a control station), the setting is the line.
        keep, why = ((engine.keep, engine.why) if engine is not None
                     else (self.settings.retention.min_free_space, "retention.min_free_space"))
        low = free < keep
        self.disk_label.setText(f"Disk free: {human_size(free)}")
        self.disk_label.setStyleSheet("color: #c62828; font-weight: bold;" if low else "")
        self.disk_label.setToolTip(
            f"{probe}: under the {human_size(keep)} kept free ({why}); verified copies are deleted oldest first, "
            "and recording stops if there is still no room" if low else f"{probe}: {human_size(keep)} kept free ({why})"
        )

    def check_database(self) -> None:
        """A connection check on the database pool (a remote server may take seconds); a check still
        waiting for its answer is not doubled. UI thread."""
        if self._db_check is not None:
            return

        def ok(_: object) -> None:
            self._db_check = None
            self.db_label.setText("Database: OK")
            self.db_label.setStyleSheet("")
            self.db_label.setToolTip(self.db.display_url)
            if not self._cameras_loaded:  # the first listing failed: the database is back, list again
                self.reload_cameras()

        def failed(msg: str) -> None:
            self._db_check = None
            self.db_label.setText("Database: unavailable")
            self.db_label.setStyleSheet("color: #c62828; font-weight: bold;")
            self.db_label.setToolTip(msg)

        self._db_check = run_in_background(self.db.check_connection, ok, failed, pool=database_pool(), context=self)

    # --- commands ------------------------------------------------------------------------------

    def camera_command(self, camera_id: int, action: str) -> None:
        """A row's Start/Stop button. The row changes when the engine reports the new state."""
        if action == "stop":
            self.commands.stop_camera_requested.emit(camera_id)
        else:
            self.commands.start_camera_requested.emit(camera_id)

    def stop_all(self) -> None:
        answer = QMessageBox.question(self, "Stop all cameras",
                                      "Stop recording on every camera? Current files are finished and uploaded.")
        if answer == QMessageBox.StandardButton.Yes:
            self.commands.stop_all_requested.emit()

    def selected_camera(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() or (
            [self.table.currentIndex()] if self.table.currentIndex().isValid() else []
        )
        return int(rows[0].data(Role.CAMERA_ID)) if rows else None

    def toggle_selected(self) -> None:
        cid = self.selected_camera()
        row = self.model.row_of(cid) if cid is not None else None
        if cid is not None and row is not None:
            self.camera_command(cid, str(self.model.index(row, Column.ACTION).data(Role.ACTION)))

    def _activated(self, index: QModelIndex) -> None:
        """Enter on a cell: the button cell toggles, the link cell opens, anything else edits."""
        if index.column() == Column.ACTION:
            self.camera_command(int(index.data(Role.CAMERA_ID)), str(index.data(Role.ACTION)))
        elif index.column() == Column.DRIVE and index.data(Role.URL):
            self.link_delegate.open(index)

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.column() == Column.STATE and index.data(Role.LAST_ERROR):
            self.show_selected_log()
        elif index.column() not in (Column.ACTION, Column.DRIVE):
            self.edit_selected()

    def show_selected_log(self) -> None:
        cid = self.selected_camera()
        if cid is None:
            return
        self.logs.show_camera(cid)
        self.tabs.setCurrentWidget(self.logs)
        row = self.model.camera_row(cid)
        if row and row.status and row.status.last_error:
            self.statusBar().showMessage(f"{row.room} / {row.camera}: {row.status.last_error}", 15_000)

    def reload_cameras(self) -> None:
        """Rows for every configured camera, with each one's latest upload, listed on the database pool (the
        engine then reports their state). `cameras_loaded` says when they are in. UI thread."""
        db = self.db

        def listing() -> tuple[list[catalog.CameraInfo], list[UploadProgress]]:  # database pool thread
            return catalog.list_cameras(db), catalog.latest_uploads(db)

        run_in_background(listing, self._cameras_listed, self._cameras_not_listed, pool=database_pool(), context=self)

    def _cameras_listed(self, listing: tuple[list[catalog.CameraInfo], list[UploadProgress]]) -> None:
        cams, uploads = listing
        self.model.seed([(c.id, c.room, c.name) for c in cams])
        for c in cams:
            self.logs.add_camera(c.id, f"{c.room} / {c.name}")
        for up in uploads:
            self.model.apply_upload(up)
        self._cameras_loaded = True
        self.cameras_loaded.emit(len(cams))

    def _cameras_not_listed(self, message: str) -> None:
        self.statusBar().showMessage(f"The camera list could not be read: {message}", 30_000)

    def _after_catalog_change(self) -> None:
        self.reload_cameras()
        self.commands.reload_requested.emit()

    def add_camera(self) -> bool:
        from nvr_console.ui.camera_dialog import CameraDialog

        dialog = CameraDialog(self.db, self.ffmpeg, parent=self)
        if dialog.exec() and dialog.saved is not None:
            self._after_catalog_change()
            return True
        return False

    def edit_selected(self) -> None:
        """Open the selected camera's editor once the catalog (database pool) has answered. UI thread."""
        cid = self.selected_camera()
        if cid is None or self._editing:
            return
        self._editing = True  # a second F2 or double-click while the catalog answers opens no second editor
        db = self.db
        run_in_background(lambda: catalog.get_camera_by_id(db, cid), self._edit_camera, self._edit_failed,
                          pool=database_pool(), context=self)

    def _edit_failed(self, message: str) -> None:
        self._editing = False
        QMessageBox.warning(self, "Edit camera", message)

    def _edit_camera(self, info: catalog.CameraInfo | None) -> None:
        from nvr_console.ui.camera_dialog import CameraDialog

        self._editing = False
        if info is None:
            return  # removed meanwhile (the engine's camera_removed takes the row away)
        dialog = CameraDialog(self.db, self.ffmpeg, info, parent=self)
        if dialog.exec() and dialog.saved is not None:
            self._after_catalog_change()

    def remove_selected(self) -> None:
        """Ask, then have the engine remove the camera: it stops the recorder, finalizes the last file and
        deletes the row; its `camera_removed` takes the row off the table. UI thread (no database call)."""
        cid = self.selected_camera()
        row = self.model.camera_row(cid) if cid is not None else None
        if row is None or not self.engine_available or not self.commands.can("remove_camera_requested"):
            return
        answer = QMessageBox.question(self, "Remove camera",
                                      f"Remove camera {row.room} / {row.camera}? Its recordings and uploads stay.")
        if answer == QMessageBox.StandardButton.Yes:
            self.commands.remove_camera_requested.emit(row.camera_id)

    def edit_rooms(self) -> None:
        from nvr_console.ui.rooms_dialog import RoomsDialog

        dialog = RoomsDialog(self.db, self.ffmpeg, self, settings=self.settings)
        dialog.exec()
        if dialog.changed:
            self._after_catalog_change()

    def edit_settings(self) -> None:
        from nvr_console.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings, self, live=self.commands.can("settings_changed"))
        dialog.saved.connect(self._settings_saved)
        dialog.exec()

    def _settings_saved(self, _names: list[str]) -> None:
        from nvr_console.core.config import ConfigError, ConfigFileError

        try:
            # The same layers as at start (/etc, the user's file or --config, .env, variables, flags), read again.
            self.settings = self.settings.inputs.load()
        except (ConfigError, ConfigFileError) as exc:
            QMessageBox.warning(self, "Settings", str(exc))
            return
        self.commands.settings_changed.emit(self.settings)
        self.update_google_action()
        self.update_disk()

    def update_google_action(self, refresh: bool = False) -> None:
        """The Google action's label (ui.google_account; `refresh` asks Drive who is signed in again) and the
        status bar's words for where finished files go. UI thread."""
        self.google.update(refresh)
        text, tip, attention = destination_text(self.settings)
        self.destination_label.setText(text)
        self.destination_label.setToolTip(tip)
        self.destination_label.setStyleSheet("color: #c46a00;" if attention else "")

    def google_account(self) -> None:
        """The Google action: sign in, or say who is signed in. UI thread."""
        self.google.activate()

    # --- state and shutdown ----------------------------------------------------------------------

    def _restore_state(self) -> None:
        s = QSettings()
        if geometry := s.value("main/geometry"):
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 720)
        if state := s.value("main/state"):
            self.restoreState(state)
        if header := s.value(HEADER_KEY):
            self.table.horizontalHeader().restoreState(header)
        self.table.setColumnHidden(Column.NODE, True)  # until the first overview says several machines share it
        if splitter := s.value("main/splitter"):
            self.splitter.restoreState(splitter)

    def save_state(self) -> None:
        s = QSettings()
        s.setValue("main/geometry", self.saveGeometry())
        s.setValue("main/state", self.saveState())
        s.setValue(HEADER_KEY, self.table.horizontalHeader().saveState())
        s.setValue("main/splitter", self.splitter.saveState())
        s.sync()

    def recording_count(self) -> int:
        return sum(1 for s in self.model.states() if s is not None and s not in (CameraState.STOPPED,))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing while recording: keep recording in the tray, or stop everything cleanly."""
        if self._quitting:
            event.accept()
            return
        self.save_state()
        active = self.recording_count() if self.engine_available and not self.control_station else 0
        if not active:
            event.ignore()
            self.request_quit()
            return
        choice = self.close_question(active)
        event.ignore()
        if choice == "keep":
            self.hide()
            self.notify("nvr-console keeps recording", "Recording continues; the tray icon brings the console back.")
        elif choice == "stop":
            self.request_quit()

    def close_question(self, active: int) -> str:
        """Ask what closing means while cameras record: 'keep' (tray), 'stop' or 'cancel'. Tests replace it."""
        box = QMessageBox(self)
        box.setWindowTitle("Close nvr-console")
        box.setText(f"{active} camera(s) are recording.")
        keep = None
        if self.tray is not None:
            keep = box.addButton("Keep recording in the tray", QMessageBox.ButtonRole.AcceptRole)
        stop = box.addButton("Stop recording and quit", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if keep is not None and box.clickedButton() is keep:
            return "keep"
        return "stop" if box.clickedButton() is stop else "cancel"

    @property
    def quitting(self) -> bool:
        """A quit was asked (Quit action, SIGTERM/SIGINT, close choosing stop): recorders are being stopped."""
        return self._quitting

    def request_quit(self) -> None:
        """Stop recorders cleanly (files finalized) with a progress dialog, then emit quit_ready."""
        if self._quitting:
            return
        self._quitting = True
        self.save_state()
        if not self.engine_available:
            self.quit_ready.emit()
            return
        progress = QProgressDialog("Stopping recorders and finishing the current files…", "", 0, 0, self)
        progress.setWindowTitle("Quitting nvr-console")
        progress.setCancelButton(None)  # never kill recorders mid-file from here
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.show()
        self._shutdown_progress = progress
        QTimer.singleShot(SHUTDOWN_TIMEOUT_MS, self._engine_stopped)
        self.commands.shutdown_requested.emit()

    def _engine_stopped(self) -> None:
        if not self._quitting or self._shutdown_progress is None:
            return
        self._shutdown_progress.close()
        self._shutdown_progress = None
        self.thumbnails_stop()
        self.quit_ready.emit()

    def thumbnails_stop(self) -> None:
        if self.thumbnails is not None:
            self.thumbnails.stop()

    def start_thumbnails(self, interval_ms: int = 60_000) -> None:
        from nvr_console.ui.thumbnails import ThumbnailService

        def targets() -> list[tuple[int, str]]:
            out: list[tuple[int, str]] = []
            first = self.table.rowAt(0)
            last = self.table.rowAt(self.table.viewport().height() - 1)
            if first < 0:
                return out
            last = self.proxy.rowCount() - 1 if last < 0 else last
            for prow in range(first, last + 1):  # visible rows only: a thumbnail nobody sees costs nothing
                cid = int(self.proxy.index(prow, 0).data(Role.CAMERA_ID))
                row = self.model.camera_row(cid)
                if row and row.status and row.status.state is CameraState.RECORDING and row.status.current_file:
                    out.append((cid, row.status.current_file))
            return out

        self.thumbnails = ThumbnailService(self.ffmpeg, targets, self, interval_ms)
        self.thumbnails.ready.connect(self.model.set_thumbnail)
        self.thumbnails.start()

