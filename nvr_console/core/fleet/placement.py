"""Placement: which node should record which unit. Pure functions of one snapshot (no database here).

Every node computes the same plan from the same rows and acts only on its own part of it: it acquires
the free units the plan gives it, and hands over the units it holds that the plan moves away. Rules:
- a unit pinned to a node goes there while that node is alive, records and is not draining;
- otherwise to the live recorder with the fewest cameras that has room under its `max_cameras`
  (a room unit weighs its number of cameras), ties by name;
- a node holding more than another by more than a unit's weight hands one such unit over (so the
  difference shrinks and nothing moves back), at most MAX_HANDOVERS_PER_NODE at a time per node;
- a draining node hands over everything it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nvr_console.core.fleet.leases import Lease
from nvr_console.core.fleet.units import Unit

MAX_HANDOVERS_PER_NODE = 4


@dataclass(frozen=True)
class Candidate:
    """A node as placement sees it."""

    name: str
    alive: bool
    records: bool  # a recorder, not a control station
    draining: bool = False
    max_cameras: int = 0  # 0: no limit

    @property
    def eligible(self) -> bool:
        return self.alive and self.records and not self.draining


@dataclass(frozen=True)
class Move:
    unit: str
    source: str
    target: str
    why: str  # "draining", "pinned", "balance"


def loads(units: Iterable[Unit], leases: dict[str, Lease]) -> dict[str, int]:
    """Cameras each node holds live, by unit weight; a unit being handed over counts for its target already."""
    out: dict[str, int] = {}
    for u in units:
        lease = leases.get(u.key)
        if lease is not None and lease.live and lease.holder:
            node = lease.desired_holder if lease.handover_state and lease.desired_holder else lease.holder
            out[node] = out.get(node, 0) + u.weight
    return out


def _has_room(node: Candidate, load: int, weight: int) -> bool:
    return node.max_cameras <= 0 or load + weight <= node.max_cameras


def choose(unit: Unit, nodes: dict[str, Candidate], load: dict[str, int], exclude: str | None = None) -> str | None:
    """The node `unit` should go to now, or None if no live recorder has room."""
    pin = nodes.get(unit.pinned_node or "")
    if pin is not None and pin.eligible and pin.name != exclude:
        return pin.name  # a pin is honoured even past max_cameras: the operator asked for it
    fits = [n for n in nodes.values()
            if n.eligible and n.name != exclude and _has_room(n, load.get(n.name, 0), unit.weight)]
    if not fits:
        return None
    return min(fits, key=lambda n: (load.get(n.name, 0), n.name)).name


def plan_free(units: list[Unit], leases: dict[str, Lease], nodes: dict[str, Candidate]) -> dict[str, str]:
    """{unit key: node} for every free unit that has a place, heaviest first then by key (deterministic)."""
    load = loads(units, leases)
    plan: dict[str, str] = {}
    free = [u for u in units if (lease := leases.get(u.key)) is None or not lease.live]
    for unit in sorted(free, key=lambda u: (-u.weight, u.key)):
        target = choose(unit, nodes, load)
        if target is not None:
            plan[unit.key] = target
            load[target] = load.get(target, 0) + unit.weight
    return plan


def plan_moves(units: list[Unit], leases: dict[str, Lease], nodes: dict[str, Candidate], holder: str,
               planned: dict[str, str] | None = None) -> list[Move]:
    """The handovers `holder` should start now (none while MAX_HANDOVERS_PER_NODE of its own are under way).

    `planned` is plan_free()'s answer: free units count for the nodes about to take them, so a node that
    took its share a moment before the others does not hand it to them and take theirs back."""
    mine = [u for u in units if (lease := leases.get(u.key)) is not None and lease.live and lease.holder == holder]
    busy = sum(1 for u in mine if leases[u.key].handover_state is not None)
    budget = MAX_HANDOVERS_PER_NODE - busy
    if budget <= 0:
        return []
    load = loads(units, leases)
    weight = {u.key: u.weight for u in units}
    for key, node in (planned or {}).items():
        load[node] = load.get(node, 0) + weight.get(key, 1)
    me = nodes.get(holder)
    moves: list[Move] = []
    idle = [u for u in sorted(mine, key=lambda u: (u.weight, u.key)) if leases[u.key].handover_state is None]
    for unit in idle:
        if len(moves) >= budget:
            break
        draining = me is None or me.draining or not me.records
        pin = nodes.get(unit.pinned_node or "")
        if draining:
            target = choose(unit, nodes, load, exclude=holder)
            why = "draining"
        elif pin is not None and pin.name != holder and pin.eligible:
            target, why = pin.name, "pinned"
        elif unit.pinned_node == holder:
            continue  # where its pin wants it
        else:
            target = choose(unit, nodes, load, exclude=holder)
            why = "balance"
            if target is None or load.get(holder, 0) - load.get(target, 0) <= unit.weight:
                continue
        if target is None:
            continue
        moves.append(Move(unit.key, holder, target, why))
        load[holder] = load.get(holder, 0) - unit.weight
        load[target] = load.get(target, 0) + unit.weight
    return moves
