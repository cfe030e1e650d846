"""The UI's only way to command the engine: queued signals, never direct calls across threads.

`EngineCommands` lives on the UI thread. Its signals are connected to the engine's slots; because the
engine object lives in its own QThread, Qt queues each call into the engine's event loop. Upload
commands (retry, resume) go through the same object so the uploads view needs no engine reference. Both
engines implement core.engine_api.EngineApi: the connections below name attributes, checked by mypy.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal

from nvr_console.core.engine_api import EngineApi

QUEUED = Qt.ConnectionType.QueuedConnection


class EngineCommands(QObject):
    """Requests from the console to the engine. UI thread; every emit is queued to the engine thread."""

    start_requested = Signal()
    shutdown_requested = Signal()
    start_camera_requested = Signal(int)
    stop_camera_requested = Signal(int)
    remove_camera_requested = Signal(int)  # the engine stops it, finalizes its last file, deletes its row
    start_all_requested = Signal()
    stop_all_requested = Signal()
    reload_requested = Signal()
    status_requested = Signal()
    retry_upload_requested = Signal(int)  # recording id
    resume_uploads_requested = Signal()
    settings_changed = Signal(object)  # a new core.config.Settings
    account_changed_requested = Signal()  # signed in to (or out of) Google: uploads start again

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.removes_cameras = False  # the engine removes cameras itself (else the console greys Remove)

    def connect_engine(self, engine: EngineApi) -> None:
        """Wire every command to the engine's slot with a queued connection. UI thread."""
        self.removes_cameras = engine.removes_cameras
        self.start_requested.connect(engine.start, QUEUED)
        self.shutdown_requested.connect(engine.shutdown, QUEUED)
        self.start_camera_requested.connect(engine.start_camera, QUEUED)
        self.stop_camera_requested.connect(engine.stop_camera, QUEUED)
        self.remove_camera_requested.connect(engine.remove_camera, QUEUED)
        self.start_all_requested.connect(engine.start_all, QUEUED)
        self.stop_all_requested.connect(engine.stop_all, QUEUED)
        self.reload_requested.connect(engine.reload, QUEUED)
        self.status_requested.connect(engine.request_status, QUEUED)
        self.retry_upload_requested.connect(engine.retry_upload, QUEUED)
        self.resume_uploads_requested.connect(engine.resume_uploads, QUEUED)
        self.settings_changed.connect(engine.apply_settings, QUEUED)
        self.account_changed_requested.connect(engine.account_changed, QUEUED)


class EngineEvents(QObject):
    """The engine's signals, re-emitted on the UI thread so widgets connect to one stable object.

    Whether the engine runs in this process, is replaced after a restart, or is a test double, views
    connect here once. UI thread.
    """

    camera_status = Signal(object)  # CameraStatus
    camera_removed = Signal(int)
    recording_finished = Signal(object)  # RecordingEvent
    recording_ready = Signal(int)
    upload_progress = Signal(object)  # UploadProgress
    queue_status = Signal(object)  # QueueStatus
    disk_status = Signal(object)  # DiskStatus (a recording engine only)
    log_line = Signal(object)  # LogLine
    started = Signal()
    stopped = Signal()

    def connect_engine(self, engine: EngineApi) -> None:
        """Forward the engine's signals (queued: they arrive from the engine thread; signal to signal, so the
        receiver is this object and delivery happens in the UI thread). UI thread."""
        engine.camera_status.connect(self.camera_status, QUEUED)
        engine.camera_removed.connect(self.camera_removed, QUEUED)
        engine.recording_finished.connect(self.recording_finished, QUEUED)
        engine.recording_ready.connect(self.recording_ready, QUEUED)
        engine.upload_progress.connect(self.upload_progress, QUEUED)
        engine.queue_status.connect(self.queue_status, QUEUED)
        engine.disk_status.connect(self.disk_status, QUEUED)
        engine.log_line.connect(self.log_line, QUEUED)
        engine.started.connect(self.started, QUEUED)
        engine.stopped.connect(self.stopped, QUEUED)
