"""The engine's uploads: one Uploader started with the settings, replaced when they change, stopped with the
engine; its signals re-emitted from one stable object. Uploads failing to start never stop recording.

Engine thread (the Uploader's own threads do the work and emit from there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.session import Database
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.uploader import Uploader

log = logging.getLogger(__name__)


class UploadService(QObject):
    """Owns the current Uploader, if uploads are on. Engine thread."""

    upload_progress = Signal(object)  # UploadProgress
    queue_status = Signal(object)  # QueueStatus
    warning = Signal(str)  # loud operator warnings (disk nearly full), already logged

    def __init__(self, db: Database, parent: QObject | None = None, enabled: bool = True) -> None:
        super().__init__(parent)
        self.db = db
        self.enabled = enabled
        self._uploader: Uploader | None = None
        self._following = False

    def follow(self, holder: SettingsHolder, report: Callable[[str], None]) -> None:
        """Start with the holder's settings, and again whenever an upload or drive setting changes; a retention
        change reaches the running uploader. `report` is told why uploads are not running (or "")."""
        self._following = True
        holder.subscribe(("upload", "drive"), lambda s: report(self.start(s)) if self._following else None)
        holder.subscribe(("retention",), self._retention_changed)
        report(self.start(holder.current))

    def _retention_changed(self, settings: Settings) -> None:
        if self._uploader is not None:
            self._uploader.retention_changed(settings)

    def shutdown(self) -> None:
        """Stop for good: later settings start nothing."""
        self._following = False
        self.stop()

    def start(self, settings: Settings) -> str:
        """(Re)start uploading with these settings; returns why uploads are not running, or ""."""
        self.stop()
        if not self.enabled:
            return ""
        try:
            up = Uploader(settings, self.db, self, retention_space=False)  # the engine's DiskGuard keeps the disk
            up.upload_progress.connect(self.upload_progress)
            up.queue_status.connect(self.queue_status)
            up.warning.connect(self.warning)
            up.start()
        except Exception as exc:  # uploads failing to start never stop recording
            log.exception("uploader did not start")
            return f"uploads are not running: {mask_secrets(str(exc))}"
        self._uploader = up
        return ""

    def stop(self) -> None:
        """Stop the workers; an upload cut short resumes from the offset saved in its row at the next start."""
        if self._uploader is not None:
            self._uploader.stop(timeout_s=10)
            self._uploader = None

    def retry(self, recording_id: int) -> None:
        if self._uploader is not None:
            self._uploader.retry(recording_id)

    def resume(self) -> None:
        if self._uploader is not None:
            self._uploader.resume()

    def wake(self) -> None:
        """A recording became ready: idle workers look at the queue now."""
        if self._uploader is not None:
            self._uploader.wake()
