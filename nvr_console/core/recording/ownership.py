"""Which recordings are this node's: the files on its own disk. Rows carry the node that recorded them
(`recordings.node`); start-up recovery, finalizing, uploads and retention act on those only.

Rows from before several nodes shared a database have no node (''). A node adopts such a row when its file
(the final MP4, or the raw segment it comes from) is on its disk; a row whose file is elsewhere is left for
the node that has it, never claimed for upload and marked lost here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.recording.segment_names import raw_path_for

log = logging.getLogger(__name__)

LEGACY = ""


def _here(local_path: str) -> bool:
    final = Path(local_path)
    try:
        return final.exists() or raw_path_for(final).exists()
    except ValueError:
        return False


def adopt_legacy_rows(db: Database, node: str, limit: int = 1000) -> int:
    """Give this node the rows without a node whose file is on its disk; returns how many. Any thread."""
    with db.session() as s:
        rows = s.execute(
            select(Recording.id, Recording.local_path)
            .where(Recording.node == LEGACY, Recording.status != RecordingStatus.LOST,
                   Recording.local_deleted_at.is_(None))
            .limit(limit)
        ).all()
    adopted = 0
    for rid, local_path in rows:
        if not _here(local_path):
            continue
        try:
            with db.session() as s:
                adopted += rows_changed(s, update(Recording).where(Recording.id == rid, Recording.node == LEGACY)
                                        .values(node=node).execution_options(synchronize_session=False))
        except IntegrityError:
            log.warning("recording %d: this node already has a row for %s; the older row is left as it is",
                        rid, local_path)
    if adopted:
        log.info("took charge of %d recording(s) from before several nodes shared the database (their files are "
                 "on this machine)", adopted)
    return adopted
