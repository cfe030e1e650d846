"""What a console sees of an engine: the recording engine (engine.Engine) and a control station's
(control_engine.ControlEngine) both implement `EngineApi`, which mypy checks where the console connects to
one (ui/engine_bridge.py): a slot renamed or missing in either engine fails the type check, not a menu item.

Every slot runs on the engine's own thread (the engine lives in a QThread; the console reaches it through
queued connections only). Every signal is emitted on the engine's thread and carries plain data
(core.status, core.config.Settings).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance

from nvr_console.core.config import Settings


class EngineApi(Protocol):
    """The signals and slots both engines have. Slots: engine thread."""

    camera_status: SignalInstance  # CameraStatus
    camera_removed: SignalInstance  # camera id
    recording_finished: SignalInstance  # RecordingEvent (never on a control station: it records nothing)
    recording_ready: SignalInstance  # recording id
    upload_progress: SignalInstance  # UploadProgress
    queue_status: SignalInstance  # QueueStatus
    disk_status: SignalInstance  # DiskStatus (never on a control station: it has no recordings disk)
    log_line: SignalInstance  # LogLine
    started: SignalInstance
    stopped: SignalInstance

    @property
    def removes_cameras(self) -> bool:
        """Whether `remove_camera` removes (a recording engine stops the recorder first); the console greys the
        action otherwise."""

    def start(self) -> None:
        """Begin; `started` follows. Engine thread."""

    def shutdown(self) -> None:
        """Stop cleanly; `stopped` follows. Engine thread."""

    def apply_settings(self, settings: Settings) -> None:
        """New settings saved by the console. Engine thread."""

    def account_changed(self) -> None:
        """The console signed in to (or out of) Google. Engine thread."""

    def start_camera(self, camera_id: int) -> None:
        """Operator: record this camera. Engine thread."""

    def stop_camera(self, camera_id: int) -> None:
        """Operator: stop this camera. Engine thread."""

    def remove_camera(self, camera_id: int) -> None:
        """Operator: remove this camera (see `removes_cameras`). Engine thread."""

    def start_all(self) -> None:
        """Operator: record every enabled camera. Engine thread."""

    def stop_all(self) -> None:
        """Operator: stop every camera. Engine thread."""

    def reload(self) -> None:
        """Read cameras and rooms again now. Engine thread."""

    def request_status(self) -> None:
        """Emit every camera's status (a console that just connected). Engine thread."""

    def retry_upload(self, recording_id: int) -> None:
        """Operator: upload this recording again. Engine thread."""

    def resume_uploads(self) -> None:
        """Operator: un-pause the upload queue. Engine thread."""
