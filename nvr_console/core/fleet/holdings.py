"""What a node should record now, as its fleet member publishes it (plain frozen data), and the copy of it kept
beside the recordings so a node started while the database is unreachable records what it held.

Orders (one per unit the node should record now):
- held (token set): this node owns the unit;
- standby (token None): a handover target, recording before the holder stops, so nothing is lost;
- stop_after set: a handover source: stop just after the segment cut at that instant (`stop_at_cut`), or
  at once for an immediate handover.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from nvr_console.core.fleet import local_cache

log = logging.getLogger(__name__)

CACHE_FILE = "holdings.json"


@dataclass(frozen=True)
class Order:
    unit: str
    camera_ids: tuple[int, ...]
    room_id: int
    token: int | None  # None: a standby (handover target), not the holder yet
    stop_after: float | None = None  # epoch s: a handover source stops then...
    stop_at_cut: bool = True  # ...just after its segment cut at that instant (False: at once)

    @property
    def standby(self) -> bool:
        return self.token is None and self.stop_after is None


@dataclass(frozen=True)
class Holdings:
    node: str
    orders: dict[str, Order] = field(default_factory=dict)
    db_ok: bool = True
    renewed_at: float = 0.0  # epoch s of the last renewal the database answered (0: none yet)
    draining: bool = False
    error: str = ""  # a reason this node cannot take part (its name is in use): it records nothing

    def order_for(self, camera_id: int) -> Order | None:
        return next((o for o in self.orders.values() if camera_id in o.camera_ids), None)

    @property
    def camera_ids(self) -> set[int]:
        return {c for o in self.orders.values() for c in o.camera_ids}


def save_held(folder: Path, node: str, orders: dict[str, Order]) -> None:
    """Keep the units this node holds (confirmed by the database) in `folder`. Any thread."""
    local_cache.save(folder / CACHE_FILE, {"node": node, "units": {
        k: {"token": o.token, "camera_ids": list(o.camera_ids), "room_id": o.room_id}
        for k, o in orders.items() if o.token is not None and o.stop_after is None}})


def load_held(folder: Path, node: str) -> dict[str, Order]:
    """What `node` held when it last spoke to the database ({} if nothing, another node's, or malformed)."""
    path = folder / CACHE_FILE
    data = local_cache.load(path)
    if not isinstance(data, dict) or data.get("node") != node:
        return {}
    try:
        return {k: Order(k, tuple(int(c) for c in v["camera_ids"]), int(v["room_id"]), int(v["token"]))
                for k, v in dict(data.get("units", {})).items()}
    except (KeyError, TypeError, ValueError, AttributeError):
        log.warning("ignoring the malformed fleet cache %s", path)
        return {}
