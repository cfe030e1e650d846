"""A real QObject with the engine's signals and slots (core.engine_api.EngineApi), for console tests that need
no FFmpeg: it records every command it receives (and the thread it ran on) and answers start/stop with the
CameraStatus the real engine would emit."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Signal, Slot

from nvr_console.core.status import CameraState, CameraStatus


class EngineDouble(QObject):
    camera_status = Signal(object)
    camera_removed = Signal(int)
    recording_finished = Signal(object)
    recording_ready = Signal(int)
    upload_progress = Signal(object)
    queue_status = Signal(object)
    disk_status = Signal(object)
    log_line = Signal(object)
    started = Signal()
    stopped = Signal()

    removes_cameras = True

    def __init__(self, cameras: dict[int, tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.cameras = dict(cameras or {})  # id -> (room, name)
        self.commands: list[tuple[str, int | None]] = []
        self.applied: list[object] = []  # every Settings received through apply_settings
        self.threads: list[int] = []  # the thread each command ran on

    def _got(self, command: tuple[str, int | None]) -> None:
        self.commands.append(command)
        self.threads.append(threading.get_ident())

    def status(self, camera_id: int, state: CameraState, **kw: object) -> CameraStatus:
        room, name = self.cameras[camera_id]
        st = CameraStatus(camera_id, room, name, state, since=time.time(), **kw)  # type: ignore[arg-type]
        self.camera_status.emit(st)
        return st

    @Slot()
    def start(self) -> None:
        self._got(("start", None))
        self.started.emit()

    @Slot()
    def shutdown(self) -> None:
        self._got(("shutdown", None))
        for cid in self.cameras:
            self.status(cid, CameraState.STOPPED)
        self.stopped.emit()

    @Slot(int)
    def start_camera(self, camera_id: int) -> None:
        self._got(("start_camera", camera_id))
        self.status(camera_id, CameraState.RECORDING, current_file="", file_started=time.time())

    @Slot(int)
    def stop_camera(self, camera_id: int) -> None:
        self._got(("stop_camera", camera_id))
        self.status(camera_id, CameraState.STOPPED)

    @Slot(int)
    def remove_camera(self, camera_id: int) -> None:
        self._got(("remove_camera", camera_id))
        self.cameras.pop(camera_id, None)
        self.camera_removed.emit(camera_id)

    @Slot()
    def start_all(self) -> None:
        self._got(("start_all", None))

    @Slot()
    def stop_all(self) -> None:
        self._got(("stop_all", None))

    @Slot()
    def reload(self) -> None:
        self._got(("reload", None))

    @Slot()
    def request_status(self) -> None:
        self._got(("request_status", None))

    @Slot(object)
    def apply_settings(self, settings: object) -> None:
        self._got(("apply_settings", None))
        self.applied.append(settings)

    @Slot()
    def account_changed(self) -> None:
        self._got(("account_changed", None))

    @Slot(int)
    def retry_upload(self, recording_id: int) -> None:
        self._got(("retry_upload", recording_id))

    @Slot()
    def resume_uploads(self) -> None:
        self._got(("resume_uploads", None))
