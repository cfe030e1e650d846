"""Live camera and engine state in the database: engines write it at a modest rate, `status` and consoles read it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nvr_console.core.db.dbtime import db_now, read_now
from nvr_console.core.db.models import (
    Camera,
    CameraLiveStatus,
    EngineStatus,
    Node,
    Recording,
    RecordingStatus,
    Room,
)
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.fleet.leases import Holder, camera_holders
from nvr_console.core.status import CameraStatus, QueueStatus
from nvr_console.core.system.node_identity import node_name
from nvr_console.core.text.masking import mask_secrets

# A row older than this is shown as stale: its engine stopped reporting (crashed, or not running).
STALE_AFTER_S = 60.0


def write_statuses(db: Database, statuses: list[CameraStatus], node: str | None = None,
                   tokens: Mapping[int, int] | None = None) -> None:
    """Upsert one row per camera (called by the engine every few seconds, on its own thread).

    `tokens` (several nodes): {camera id: the lease token this node holds}. Only those cameras are written,
    and a row already written under a newer token is left alone (fencing): a node that lost a camera never
    overwrites its new holder's state. `updated_at` is the database's time.
    """
    if not statuses:
        return
    node = node or node_name()
    with db.session() as s:
        existing_ids = set(s.scalars(select(Camera.id).where(Camera.id.in_([st.camera_id for st in statuses]))))
        for st in statuses:
            if st.camera_id not in existing_ids:
                continue  # removed meanwhile
            token = tokens.get(st.camera_id) if tokens is not None else None
            if tokens is not None and token is None:
                continue  # not held by this node: its holder speaks for it
            values: dict[str, object] = {
                "node": node, "state": st.state.value, "since": datetime.fromtimestamp(st.since, UTC),
                "current_file": st.current_file, "file_size": st.file_size, "bitrate_kbps": st.bitrate_kbps,
                "last_error": mask_secrets(st.last_error), "stream": st.stream[:200], "updated_at": db_now(),
            }
            fence = [CameraLiveStatus.lease_token <= token] if token is not None else []
            if token is not None:
                values["lease_token"] = token
            if rows_changed(s, update(CameraLiveStatus).where(CameraLiveStatus.camera_id == st.camera_id, *fence)
                            .values(**values).execution_options(synchronize_session=False)):
                continue
            if s.get(CameraLiveStatus, st.camera_id) is not None:
                continue  # written under a newer token: not ours any more
            try:
                with s.begin_nested():
                    s.add(CameraLiveStatus(camera_id=st.camera_id, **({"lease_token": 0} | values)))
            except IntegrityError:
                pass  # another node wrote its first row at the same moment: its own word stands


def write_engine_status(db: Database, started_at: float, queue: QueueStatus | None, node: str | None = None) -> None:
    """Upsert this engine's own row: alive, and whether (and why) its upload queue is paused. Engine thread."""
    node = node or node_name()
    paused = bool(queue and queue.paused)
    with db.session() as s:
        row = s.get(EngineStatus, node) or EngineStatus(node=node, started_at=datetime.fromtimestamp(started_at, UTC))
        if paused and not row.uploads_paused:
            row.paused_since = db_now()  # the database's clock, as `status` judges it
        elif not paused:
            row.paused_since = None
        row.uploads_paused = paused
        row.pause_reason = mask_secrets(queue.reason) if paused and queue else ""
        row.updated_at = db_now()
        s.add(row)


@dataclass(frozen=True)
class PauseReport:
    node: str
    reason: str
    since: str | None


def current_pause(db: Database, now: datetime | None = None) -> PauseReport | None:
    """The upload queue of an engine reporting now is paused: which engine, why, since when. Any thread."""
    with db.session() as s:
        now = now or read_now(s)  # the rows' times are the database's
        rows = s.scalars(
            select(EngineStatus).where(EngineStatus.uploads_paused.is_(True)).order_by(EngineStatus.updated_at.desc())
        ).all()
        # A paused row of an engine that stopped reporting says nothing about now.
        for row in rows:
            if (now - row.updated_at).total_seconds() <= STALE_AFTER_S:
                since = row.paused_since.isoformat() if row.paused_since else None
                return PauseReport(row.node, row.pause_reason, since)
    return None


@dataclass(frozen=True)
class CameraReport:
    room: str
    camera: str
    enabled: bool
    desired_state: str
    state: str  # the engine's last word, "unknown" if none, "stale" if it stopped reporting, "offline" if the
    # node holding it is offline (its lease not yet taken over)
    since: str | None
    node: str | None  # the node holding the camera's lease (else the last to report on it)
    current_file: str
    file_size: int
    last_error: str
    updated_at: str | None
    lease_expires: str | None = None  # the holder's lease, database time
    node_alive: bool = False
    stream: str = ""  # what the camera sends, as its recorder's FFmpeg saw it ("" when not fresh)


@dataclass(frozen=True)
class QueueReport:
    waiting_files: int
    waiting_bytes: int
    uploading: int
    failed: int
    uploaded: int
    last_error: str
    paused_reason: str = ""  # an engine reporting now has its queue paused: why, as an operator sentence
    paused_node: str = ""
    paused_since: str | None = None
    # Waiting files on the disks of offline nodes: not lost, they upload when their node returns.
    offline_files: int = 0
    offline_nodes: tuple[str, ...] = ()


def read_report(db: Database, now: datetime | None = None) -> tuple[list[CameraReport], QueueReport]:
    """Every camera's reported state and the upload queue, for `nvr-console status`. Staleness is judged by
    the database's clock (the rows' times are its), unless `now` is given."""
    holders = camera_holders(db)
    with db.session() as s:
        now = now or read_now(s)
        cameras = _camera_reports(s, now, holders)
        queue = _queue_report(s)
    pause = current_pause(db, now)
    if pause is None:
        return cameras, queue
    return cameras, replace(queue, paused_reason=pause.reason, paused_node=pause.node, paused_since=pause.since)


def _camera_reports(s: Session, now: datetime, holders: dict[int, Holder]) -> list[CameraReport]:
    """Each camera with its live row (stale when not written lately) and its holder (offline when that node
    is gone)."""
    rows = s.execute(
        select(Camera, Room.name, CameraLiveStatus)
        .join(Room, Camera.room_id == Room.id)
        .outerjoin(CameraLiveStatus, CameraLiveStatus.camera_id == Camera.id)
        .order_by(Room.name, Camera.name)
    ).all()
    cameras = []
    for cam, room_name, live in rows:
        stream = ""
        if live is None:
            state, since, node, file, size, err, upd = "unknown", None, None, "", 0, "", None
        else:
            fresh = (now - live.updated_at).total_seconds() <= STALE_AFTER_S
            state = live.state if fresh else "stale"
            since, node, file, size = live.since.isoformat(), live.node, live.current_file, live.file_size
            err, upd = live.last_error, live.updated_at.isoformat()
            stream = live.stream if fresh else ""
        holder = holders.get(cam.id)
        lease_expires, node_alive = None, False
        if holder is not None and holder.node is not None:
            node, node_alive = holder.node, holder.node_alive and holder.live
            lease_expires = holder.lease_expires.isoformat() if holder.lease_expires else None
            if not holder.node_alive:
                state = "offline"
        cameras.append(CameraReport(room_name, cam.name, cam.enabled, cam.desired_state, state, since, node,
                                    file, size, err, upd, lease_expires, node_alive, stream))
    return cameras


def _queue_report(s: Session) -> QueueReport:
    """The upload queue's figures (not yet whether it is paused), with the files waiting on offline nodes."""
    counts: dict[str, int] = {
        status: n
        for status, n in s.execute(
            select(Recording.status, func.count(Recording.id)).group_by(Recording.status)
        ).tuples()
    }
    waiting = [RecordingStatus.READY.value, RecordingStatus.UPLOADING.value]
    waiting_bytes = s.scalar(select(func.coalesce(func.sum(Recording.size), 0)).where(Recording.status.in_(waiting)))
    waiting_by_node = s.execute(
        select(Recording.node, func.count(Recording.id)).where(Recording.status.in_(waiting)).group_by(Recording.node)
    ).all()
    offline = {name for (name,) in s.execute(select(Node.name).where(Node.expires_at <= db_now()))}
    last_error = s.scalar(
        select(Recording.last_error)
        .where(Recording.last_error.is_not(None), Recording.status != RecordingStatus.UPLOADED.value)
        .order_by(Recording.updated_at.desc())
        .limit(1)
    )
    return QueueReport(
        waiting_files=counts.get(RecordingStatus.READY.value, 0) + counts.get(RecordingStatus.UPLOADING.value, 0),
        waiting_bytes=int(waiting_bytes or 0),
        uploading=counts.get(RecordingStatus.UPLOADING.value, 0),
        failed=counts.get(RecordingStatus.FAILED.value, 0),
        uploaded=counts.get(RecordingStatus.UPLOADED.value, 0),
        last_error=mask_secrets(last_error or ""),
        offline_files=sum(n for node, n in waiting_by_node if node in offline),
        offline_nodes=tuple(sorted(node for node, n in waiting_by_node if node in offline and n)),
    )
