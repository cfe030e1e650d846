"""The node registry: who is in the fleet, alive (by the database's clock), and how loaded.

One row per node name (`node.name`). A process registers under its node's name; a second live process
with the same recorder name is refused (two recorders under one name would both believe they hold the
same leases). A restarted node takes its dead predecessor's row over. Control stations record nothing,
so a clash of their name just gets a `-console` suffix.
"""

from __future__ import annotations

import socket
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nvr_console.core.catalog import NotFound
from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import CameraLease, EngineStatus, Node, NodeRole, Recording, RecordingStatus
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.system.node_identity import dead_local_node, node_name

# Rows of a node that are "dealt with": nothing left on its disk that the fleet still needs from it.
SETTLED = (RecordingStatus.UPLOADED.value, RecordingStatus.FAILED.value, RecordingStatus.LOST.value)


class NodeNameInUse(RuntimeError):
    """Another live process records under this node name; `str()` says which and what to do."""


@dataclass(frozen=True)
class NodeStats:
    """What a node reports with each heartbeat."""

    cameras_held: int = 0
    free_disk: int | None = None
    queue_files: int = 0
    queue_bytes: int = 0


@dataclass(frozen=True)
class NodeInfo:
    name: str
    role: str
    process: str
    host: str
    version: str
    started_at: datetime
    heartbeat_at: datetime
    expires_at: datetime
    alive: bool
    seconds_since_heartbeat: float  # by the database's clock
    lease_ttl: float
    max_cameras: int
    cameras_held: int
    free_disk: int | None
    queue_files: int
    queue_bytes: int
    draining: bool
    uploads_paused: bool
    pause_reason: str

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("started_at", "heartbeat_at", "expires_at"):
            d[k] = d[k].isoformat()
        return d


def register(db: Database, name: str, role: NodeRole | str, *, lease_ttl: float, max_cameras: int = 0,
             version: str = "", process: str | None = None, stats: NodeStats | None = None) -> str:
    """Register (or re-register) this process as node `name`; returns the name registered under.

    Raises NodeNameInUse when a live recorder of another process has the name. Any thread.
    """
    role = NodeRole(role)
    process = process or node_name()
    host = process.rpartition(":")[0] or socket.gethostname()
    stats = stats or NodeStats()
    candidates = [name] if role is NodeRole.RECORDER else [name] + [
        f"{name}-console" + (f"-{n}" if n > 1 else "") for n in range(1, 10)]
    for candidate in candidates:
        for _attempt in range(5):  # lost a race against another process registering: look again
            try:
                outcome = _claim(db, candidate, role, process, host, lease_ttl, max_cameras, version, stats)
            except IntegrityError:
                continue
            if outcome is _RETRY:
                continue
            if outcome is None:
                return candidate
            if role is NodeRole.RECORDER:
                raise NodeNameInUse(outcome)
            break
        else:
            raise NodeNameInUse(f"node name {candidate!r} keeps changing hands; is another process starting "
                                "under the same node.name?")
    raise NodeNameInUse(f"every console name from {name!r} on is in use by running consoles; set node.name")


_RETRY = "retry"


def _claim(db: Database, name: str, role: NodeRole, process: str, host: str, ttl: float, max_cameras: int,
           version: str, stats: NodeStats) -> str | None:
    """Take the row for this process: None on success, _RETRY if it changed meanwhile, else why it is
    someone else's. No locks: an insert race ends in a duplicate key, an update race in 0 rows."""
    values: dict[str, Any] = dict(
        role=role.value, process=process, host=host, version=version, started_at=db_now(),
        heartbeat_at=db_now(), expires_at=db_now(ttl), lease_ttl=ttl, max_cameras=max_cameras,
        cameras_held=stats.cameras_held, free_disk=stats.free_disk, queue_files=stats.queue_files,
        queue_bytes=stats.queue_bytes, draining=False, stopped_at=None,
    )
    with db.session() as s:
        found = s.execute(select(Node, Node.expires_at > db_now()).where(Node.name == name)).first()
        if found is None:
            s.add(Node(name=name, **values))
            s.flush()
            return None
        row, alive = found
        if row.process != process and bool(alive) and not dead_local_node(row.process):
            return (f"node name {name!r} is in use by a running {row.role} ({row.process}, last heartbeat at "
                    f"{row.heartbeat_at:%H:%M:%S} UTC); give this machine its own node.name, or stop that one")
        if role is NodeRole.CONTROL and row.role == NodeRole.RECORDER.value and row.process != process:
            # A recorder's row (maybe offline, with files on its disk) is not a console's to take.
            return f"node name {name!r} belongs to a recorder"
        res = rows_changed(s,
            update(Node).where(Node.name == name, Node.process == row.process, Node.heartbeat_at == row.heartbeat_at)
            .values(**values).execution_options(synchronize_session=False)
        )
        return None if res == 1 else _RETRY


def heartbeat_in(s: Session, name: str, process: str, lease_ttl: float, stats: NodeStats) -> bool:
    """Renew this node's row in `s`; False if it is no longer this process's (forgotten, or taken over after
    this process stalled past its TTL): the caller registers again. Any thread."""
    res = rows_changed(s,
        update(Node).where(Node.name == name, Node.process == process).values(
            heartbeat_at=db_now(), expires_at=db_now(lease_ttl), cameras_held=stats.cameras_held,
            free_disk=stats.free_disk, queue_files=stats.queue_files, queue_bytes=stats.queue_bytes,
        ).execution_options(synchronize_session=False)
    )
    return bool(res)


def unregister(db: Database, name: str, process: str) -> None:
    """A clean stop: the row stays (its files are still this node's) but expires now, marked stopped (not
    dead: no node_gone alert)."""
    with db.session() as s:
        s.execute(update(Node).where(Node.name == name, Node.process == process)
                  .values(expires_at=db_now(), cameras_held=0, stopped_at=db_now())
                  .execution_options(synchronize_session=False))


def list_nodes(db: Database) -> list[NodeInfo]:
    """Every node, alive or not, with its upload pause (from its process's engine_status row). Any thread."""
    with db.session() as s:
        return nodes_in(s)


def nodes_in(s: Session) -> list[NodeInfo]:
    rows = s.execute(
        select(Node, Node.expires_at > db_now(), db_now(), EngineStatus.uploads_paused, EngineStatus.pause_reason)
        .outerjoin(EngineStatus, EngineStatus.node == Node.process)
        .order_by(Node.name)
    ).all()
    return [_info(n, bool(alive), now, bool(paused), reason or "") for n, alive, now, paused, reason in rows]


def get_node(db: Database, name: str) -> NodeInfo:
    for info in list_nodes(db):
        if info.name == name:
            return info
    known = ", ".join(n.name for n in list_nodes(db)) or "none yet"
    raise NotFound(f"no node named {name!r} (nodes: {known}); see `nvr-console nodes list`")


def _info(n: Node, alive: bool, now: datetime, paused: bool, reason: str) -> NodeInfo:
    return NodeInfo(
        n.name, n.role, n.process, n.host, n.version, n.started_at, n.heartbeat_at, n.expires_at, alive,
        max(0.0, (now - n.heartbeat_at).total_seconds()), n.lease_ttl, n.max_cameras, n.cameras_held,
        n.free_disk, n.queue_files, n.queue_bytes, n.draining, paused, reason,
    )


def set_draining(db: Database, name: str, draining: bool = True) -> NodeInfo:
    """`nodes drain NAME`: the node hands every camera over to other nodes and takes no new ones."""
    info = get_node(db, name)
    if info.role != NodeRole.RECORDER.value:
        raise InvalidInput(f"node {name!r} is a control station: it records nothing, so there is nothing to drain")
    with db.session() as s:
        s.execute(update(Node).where(Node.name == name).values(draining=draining)
                  .execution_options(synchronize_session=False))
    return get_node(db, name)


def mark_draining(db: Database, name: str, process: str) -> None:
    """This node is leaving (a stop with handover): others neither hand it units nor count on it."""
    with db.session() as s:
        s.execute(update(Node).where(Node.name == name, Node.process == process).values(draining=True)
                  .execution_options(synchronize_session=False))


def unsettled_recordings(db: Database, name: str) -> int:
    """Recordings of this node not yet uploaded (nor given up): files only its disk holds."""
    with db.session() as s:
        return int(s.scalar(select(func.count(Recording.id))
                            .where(Recording.node == name, Recording.status.not_in(SETTLED))) or 0)


def forget(db: Database, name: str, force: bool = False) -> NodeInfo:
    """`nodes forget NAME`: remove a dead node's row and free what it held. Refuses a live node, and a node
    whose files are not dealt with yet unless `force`."""
    info = get_node(db, name)
    if info.alive:
        raise InvalidInput(f"node {name!r} is alive (last heartbeat {info.seconds_since_heartbeat:.0f} s ago); "
                           "stop it first (or `nvr-console nodes drain` it)")
    waiting = unsettled_recordings(db, name)
    if waiting and not force:
        raise InvalidInput(
            f"node {name!r} still has {waiting} recording(s) not uploaded, on its own disk; start it again so it "
            "uploads them, or pass --force to forget it anyway (those recordings stay listed as its)")
    with db.session() as s:
        s.execute(update(CameraLease).where(CameraLease.holder == name)
                  .values(holder=None, expires_at=db_now()).execution_options(synchronize_session=False))
        s.execute(update(CameraLease).where(CameraLease.desired_holder == name)
                  .values(desired_holder=None, handover_state=None, handover_boundary=None)
                  .execution_options(synchronize_session=False))
        s.execute(delete(Node).where(and_(Node.name == name, Node.expires_at <= db_now()))
                  .execution_options(synchronize_session=False))
    return info
