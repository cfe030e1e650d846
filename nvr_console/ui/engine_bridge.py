"""The UI's only way to command the engine: queued signals, never direct calls across threads.

`EngineCommands` lives on the UI thread. Its signals are connected to the engine's slots; because the
engine object lives in its own QThread, Qt queues each call into the engine's event loop. Upload
commands (retry, resume) go through the same object so the uploads view needs no engine reference.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)

# command signal -> names of the engine slot it may reach (first one that exists wins)
_COMMANDS: dict[str, tuple[str, ...]] = {
    "start_requested": ("start",),
    "shutdown_requested": ("shutdown",),
    "start_camera_requested": ("start_camera",),
    "stop_camera_requested": ("stop_camera",),
    "remove_camera_requested": ("remove_camera",),
    "start_all_requested": ("start_all",),
    "stop_all_requested": ("stop_all",),
    "reload_requested": ("reload",),
    "status_requested": ("request_status",),
    "retry_upload_requested": ("retry_upload", "retry"),
    "resume_uploads_requested": ("resume_uploads", "resume"),
    "settings_changed": ("apply_settings",),
}

# engine signal -> name of the EngineEvents signal re-emitted on the UI thread
_EVENTS = (
    "camera_status", "camera_removed", "recording_finished", "recording_ready", "upload_progress",
    "queue_status", "disk_status", "log_line", "started", "stopped",
)


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

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.missing: list[str] = []  # engine slots that do not exist (yet): the UI greys those actions

    def connect_engine(self, engine: QObject) -> None:
        """Wire every command to the engine's slot with a queued connection. UI thread."""
        self.missing = []
        for signal_name, slot_names in _COMMANDS.items():
            slot = next((getattr(engine, n) for n in slot_names if callable(getattr(engine, n, None))), None)
            if slot is None:
                self.missing.append(signal_name)
                continue
            getattr(self, signal_name).connect(slot, Qt.ConnectionType.QueuedConnection)
        if self.missing:
            log.info("engine has no slot for %s", ", ".join(self.missing))

    def can(self, signal_name: str) -> bool:
        return signal_name not in self.missing


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

    def connect_engine(self, engine: QObject) -> None:
        """Forward the engine's signals (queued: they arrive from the engine thread). UI thread."""
        for name in _EVENTS:
            source = getattr(engine, name, None)
            if source is not None:
                # signal-to-signal: the receiver is this object, so delivery happens in the UI thread
                source.connect(getattr(self, name), Qt.ConnectionType.QueuedConnection)
