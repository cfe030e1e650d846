"""The engine's side of the fleet's orders: which cameras to record now, and when a handed-over one stops.

Pure bookkeeping on the engine thread, fed by the member's Holdings, the recorders' states and their
segment cuts; it answers `should_record(camera)` and says which units' recorders are writing (so the member
can tell a handover's holder to stop) or have stopped.

A handover source (an order with `stop_after`) keeps recording until its first segment cut at or after
that instant, so its last file ends exactly where the new holder's file begins; if no cut comes within
CUT_GRACE_S (a camera with long GOPs, a stall) it stops anyway, the new holder having recorded all along.
An immediate handover (`stop_at_cut` False) stops at `stop_after`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nvr_console.core.fleet.holdings import Holdings, Order
from nvr_console.core.status import CameraState

CUT_GRACE_S = 8.0  # longest wait for the segment cut after a handover boundary
READY_WAIT_S = 15.0  # a unit counts as recording once its cameras that can record do, after this at most
CUT_SLACK_S = 0.5  # a segment opened this little before the boundary (clock granularity) is the cut
WRITING = (CameraState.RECORDING,)


@dataclass
class OrderBook:
    holdings: Holdings = field(default_factory=lambda: Holdings(""))
    _states: dict[int, CameraState] = field(default_factory=dict)
    _since: dict[str, float] = field(default_factory=dict)  # unit -> when its order first asked to record
    # unit -> the handover boundary whose cut has come: its recorders stop. Only for that order: a unit handed
    # out and straight back in (a standby order replacing the source's) records again.
    _cut: dict[str, float] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)  # units reported to the member as recording
    _last_token: dict[int, int] = field(default_factory=dict)  # camera id -> the last token this node held

    def update(self, holdings: Holdings, now: float) -> None:
        self.holdings = holdings
        for unit, order in holdings.orders.items():
            self._since.setdefault(unit, now)
            if order.token is not None:
                self._last_token.update(dict.fromkeys(order.camera_ids, order.token))
        for unit in [u for u in self._since if u not in holdings.orders]:
            self._since.pop(unit)
        self._cut = {u: at for u, at in self._cut.items() if u in holdings.orders
                     and holdings.orders[u].stop_after == at}
        self._reported &= set(holdings.orders)

    def order(self, camera_id: int) -> Order | None:
        return self.holdings.order_for(camera_id)

    def token(self, camera_id: int) -> int | None:
        """The token a piece of this camera is recorded under: its order's (None for a standby), or, once the
        order is gone (released at a stop, lost), the last one this node held: its recorder's last piece was
        begun under it."""
        order = self.order(camera_id)
        return order.token if order is not None else self._last_token.get(camera_id)

    def should_record(self, camera_id: int, now: float) -> bool:
        order = self.order(camera_id)
        if order is None or order.unit in self._cut:
            return False
        if order.stop_after is None:
            return True
        if not order.stop_at_cut:
            return now < order.stop_after
        return now < order.stop_after + CUT_GRACE_S

    def segment_opened(self, camera_id: int, opened_at: float) -> bool:
        """A recorder opened a new segment at `opened_at` (wall clock); True if that was the handover cut and
        the recorder is to stop now."""
        order = self.order(camera_id)
        if order is None or order.stop_after is None or not order.stop_at_cut:
            return False
        if opened_at >= order.stop_after - CUT_SLACK_S:
            self._cut[order.unit] = order.stop_after
            return True
        return False

    def camera_state(self, camera_id: int, state: CameraState) -> None:
        self._states[camera_id] = state

    def forget_camera(self, camera_id: int) -> None:
        self._states.pop(camera_id, None)

    def changes(self, now: float, running: set[int]) -> tuple[list[str], list[str]]:
        """(units now writing, units no longer recording) since the last call, for the member: a unit writes
        once every camera of it does (or, after READY_WAIT_S, the ones that can); it stops being recorded once
        none of its cameras has a live recorder (`running`: camera ids)."""
        started, stopped = [], []
        for unit, order in self.holdings.orders.items():
            states = [self._states.get(c) for c in order.camera_ids]
            writing = [s in WRITING for s in states]
            waited = now - self._since.get(unit, now) >= READY_WAIT_S
            alive = any(c in running for c in order.camera_ids)
            if unit not in self._reported and alive and (all(writing) or (waited and any(writing))):
                self._reported.add(unit)
                started.append(unit)
            elif unit in self._reported and not alive:
                self._reported.discard(unit)
                stopped.append(unit)
        # A removed camera is forgotten when its removal is announced (forget_camera); a last status of its
        # recorder may still arrive after that. The state of a camera no order holds and no recorder runs for
        # tells nothing (missing means not writing): dropped, so the map keeps only what the orders can ask.
        held = {c for o in self.holdings.orders.values() for c in o.camera_ids}
        for c in [c for c, st in self._states.items() if c not in held and c not in running and st not in WRITING]:
            del self._states[c]
        return started, stopped
