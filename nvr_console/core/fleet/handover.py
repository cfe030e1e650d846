"""Planned handover of a unit from its holder A to a node B, so that no frame is lost (docs/fleet.md).

States on the lease row (`handover_state`), each step one conditional UPDATE:
  (none) --request(A)--> requested --ready(B)--> ready|ready_now --transfer(A) or take(B)--> (none, B, token+1)
  requested/ready --cancel(A)--> (none)
- request: A (draining, stopping, rebalancing, or giving a pinned unit back) names B.
- ready: B's recorder writes; B names the boundary just after which A stops (wall clock, as FFmpeg cuts);
  ready_now when no segment cut comes within node.handover_wait: A stops at once (a few seconds overlap).
- transfer: A, at the boundary, gives the lease to B, only if B is alive (else A keeps recording).
- take: B, if A has not transferred well after the boundary (A stalled); fencing then stops A.
- cancel: A, when B died or never became ready.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, update

from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import CameraLease, HandoverState, Node
from nvr_console.core.db.session import Database, rows_changed

REQUESTED = HandoverState.REQUESTED.value
READY = HandoverState.READY.value
READY_NOW = HandoverState.READY_NOW.value
READY_STATES = (READY, READY_NOW)


def _cleared() -> dict[str, object]:
    return {"desired_holder": None, "handover_state": None, "handover_boundary": None}


def request(db: Database, unit: str, holder: str, token: int, target: str) -> bool:
    """A asks B to take `unit` over; only while A holds it under `token` and no handover is under way."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.holder == holder, CameraLease.token == token,
                   CameraLease.handover_state.is_(None))
            .values(desired_holder=target, handover_state=REQUESTED, handover_boundary=None)
            .execution_options(synchronize_session=False)
        )
        return bool(res)


def ready(db: Database, unit: str, target: str, boundary: datetime, at_cut: bool = True) -> bool:
    """B records `unit` now; A is to stop just after its segment cut at `boundary` (`at_cut`), or at once."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.desired_holder == target,
                   CameraLease.handover_state == REQUESTED)
            .values(handover_state=READY if at_cut else READY_NOW, handover_boundary=boundary)
            .execution_options(synchronize_session=False)
        )
        return bool(res)


def transfer(db: Database, unit: str, holder: str, token: int, ttl: float) -> int | None:
    """A gives the lease to the ready B if B is alive; B's new token, or None (then A keeps recording)."""
    target_alive = exists().where(Node.name == CameraLease.desired_holder, Node.expires_at > db_now())
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.holder == holder, CameraLease.token == token,
                   CameraLease.handover_state.in_(READY_STATES), target_alive)
            .values(holder=CameraLease.desired_holder, token=CameraLease.token + 1, expires_at=db_now(ttl),
                    acquired_at=db_now(), **_cleared())
            .execution_options(synchronize_session=False)
        )
        return token + 1 if res == 1 else None


def take(db: Database, unit: str, target: str, seen_token: int, ttl: float) -> int | None:
    """B takes a unit whose holder did not transfer it after the boundary; the new token or None."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.token == seen_token, CameraLease.desired_holder == target,
                   CameraLease.handover_state.in_(READY_STATES))
            .values(holder=target, token=CameraLease.token + 1, expires_at=db_now(ttl), acquired_at=db_now(),
                    **_cleared())
            .execution_options(synchronize_session=False)
        )
        return seen_token + 1 if res == 1 else None


def cancel(db: Database, unit: str, holder: str, token: int) -> bool:
    """A calls a handover off (B died, or did not become ready in time)."""
    with db.session() as s:
        res = rows_changed(s,
            update(CameraLease)
            .where(CameraLease.unit == unit, CameraLease.holder == holder, CameraLease.token == token,
                   CameraLease.handover_state.is_not(None))
            .values(**_cleared())
            .execution_options(synchronize_session=False)
        )
        return bool(res)
