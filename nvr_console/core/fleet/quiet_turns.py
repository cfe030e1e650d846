"""Whether a fleet member's turn may skip placement: nothing it acts on changed since its last full turn.

A full turn reads every camera, room and lease (2,000 rows for 1,000 cameras) and plans. Every node doing
that every second costs the database and each node O(cameras) per second: 20 nodes x 50 cameras starved
each other's renewals on a loaded 2-core machine (bench/fleet_db.py, issue 21). A quiet turn reads one row
of aggregates and the nodes' few rows instead:
- leases: how many, the sum of their tokens (every change of holder adds one), how many are free or
  expired (by the database's clock), how many have a handover asked or under way;
- cameras and rooms: how many, the sum of their ids, their latest edit;
- every node: alive (database clock), draining, role and camera limit.
When these are what the previous turn saw, no unit is free and no handover is under way, the member has
nothing to take, hand over or stop. A full turn runs anyway every `full_every_s` (an edit made on a machine
whose clock is behind does not move the latest edit) and whenever the member itself has work in hand.
"""

from __future__ import annotations

from collections.abc import Hashable

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Camera, CameraLease, Node, Room
from nvr_console.core.db.session import Database


def fleet_signature(s: Session) -> tuple[bool, Hashable]:
    """(something to do for someone: a unit free or a handover under way, the signature); two statements."""
    def count() -> Select[tuple[int]]:
        return select(func.count()).select_from(CameraLease)

    free = count().where(or_(CameraLease.holder.is_(None), CameraLease.expires_at.is_(None),
                             CameraLease.expires_at <= db_now()))
    moving = count().where(or_(CameraLease.handover_state.is_not(None), CameraLease.desired_holder.is_not(None)))
    row = s.execute(select(
        count().scalar_subquery(),
        select(func.coalesce(func.sum(CameraLease.token), 0)).scalar_subquery(),
        free.scalar_subquery(),
        moving.scalar_subquery(),
        select(func.count()).select_from(Camera).scalar_subquery(),
        select(func.coalesce(func.sum(Camera.id), 0)).scalar_subquery(),
        select(func.max(Camera.updated_at)).scalar_subquery(),
        select(func.count()).select_from(Room).scalar_subquery(),
        select(func.coalesce(func.sum(Room.id), 0)).scalar_subquery(),
        select(func.max(Room.updated_at)).scalar_subquery(),
    )).one()
    nodes = tuple(s.execute(select(Node.name, Node.expires_at > db_now(), Node.draining, Node.role, Node.max_cameras)
                            .order_by(Node.name)).all())
    busy = bool(row[2]) or bool(row[3])
    return busy, (tuple(int(v) if isinstance(v, int) else v for v in row), tuple(tuple(n) for n in nodes))


class QuietTurns:
    """Remembers what the previous turn saw. The member's thread."""

    def __init__(self, full_every_s: float) -> None:
        self.full_every_s = full_every_s
        self._seen: Hashable | None = None
        self._full_at: float | None = None  # monotonic time of the last full turn

    def quiet(self, db: Database, mono: float, member_busy: bool) -> bool:
        """True if this turn may skip placement; False: run a full turn (and call full_turn())."""
        with db.session() as s:
            busy, seen = fleet_signature(s)
        same = seen == self._seen
        self._seen = seen
        due = self._full_at is None or mono - self._full_at >= self.full_every_s
        return same and not busy and not member_busy and not due

    def full_turn(self, mono: float) -> None:
        self._full_at = mono

    def forget(self) -> None:
        """The next turn is a full one (the member registered again, or the database came back)."""
        self._seen, self._full_at = None, None
