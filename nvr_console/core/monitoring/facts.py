"""What the alert rules and metrics need from the database and the disk: a few bounded reads per check."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.config import Settings
from nvr_console.core.db.models import Camera, DesiredState, Recording, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.masking import mask_secrets
from nvr_console.core.retention import disk_free

log = logging.getLogger(__name__)

WAITING = (RecordingStatus.READY.value, RecordingStatus.UPLOADING.value)


@dataclass(frozen=True)
class NodeFacts:
    taken_at: float
    db_ok: bool = True
    db_error: str = ""
    wanted: dict[int, bool] = field(default_factory=dict)  # camera id -> enabled and started (cameras that exist)
    oldest_waiting_since: float | None = None  # epoch s the oldest file waiting for upload was finished
    reclaimable_bytes: int = 0  # verified uploads whose local copy retention may still delete
    disk_free: int | None = None  # bytes free on the recordings disk
    min_free_space: int = 0


def read_facts(settings: Settings, db: Database) -> NodeFacts:
    """Disk and database facts; a database error is reported in the result, never raised. Evaluator thread."""
    now = time.time()
    try:
        free: int | None = disk_free(Path(settings.recording.dir))
    except OSError:
        free = None
    try:
        with db.session() as s:
            wanted = {cid: bool(enabled and desired == DesiredState.RECORDING.value)
                      for cid, enabled, desired in s.execute(select(Camera.id, Camera.enabled, Camera.desired_state))}
            oldest = s.scalar(select(func.min(func.coalesce(Recording.end_time, Recording.created_at)))
                              .where(Recording.status.in_(WAITING)))
            reclaimable = s.scalar(select(func.coalesce(func.sum(Recording.size), 0)).where(
                Recording.status == RecordingStatus.UPLOADED.value, Recording.local_deleted_at.is_(None)))
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        log.debug("monitoring facts: database error: %s", exc)
        return NodeFacts(now, db_ok=False, db_error=mask_secrets(str(exc))[:300], disk_free=free,
                         min_free_space=settings.retention.min_free_space)
    return NodeFacts(
        now, wanted=wanted, oldest_waiting_since=oldest.timestamp() if oldest is not None else None,
        # Retention deletes verified copies by age (delete_after) or when space runs short (min_free_space).
        reclaimable_bytes=int(reclaimable or 0) if (settings.retention.delete_after is not None
                                                    or settings.retention.min_free_space > 0) else 0,
        disk_free=free, min_free_space=settings.retention.min_free_space,
    )
