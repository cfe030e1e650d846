"""Camera leases: which node records a unit, until when (database time), under which fencing token.

Every change is one conditional UPDATE judged by its row count, so two nodes doing the same step at
once cannot both win, on MariaDB/MySQL with other writers and on SQLite alike:
- acquire: only from the token the caller saw, and only a free, expired or own unit; token + 1.
- renew: every unit still held by this node (one UPDATE), then which ones it holds (one SELECT).
- release: only with the holder's current token.
A node that finds a unit it records missing from `renew()`'s answer, or held under another token, has
lost it (it stalled past its TTL, or was cut off from the database) and stops that recorder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Camera, CameraLease, Node, Room
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.fleet.units import Unit


@dataclass(frozen=True)
class Lease:
    unit: str
    holder: str | None
    token: int
    expires_at: datetime | None
    live: bool  # held and not expired, by the database's clock
    desired_holder: str | None = None
    handover_state: str | None = None
    handover_boundary: datetime | None = None

    @property
    def free(self) -> bool:
        return not self.live


@dataclass(frozen=True)
class LeaseTable:
    """Every lease row and the database's time they were read at."""

    now: datetime
    leases: dict[str, Lease]

    def held_by(self, node: str) -> dict[str, Lease]:
        return {k: v for k, v in self.leases.items() if v.live and v.holder == node}

    def next_expiry_s(self, besides: str) -> float | None:
        """Seconds from `now` to the soonest expiry of a live lease another node holds (None: none): when the
        units of a node that stopped renewing fall free."""
        ahead = [(v.expires_at - self.now).total_seconds() for v in self.leases.values()
                 if v.live and v.holder != besides and v.expires_at is not None]
        return min(ahead, default=None)


def _free_or_mine(node: str) -> ColumnElement[bool]:
    return or_(CameraLease.holder.is_(None), CameraLease.expires_at.is_(None),
               CameraLease.expires_at < db_now(), CameraLease.holder == node)


def ensure_rows(db: Database, units: Iterable[Unit], have: set[str] | None = None) -> int:
    """Create the lease row of every unit that has none (free, token 0); returns how many were created.
    `have`: the units known to have a row already (from a lease table just read), saving a query.

    Two nodes creating the same row: the second gets a duplicate key and carries on. Any thread.
    """
    wanted = {u.key: u for u in units}
    if not wanted:
        return 0
    if have is None:
        with db.session() as s:
            have = set(s.scalars(select(CameraLease.unit).where(CameraLease.unit.in_(list(wanted)))))
    created = 0
    for key in sorted(set(wanted) - have):
        unit = wanted[key]
        try:
            with db.session() as s:
                # expires_at: free since now (placement lets any node take a unit left free too long).
                s.add(CameraLease(unit=key, camera_id=unit.camera_id, room_id=unit.room_id if unit.is_room else None,
                                  holder=None, token=0, expires_at=db_now()))
            created += 1
        except IntegrityError:
            pass  # another node created it first
    return created


def read_table(db: Database) -> LeaseTable:
    """All lease rows, with liveness judged by the database in the same query. Any thread."""
    with db.session() as s:
        return table_in(s)


def table_in(s: Session) -> LeaseTable:
    rows = s.execute(select(CameraLease, CameraLease.expires_at > db_now(), db_now())).all()
    now = rows[0][2] if rows else s.scalar(select(db_now()))
    assert now is not None
    return LeaseTable(now, {
        r.unit: Lease(r.unit, r.holder, int(r.token), r.expires_at, bool(r.holder) and bool(alive),
                      r.desired_holder, r.handover_state, r.handover_boundary)
        for r, alive, _now in rows
    })


def acquire(db: Database, unit: str, node: str, ttl: float, seen_token: int) -> int | None:
    """Take a free (or expired, or this node's own) unit; the new token, or None if another node was faster
    or the row changed since it was read with `seen_token`. Any thread."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.token == seen_token, _free_or_mine(node))
            .values(holder=node, token=CameraLease.token + 1, expires_at=db_now(ttl), acquired_at=db_now(),
                    desired_holder=None, handover_state=None, handover_boundary=None)
            .execution_options(synchronize_session=False)
        )
        return seen_token + 1 if res == 1 else None


def renew(db: Database, node: str, ttl: float) -> dict[str, int]:
    """Extend every lease this node holds; returns {unit: token} of what it holds now. Any thread.

    A lease that expired but that nobody took yet is renewed too: nobody else recorded it meanwhile.
    """
    with db.session() as s:
        renew_in(s, node, ttl)
        return {unit: int(token) for unit, token in
                s.execute(select(CameraLease.unit, CameraLease.token).where(CameraLease.holder == node))}


def renew_in(s: Session, node: str, ttl: float) -> None:
    s.execute(update(CameraLease).where(CameraLease.holder == node).values(expires_at=db_now(ttl))
              .execution_options(synchronize_session=False))


def release(db: Database, unit: str, node: str, token: int) -> bool:
    """Give a unit up (stopped camera, clean stop with nobody to hand over to). Only with the current token."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.holder == node, CameraLease.token == token)
            .values(holder=None, expires_at=db_now(), desired_holder=None, handover_state=None,
                    handover_boundary=None)
            .execution_options(synchronize_session=False)
        )
        return bool(res)


def drop_unwanted(db: Database, wanted: Iterable[str]) -> int:
    """Delete lease rows of units nobody needs any more (camera stopped or removed, room regrouped) once
    nobody holds them live; their holders release them first. Returns how many."""
    keep = list(wanted)
    with db.session() as s:
        q = delete(CameraLease).where(or_(CameraLease.holder.is_(None), CameraLease.expires_at < db_now()))
        if keep:
            q = q.where(CameraLease.unit.not_in(keep))
        res = rows_changed(s, q.execution_options(synchronize_session=False))
        return res


@dataclass(frozen=True)
class Holder:
    """Who records a camera now, as `cameras list`, `status` and consoles show it."""

    node: str | None
    lease_expires: datetime | None
    token: int
    live: bool  # the lease has not expired (by the database's clock)
    node_alive: bool  # the holder's node row has not expired


def lease_of_camera() -> ColumnElement[bool]:
    """Join condition from a camera (joined with its room) to its unit's lease row: the room's when the room
    has a sound source, else the camera's own. By id columns, not by building the unit key in SQL (that
    compares strings of two collations on MySQL)."""
    has_sound = and_(Room.sound_source_url.is_not(None), Room.sound_source_url != "")
    return or_(and_(has_sound, CameraLease.room_id == Room.id),
               and_(not_(has_sound), CameraLease.camera_id == Camera.id))


def camera_holders(db: Database) -> dict[int, Holder]:
    """{camera id: its unit's lease} for every camera, in one query (a room with a sound source is one unit)."""
    its_unit = lease_of_camera()
    with db.session() as s:
        rows = s.execute(
            select(Camera.id, CameraLease.holder, CameraLease.expires_at, CameraLease.token,
                   CameraLease.expires_at > db_now(), Node.expires_at > db_now())
            .join(Room, Camera.room_id == Room.id)
            .outerjoin(CameraLease, its_unit)
            .outerjoin(Node, Node.name == CameraLease.holder)
        ).all()
    return {cid: Holder(holder, expires if holder else None, int(token or 0), bool(holder) and bool(live),
                        bool(node_alive))
            for cid, holder, expires, token, live, node_alive in rows}
