"""Local retention: only VERIFIED uploads (size and MD5 matched) ever lose their local file; a recording is
never deleted before that.

* `retention.delete_after` (seconds; None = keep): the local copy of a verified upload goes this long after
  the upload was verified (0 = at once).
* `retention.min_free_space`: when the recordings disk has less free space than this, verified copies are
  deleted oldest first until there is enough; if only unverified files are left, a loud warning says so and
  nothing more is deleted. A recording engine applies this rule itself, at once and with a larger target
  when its segments need it (disk_guard); `sweep(space=True)` serves an uploader running without one.

Runs on whichever thread calls it (the uploader's housekeeping thread, an upload worker right after a
verified upload, the disk guard's worker, or a CLI command); every deletion re-checks the row's status in
the same transaction.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Select, func, select

from nvr_console.core.config import Settings
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.db.types import utcnow
from nvr_console.core.recording.ownership import adopt_legacy_rows
from nvr_console.core.text.sizes import format_size

log = logging.getLogger(__name__)

UPLOADED = RecordingStatus.UPLOADED.value


@dataclass
class RetentionReport:
    deleted: list[int] = field(default_factory=list)  # recording ids whose local file went
    freed_bytes: int = 0
    free_bytes: int | None = None  # free space after the sweep (None when not measured)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpaceReport:
    """What one `free_space` pass found and did."""

    target: int
    free_before: int
    free_after: int
    deleted: tuple[int, ...]  # recording ids whose local copy went, oldest first
    freed_bytes: int
    waiting: int  # recordings kept because they are not verified yet (counted only when still short)
    waiting_bytes: int

    @property
    def short(self) -> bool:
        """Still under the target after deleting every verified copy there was."""
        return self.free_after < self.target


def disk_free(path: Path) -> int:
    """Free bytes on the file system holding `path` (or its nearest existing parent)."""
    p = path
    while not p.exists() and p.parent != p:
        p = p.parent
    return shutil.disk_usage(p).free


def delete_local_copy(db: Database, recording_id: int, node: str | None = None) -> int:
    """Delete the local file of one verified upload; returns the bytes freed (0 if not allowed or gone).

    Refuses anything whose status is not `uploaded` or that has no MD5 (never verified), and, with `node`,
    another node's recording (its file is on that node's disk, not this one's).
    """
    with db.session() as s:
        rec = s.get(Recording, recording_id, with_for_update=True)
        if rec is None or rec.status != UPLOADED or not rec.md5 or rec.local_deleted_at is not None:
            return 0
        if node is not None and rec.node != node:
            return 0
        path = Path(rec.local_path)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            size = 0
        except OSError as exc:
            log.warning("could not delete the uploaded recording %s: %s", path, exc.strerror or exc)
            return 0
        rec.local_deleted_at = utcnow()
        log.info("deleted local copy of verified upload %s (%s)", path, format_size(size) if size else "gone")
        return size


def verified_copies(node: str) -> Select[tuple[int]]:
    """This node's recordings whose upload was verified and whose local copy is still there, oldest first: the
    only ones any rule here may delete (another node's files are on its own disk)."""
    return (select(Recording.id)
            .where(Recording.node == node, Recording.status == UPLOADED, Recording.local_deleted_at.is_(None))
            .order_by(Recording.slot_start, Recording.id))


def free_space(db: Database, folder: Path, target: int, node: str, *,
               free_bytes: Callable[[Path], int] = disk_free) -> SpaceReport:
    """Delete this node's verified copies, oldest first, until `folder`'s disk has `target` bytes free or none
    is left. Never anything else. Any thread (it blocks on the database and the disk)."""
    free = before = free_bytes(folder)
    deleted: list[int] = []
    freed = 0
    if free < target:
        with db.session() as s:
            verified = list(s.scalars(verified_copies(node)))
        report = RetentionReport()
        for rid in verified:
            _delete(db, rid, report, node)
            free = free_bytes(folder)
            if free >= target:
                break
        deleted, freed = report.deleted, report.freed_bytes
    waiting, waiting_bytes = 0, 0
    if free < target:
        with db.session() as s:
            waiting, waiting_bytes = s.execute(
                select(func.count(Recording.id), func.coalesce(func.sum(Recording.size), 0)).where(
                    Recording.node == node, Recording.status != UPLOADED, Recording.local_deleted_at.is_(None)
                )
            ).one()
    return SpaceReport(target, before, free, tuple(deleted), freed, int(waiting), int(waiting_bytes))


def sweep(
    settings: Settings,
    db: Database,
    *,
    now: datetime | None = None,
    free_bytes: Callable[[Path], int] = disk_free,
    space: bool = True,
) -> RetentionReport:
    """Apply both rules once, to this node's recordings (the files on its own disk; `space=False`: only
    delete_after, for an uploader whose engine keeps the disk itself). Returns what was done and any warning
    for the operator."""
    now = now or utcnow()
    report = RetentionReport()
    node = settings.node.name
    adopt_legacy_rows(db, node)
    delay = settings.retention.delete_after
    if delay is not None:
        cutoff = now - timedelta(seconds=delay)
        with db.session() as s:
            due = list(s.scalars(
                select(Recording.id)
                .where(Recording.node == node, Recording.status == UPLOADED, Recording.local_deleted_at.is_(None),
                       Recording.uploaded_at <= cutoff)
                .order_by(Recording.slot_start)
            ))
        for rid in due:
            _delete(db, rid, report, node)

    minimum = settings.retention.min_free_space
    if minimum <= 0 or not space:
        return report
    folder = settings.recording.dir
    done = free_space(db, folder, minimum, node, free_bytes=free_bytes)
    report.deleted += done.deleted
    report.freed_bytes += done.freed_bytes
    if done.short:
        msg = (
            f"DISK NEARLY FULL: {format_size(done.free_after)} free on {folder}, "
            f"below retention.min_free_space ({format_size(minimum)}); {done.waiting} recording(s) "
            f"({format_size(done.waiting_bytes)}) are not uploaded yet and are kept. Free space, fix "
            "the uploads, or lower retention.min_free_space; recording may stop when the disk is full"
        )
        log.warning(msg)
        report.warnings.append(msg)
    report.free_bytes = done.free_after
    return report


def _delete(db: Database, rid: int, report: RetentionReport, node: str) -> None:
    freed = delete_local_copy(db, rid, node)
    with db.session() as s:
        gone = s.scalar(select(Recording.local_deleted_at).where(Recording.id == rid)) is not None
    if gone:
        report.deleted.append(rid)
        report.freed_bytes += freed

