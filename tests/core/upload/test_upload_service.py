"""The engine's uploads: one Uploader per settings, replaced on a change, its signals from one object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.status import QueueStatus, UploadProgress, UploadState
from nvr_console.core.upload.upload_service import UploadService
from tests.core.upload.conftest import Rec, row


def test_uploads_run_restart_with_new_settings_and_stop(
    qtbot: Any, settings_factory: Callable[..., Settings], db: Database, make_recording: Callable[..., Rec]
) -> None:
    service = UploadService(db)
    progress: list[UploadProgress] = []
    queue: list[QueueStatus] = []
    service.upload_progress.connect(progress.append)
    service.queue_status.connect(queue.append)
    first = make_recording()
    try:
        assert service.start(settings_factory(**{"upload.destination": "none"})) == ""
        service.wake()
        qtbot.waitUntil(lambda: any("uploads are off" in q.reason for q in queue), timeout=10_000)
        assert row(db, first.id).status == "ready"  # nothing goes anywhere

        # The console switches to the local archive: the running uploader is replaced and the file goes.
        settings = settings_factory(**{"upload.destination": "local", "retention.delete_after": "never"})
        assert service.start(settings) == ""
        qtbot.waitUntil(lambda: row(db, first.id).status == "uploaded", timeout=20_000)
        # The row is marked uploaded a moment before the worker thread emits the signal that says so.
        qtbot.waitUntil(lambda: any(p.recording_id == first.id and p.state is UploadState.UPLOADED
                                    for p in progress), timeout=20_000)
        assert list(settings.upload.local_dir.rglob("*.mp4"))
    finally:
        service.stop()
    second = make_recording(camera="side")
    service.wake()
    service.retry(second.id)
    service.resume()  # with no uploader these do nothing, and raise nothing
    assert row(db, second.id).status == "ready"


def test_uploads_off_in_the_engine_start_nothing(
    settings_factory: Callable[..., Settings], db: Database, make_recording: Callable[..., Rec]
) -> None:
    service = UploadService(db, enabled=False)
    rec = make_recording()
    assert service.start(settings_factory(**{"upload.destination": "local"})) == ""
    service.wake()
    service.stop()
    assert row(db, rec.id).status == "ready"
