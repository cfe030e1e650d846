"""The camera_events table: one owner for writing and reading it (the event recorder, catalog commands and
coverage go through here).

Rows are plain facts (what, when, why, where, who); reasons are masked before they are stored. Every function
opens its own short session unless it is given one, so it is safe on any thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from nvr_console.core.db.models import Camera, CameraEvent, CameraEventKind
from nvr_console.core.db.session import Database
from nvr_console.core.text.masking import mask_secrets

PURGE_BATCH = 5000  # rows per DELETE: a long retention backlog never holds a lock for long

# Command names stored in `state` for CameraEventKind.COMMAND rows.
START, STOP, ENABLE, DISABLE, REMOVE = "start", "stop", "enable", "disable", "remove"
# Engine rows.
ENGINE_STARTED, ENGINE_STOPPED = "started", "stopped"


@dataclass(frozen=True)
class Event:
    """One camera event as plain data (no session attached)."""

    at: datetime  # aware, UTC
    kind: CameraEventKind
    state: str
    camera_id: int | None = None
    room: str = ""
    camera: str = ""
    reason: str = ""
    node: str = ""
    actor: str = ""


def _row(e: Event) -> CameraEvent:
    return CameraEvent(at=e.at, camera_id=e.camera_id, room_name=e.room[:128], camera_name=e.camera[:128],
                       kind=CameraEventKind(e.kind).value, state=e.state[:16], reason=mask_secrets(e.reason),
                       node=e.node[:128], actor=e.actor[:128])


def _event(r: CameraEvent) -> Event:
    return Event(r.at, CameraEventKind(r.kind), r.state, r.camera_id, r.room_name, r.camera_name, r.reason, r.node,
                 r.actor)


def write_events(db: Database, events: Sequence[Event]) -> None:
    """Insert a batch in one transaction. Any thread (the recorder's writer thread in practice)."""
    if not events:
        return
    with db.session() as s:
        s.add_all([_row(e) for e in events])


def add_command(s: Session, cam: Camera, room: str, command: str, actor: str, node: str, at: datetime) -> None:
    """Record an operator command in the caller's session, so it commits with the change it describes."""
    s.add(_row(Event(at, CameraEventKind.COMMAND, command, cam.id, room, cam.name, "", node, actor)))


def events_between(db: Database, start: datetime, end: datetime, camera_ids: Iterable[int] | None = None,
                   *, with_previous: bool = True) -> list[Event]:
    """Events of the cameras (all when None) in [start, end), plus engine events, oldest first.

    with_previous adds each camera's last event before `start` (its state when the period began) and the
    engine events of the day before (an engine that stopped yesterday is still not running). Any thread.
    """
    ids = None if camera_ids is None else sorted(set(camera_ids))
    with db.session() as s:
        q = select(CameraEvent).where(CameraEvent.at >= start, CameraEvent.at < end,
                                      CameraEvent.kind != CameraEventKind.ENGINE.value)
        if ids is not None:
            q = q.where(CameraEvent.camera_id.in_(ids))
        rows = list(s.scalars(q))
        rows += s.scalars(select(CameraEvent).where(
            CameraEvent.kind == CameraEventKind.ENGINE.value, CameraEvent.at < end,
            CameraEvent.at >= start - (end - start) if with_previous else CameraEvent.at >= start))
        if with_previous:
            last = (select(CameraEvent.camera_id, func.max(CameraEvent.at).label("at"))
                    .where(CameraEvent.at < start, CameraEvent.camera_id.is_not(None),
                           CameraEvent.kind != CameraEventKind.ENGINE.value)
                    .group_by(CameraEvent.camera_id))
            if ids is not None:
                last = last.where(CameraEvent.camera_id.in_(ids))
            sub = last.subquery()
            rows += s.scalars(select(CameraEvent).join(
                sub, (CameraEvent.camera_id == sub.c.camera_id) & (CameraEvent.at == sub.c.at)))
        events = [_event(r) for r in rows]
    events.sort(key=lambda e: (e.at, e.kind != CameraEventKind.COMMAND))
    return events


def purge_older_than(db: Database, cutoff: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete events before `cutoff` in bounded batches; returns how many. Any thread.

    Two processes purging at once only delete the same rows twice (a no-op), never anything newer.
    """
    total = 0
    while True:
        with db.session() as s:
            ids = list(s.scalars(select(CameraEvent.id).where(CameraEvent.at < cutoff).order_by(CameraEvent.id)
                                 .limit(batch)))
            if not ids:
                return total
            s.execute(delete(CameraEvent).where(CameraEvent.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch:
            return total
