"""What the alert rules and metrics need from the database and the disk: a few bounded reads per check.

Recordings are counted for this node only (each node uploads and frees the files on its own disk); the nodes
sharing the database are read whole (a few rows): whether each is alive, how many leases it holds, the age
of its oldest waiting file.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from nvr_console.core.config import Settings
from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Alert, Camera, CameraLease, DesiredState, Node, Recording, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.retention import disk_free
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.drive_usage import AccountBudget, budgets

log = logging.getLogger(__name__)

WAITING = (RecordingStatus.READY.value, RecordingStatus.UPLOADING.value)
UPLOADED = RecordingStatus.UPLOADED.value
NODE_GONE_KEY = "node_gone:node:"  # rules.NODE_GONE's alert keys: the prefix, then the node's name


@dataclass(frozen=True)
class PeerNode:
    """A node sharing the database (this one included), as the database sees it now."""

    name: str
    role: str  # NodeRole value
    alive: bool  # its registration has not expired
    stopped: bool  # it left with a clean stop (not dead)
    expired_for: float  # seconds since its registration expired, by the database's clock (0 while alive)
    leases: int  # units (cameras, rooms with sound) it holds a live lease for
    oldest_waiting_since: float | None  # epoch s its oldest file waiting for upload was finished


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
    nodes: tuple[PeerNode, ...] = ()
    node_gone_open: frozenset[str] = frozenset()  # nodes a node_gone alert is open for
    # Drive's daily budget per Google account (every node's uploads and cameras), when files go to Drive.
    drive: tuple[AccountBudget, ...] = ()


def read_facts(settings: Settings, db: Database, node: str | None = None) -> NodeFacts:
    """Disk and database facts of node `node` (default `node.name`); a database error is reported in the
    result, never raised. Evaluator thread."""
    now = time.time()
    node = settings.node.name if node is None else node
    try:
        free: int | None = disk_free(Path(settings.recording.dir))
    except OSError:
        free = None
    try:
        with db.session() as s:
            wanted = {cid: bool(enabled and desired == DesiredState.RECORDING.value)
                      for cid, enabled, desired in s.execute(select(Camera.id, Camera.enabled, Camera.desired_state))}
            oldest_by_node = {n: t for n, t in s.execute(
                select(Recording.node, func.min(func.coalesce(Recording.end_time, Recording.created_at)))
                .where(Recording.status.in_(WAITING)).group_by(Recording.node))}
            oldest = oldest_by_node.get(node)
            reclaimable = s.scalar(select(func.coalesce(func.sum(Recording.size), 0)).where(
                Recording.node == node, Recording.status == UPLOADED, Recording.local_deleted_at.is_(None)))
            nodes = _nodes(s, oldest_by_node)
            gone_open = frozenset(k.removeprefix(NODE_GONE_KEY) for k in s.scalars(
                select(Alert.open_key).where(Alert.open_key.like(f"{NODE_GONE_KEY}%"))) if k)
        drive = tuple(budgets(settings, db)) if settings.effective_destination() == "drive" else ()
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        log.debug("monitoring facts: database error: %s", exc)
        return NodeFacts(now, db_ok=False, db_error=mask_secrets(str(exc))[:300], disk_free=free,
                         min_free_space=settings.retention.min_free_space)
    return NodeFacts(
        now, wanted=wanted, oldest_waiting_since=oldest.timestamp() if oldest is not None else None,
        # Retention deletes verified copies by age (delete_after) or when space runs short (min_free_space).
        reclaimable_bytes=int(reclaimable or 0) if (settings.retention.delete_after is not None
                                                    or settings.retention.min_free_space > 0) else 0,
        disk_free=free, min_free_space=settings.retention.min_free_space, nodes=nodes, node_gone_open=gone_open,
        drive=drive,
    )


def _nodes(s: Session, oldest_by_node: dict[str, datetime]) -> tuple[PeerNode, ...]:
    held = {holder: int(n) for holder, n in s.execute(select(CameraLease.holder, func.count()).where(
        CameraLease.holder.is_not(None), CameraLease.expires_at > db_now()).group_by(CameraLease.holder))}
    out = []
    for name, role, expires, stopped, now in s.execute(
            select(Node.name, Node.role, Node.expires_at, Node.stopped_at, db_now()).order_by(Node.name)):
        oldest = oldest_by_node.get(name)
        out.append(PeerNode(name, role, expires > now, stopped is not None,
                            max(0.0, (now - expires).total_seconds()), held.get(name, 0),
                            oldest.timestamp() if oldest is not None else None))
    return tuple(out)
