"""The operator console's main window: live camera table, toolbar, status bar, uploads and log views.

Everything shown comes from engine signals (through EngineEvents); every action goes to the engine as a
queued command (EngineCommands) or to core.catalog for configuration. All methods: UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLineEdit,
    QMainWindow,
    QProgressDialog,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nvr_console import __version__
from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SECTIONS, SettingsHolder
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState, CameraStatus, LogLine, QueueStatus, UploadProgress
from nvr_console.ui.alarm_display import AlarmDisplay
from nvr_console.ui.background import database_pool, run_in_background
from nvr_console.ui.console_actions import Shortcut, console_action, main_toolbar
from nvr_console.ui.console_editors import ConsoleEditors
from nvr_console.ui.dialogs.quit_questions import ask_close, ask_quit, ask_remove, ask_stop_all, stopping_progress
from nvr_console.ui.engine_bridge import EngineCommands, EngineEvents
from nvr_console.ui.google_account import GoogleAccount
from nvr_console.ui.models.camera_table_filter import CameraFilter
from nvr_console.ui.models.camera_table_model import CameraTableModel, Column, Role
from nvr_console.ui.views.camera_table_view import CameraTableView
from nvr_console.ui.views.console_tabs import ConsoleTabs
from nvr_console.ui.widgets.alert_banner import AlertBanner
from nvr_console.ui.widgets.console_status import ConsoleStatus
from nvr_console.ui.widgets.tray import Tray
from nvr_console.ui.window_layout import restore_layout, save_layout

if TYPE_CHECKING:  # imported when thumbnails start: FFmpeg snapshots are not needed to open the window
    from nvr_console.core.monitoring.monitor import AlertNotice  # and by app.py, which starts the monitor
    from nvr_console.ui.live_previews import LivePreviews
    from nvr_console.ui.thumbnails import ThumbnailService

log = logging.getLogger(__name__)
SHUTDOWN_TIMEOUT_MS = 60_000  # recorders finish their files; FFmpeg's 'q' normally takes a second or two
# The live wall's decode threads end within a frame while playing, within their read timeout while connecting:
# waited for (bounded) so none is inside FFmpeg when the interpreter exits.
LIVE_STOP_WAIT_S = 3.0


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
        self.db, self.commands, self.events = db, commands, events
        # The console's settings: what uses them subscribes (core.config.holder); a save applies them here.
        self.settings_holder = SettingsHolder(settings, self)
        self.engine_available = engine_available
        self.ffmpeg = ffmpeg_for(settings)
        self._quitting = False
        self._shutdown_progress: QProgressDialog | None = None
        self._last_state: dict[int, CameraState] = {}
        self._queue_paused = False
        self._cameras_loaded = False  # the catalog has answered a camera listing at least once
        self.control_station = False  # this console records nothing; its engine commands the recorder nodes
        self.setWindowTitle(f"nvr-console {__version__}")

        self.model = CameraTableModel(self)
        self.proxy = CameraFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = CameraTableView(self.model, self.proxy)
        self.button_delegate, self.link_delegate = self.table.button_delegate, self.table.link_delegate
        self.button_delegate.clicked.connect(self.camera_command)
        self.table.activated.connect(self._activated)
        self.table.doubleClicked.connect(self._double_clicked)

        self.tabs = ConsoleTabs(settings, db, commands, self.model.names)
        self.uploads, self.logs, self.alerts = self.tabs.uploads, self.tabs.logs, self.tabs.alerts
        self.recordings, self.nodes, self.live = self.tabs.recordings, self.tabs.nodes, self.tabs.live
        self.nodes.overview_loaded.connect(self.table.show_nodes)

        self._build_central()

        self.editors = ConsoleEditors(self, db, self.settings_holder, lambda: self.ffmpeg,
                                      lambda: self.engine_available and not self.control_station)
        self.editors.catalog_changed.connect(self._after_catalog_change)
        self._build_actions()
        self._build_status_bar()
        self.tray = Tray.create(self, [self.start_all_action, self.stop_all_action], self.quit_action)
        self.alarms = AlarmDisplay(self, self.banner, self.tabs, self.alerts, self.tray,
                                   lambda: self.settings.alerts.sound)

        self._connect_events()
        self.second = QTimer(self)
        self.second.setInterval(1000)
        self.second.timeout.connect(self._every_second)
        self.second.start()

        self.thumbnails: ThumbnailService | LivePreviews | None = None  # started by start_thumbnails()
        self.reload_cameras()
        self.uploads.load_history(db)
        self.status.update_disk()
        self.status.check_database()
        self.status.check_drive_usage()
        self._every_second()
        restore_layout(self, self.table, self.splitter)

    # --- building --------------------------------------------------------------------------------

    def _build_central(self) -> None:
        """The camera table under its filter, over the tabs."""
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter rooms and cameras (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.set_text)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        self.banner = AlertBanner()  # shown while an alert fires that nobody acknowledged (ui.alarm_display)
        top_layout.addWidget(self.banner)
        top_layout.addWidget(self.filter_edit)
        top_layout.addWidget(self.table)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.setCentralWidget(self.splitter)

    def _connect_events(self) -> None:
        ev = self.events
        ev.camera_status.connect(self.on_camera_status)
        ev.camera_removed.connect(self.model.remove_camera)
        ev.camera_removed.connect(self.live.remove_camera)
        ev.recording_finished.connect(self.model.apply_recording)
        ev.recording_finished.connect(self.uploads.model.apply_recording)
        ev.upload_progress.connect(self.on_upload_progress)
        ev.queue_status.connect(self.on_queue_status)
        ev.disk_status.connect(self.status.on_disk_status)
        ev.log_line.connect(self.on_log_line)
        ev.stopped.connect(self._engine_stopped)

    def _action(self, text: str, icon: str, shortcut: Shortcut, slot: Callable[[], object], tip: str = "") -> QAction:
        return console_action(self, text, icon, shortcut, slot, tip)

    def _build_actions(self) -> None:
        self.start_all_action = self._action("Start &all", "mdi6.play-circle", "Ctrl+Shift+R",
                                             self.commands.start_all_requested.emit, "Start every enabled camera")
        self.stop_all_action = self._action("&Stop all", "mdi6.stop-circle", "Ctrl+Shift+S",
                                            self.stop_all, "Stop every camera (current files are finished)")
        self.add_camera_action = self._action("Add &camera", "mdi6.cctv", QKeySequence.StandardKey.New,
                                              self.add_camera)
        self.rooms_action = self._action("&Rooms", "mdi6.door", "Ctrl+Shift+O", self.editors.edit_rooms)
        self.settings_action = self._action("Se&ttings", "mdi6.cog", "Ctrl+,", self.editors.edit_settings)
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
        # Ctrl+Q itself: StandardKey.Quit is empty on Windows and under some platform themes (Cmd+Q on macOS).
        self.quit_action = self._action("&Quit", "mdi6.power", "Ctrl+Q", self.ask_and_quit,
                                        "Stop recording cleanly and quit")
        main_toolbar(self, (self.start_all_action, self.stop_all_action, None, self.add_camera_action,
                            self.rooms_action, self.settings_action, None, self.google_action))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        for a in (self.toggle_action, self.edit_action, self.log_action, self.remove_action):
            self.table.addAction(a)
        for a in (self.start_all_action, self.stop_all_action):
            a.setEnabled(self.engine_available)
        # Removing goes through the engine (it stops the recorder first); a view-only console cannot.
        self.remove_action.setEnabled(self.engine_available and self.commands.removes_cameras)
        self.google = GoogleAccount(self.google_action, lambda: self.settings, self)
        self.google.signed_in.connect(self.commands.account_changed_requested)
        self._follow_settings()

    @property
    def settings(self) -> Settings:
        return self.settings_holder.current

    def _follow_settings(self) -> None:
        """Who uses which settings on the UI thread; the engine gets every change (it applies the live ones)."""
        holder = self.settings_holder
        holder.subscribe(SECTIONS, self.commands.settings_changed.emit)
        holder.subscribe(("recording",), self._ffmpeg_settings)
        holder.subscribe(("drive", "upload"), lambda _s: self.update_google_action())
        holder.subscribe(("drive", "upload"), lambda _s: self.status.check_drive_usage())
        holder.subscribe(("recording", "retention"), lambda _s: self.status.update_disk())
        self.recordings.follow(holder)
        self.tabs.lectures.follow(holder)

    def _ffmpeg_settings(self, settings: Settings) -> None:
        self.ffmpeg = ffmpeg_for(settings)

    def _build_status_bar(self) -> None:
        self.status = ConsoleStatus(self.statusBar(), self.db, lambda: self.settings, self.engine_available,
                                    self._database_back)
        self.update_google_action()

    def _database_back(self) -> None:
        if not self._cameras_loaded:  # the first listing failed: the database is back, list again
            self.reload_cameras()

    def set_control_station(self) -> None:
        """This console records nothing (node.record false, --no-record, or the operator's answer at start): say
        so, and closing it never asks about stopping recordings (they go on, on the recorder nodes)."""
        self.control_station = True
        self.status.show_control_station()

    # --- engine events ---------------------------------------------------------------------------

    def on_camera_status(self, st: CameraStatus) -> None:
        self.model.apply_status(st)
        self.live.apply_status(st)
        prev = self._last_state.get(st.camera_id)
        self._last_state[st.camera_id] = st.state
        if prev is None:
            self.logs.add_camera(st.camera_id, f"{st.room} / {st.camera}")
        if st.state is CameraState.FAILED and prev is not CameraState.FAILED:
            self.notify(f"Camera {st.room} / {st.camera} failed", st.last_error or "see the log")

    def on_upload_progress(self, up: UploadProgress) -> None:
        self.model.apply_upload(up)
        self.uploads.model.apply_upload(up)

    def on_queue_status(self, q: QueueStatus) -> None:
        self.status.show_queue(q)
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
        self.status.show_rotation()
        if self.tray is not None:
            self.tray.set_overall(self.model.states())

    # --- commands ------------------------------------------------------------------------------

    def camera_command(self, camera_id: int, action: str) -> None:
        """A row's Start/Stop button. The row changes when the engine reports the new state."""
        if action == "stop":
            self.commands.stop_camera_requested.emit(camera_id)
        else:
            self.commands.start_camera_requested.emit(camera_id)

    def stop_all(self) -> None:
        if ask_stop_all(self):
            self.commands.stop_all_requested.emit()

    def selected_camera(self) -> int | None:
        return self.table.selected_camera()

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
        if index.column() == Column.PREVIEW:
            self.show_live(int(index.data(Role.CAMERA_ID)))
        elif index.column() == Column.STATE and index.data(Role.LAST_ERROR):
            self.show_selected_log()
        elif index.column() not in (Column.ACTION, Column.DRIVE):
            self.edit_selected()

    def show_live(self, camera_id: int) -> None:
        """One camera large on the Live tab (a double-click on its preview)."""
        self.tabs.setCurrentWidget(self.live)
        self.live.show_camera(camera_id)

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
        self.live.set_cameras(cams)
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
        return self.editors.add_camera()

    def edit_selected(self) -> None:
        cid = self.selected_camera()
        if cid is not None:
            self.editors.edit_camera(cid)

    def remove_selected(self) -> None:
        """Ask, then have the engine remove the camera: it stops the recorder, finalizes the last file and
        deletes the row; its `camera_removed` takes the row off the table. UI thread (no database call)."""
        cid = self.selected_camera()
        row = self.model.camera_row(cid) if cid is not None else None
        if row is None or not self.engine_available or not self.commands.removes_cameras:
            return
        if ask_remove(self, row.room, row.camera):
            self.commands.remove_camera_requested.emit(row.camera_id)

    def update_google_action(self, refresh: bool = False) -> None:
        """The Google action's label (ui.google_account; `refresh` asks Drive who is signed in again) and the
        status bar's words for where finished files go. UI thread."""
        self.google.update(refresh)
        self.status.show_destination()

    def google_account(self) -> None:
        """The Google action: sign in, or say who is signed in. UI thread."""
        self.google.activate()

    # --- state and shutdown ----------------------------------------------------------------------

    def save_state(self) -> None:
        save_layout(self, self.table, self.splitter)

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
        return ask_close(self, active, self.tray is not None)

    def ask_and_quit(self) -> None:
        """The Quit action (Ctrl+Q, the tray's menu): while cameras record, ask first, as closing does."""
        active = self.recording_count() if self.engine_available and not self.control_station else 0
        if not self._quitting and (not active or self.quit_question(active)):
            self.request_quit()

    def quit_question(self, active: int) -> bool:
        """Whether to quit although `active` cameras record (quitting stops them). Tests replace it."""
        return ask_quit(self, active)

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
            self.live.stop_all(wait_s=LIVE_STOP_WAIT_S)
            self.quit_ready.emit()
            return
        self._shutdown_progress = stopping_progress(self)
        QTimer.singleShot(SHUTDOWN_TIMEOUT_MS, self._engine_stopped)
        self.commands.shutdown_requested.emit()

    def _engine_stopped(self) -> None:
        if not self._quitting or self._shutdown_progress is None:
            return
        self._shutdown_progress.close()
        self._shutdown_progress = None
        self.thumbnails_stop()
        self.live.stop_all(wait_s=LIVE_STOP_WAIT_S)
        self.quit_ready.emit()

    def thumbnails_stop(self) -> None:
        if self.thumbnails is not None:
            self.thumbnails.stop()

    def start_thumbnails(self, interval_ms: int = 60_000) -> None:
        """The table's previews: from the files being written; on a control station, from the live decoder."""
        from nvr_console.ui.live_previews import start_previews

        self.thumbnails = start_previews(self, interval_ms)

