"""A node's part in the fleet: register, heartbeat, renew, take free units, hand units over, notice losses.

Runs on a thread of its own (never the engine's or the UI's: every statement may wait for the database's
timeout). What the node should record is published as `Holdings` (plain frozen data) through `on_change`,
called on the member's thread; the engine starts and stops recorders to match and tells the member what
its recorders do (`recording`, `stopped`) and its disk and queue figures (`set_stats`), from any thread.

What the orders mean: fleet.holdings. When the database cannot be reached the last orders stand (a node cut
off keeps recording: a duplicate is worth more than a gap) with `db_ok` False, and nothing new starts.
Design: docs/fleet.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.config import default, renew_interval
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet import handover, leases, registry
from nvr_console.core.fleet.holdings import Holdings, Order, load_held, save_held
from nvr_console.core.fleet.placement import Candidate, plan_free, plan_moves
from nvr_console.core.fleet.quiet_turns import QuietTurns
from nvr_console.core.fleet.registry import NodeNameInUse, NodeStats
from nvr_console.core.fleet.units import Unit, camera_rows_in, group
from nvr_console.core.schedule.boundaries import next_boundary
from nvr_console.core.system.node_identity import node_name
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

HANDOVER_LEAD_S = 2.0  # the boundary a handover switches at is at least this far after the target records
REQUEST_TIMEOUT_S = 30.0  # a target that does not record within this (plus handover_wait) is given up
DROP_UNWANTED_EVERY_S = 30.0
FINISH_LIMIT_S = 30.0  # a handed-over unit's recorder is ordered to run at most this long past the boundary
EXPIRY_MARGIN_S = 0.05  # a turn due at a lease's expiry runs this much after it (the database's clock decides)


@dataclass(frozen=True)
class MemberConfig:
    db_url: str
    name: str
    role: NodeRole
    lease_ttl: float = field(default_factory=lambda: float(default("node.lease_ttl")))
    max_cameras: int = 0
    handover_wait: float = field(default_factory=lambda: float(default("node.handover_wait")))
    segment_length: float = field(default_factory=lambda: float(default("recording.segment_length")))
    zone: ZoneInfo | None = None
    version: str = ""
    cache_dir: Path | None = None  # holdings.json lives here (None: no cache)
    tick_s: float | None = None  # default: a tenth of the TTL, at most 1 s

    @property
    def renew_every(self) -> float:
        return renew_interval(self.lease_ttl)

    @property
    def tick(self) -> float:
        return self.tick_s if self.tick_s is not None else min(1.0, self.lease_ttl / 10)


def handover_boundary(now: float, cfg: MemberConfig) -> tuple[float, bool]:
    """(instant, at a cut) a handover switches at: the first segment cut HANDOVER_LEAD_S ahead on the member's
    grid, or now if that is further away than handover_wait."""
    zone = cfg.zone
    moment = datetime.fromtimestamp(now + HANDOVER_LEAD_S, zone) if zone else datetime.fromtimestamp(
        now + HANDOVER_LEAD_S).astimezone()
    cut = next_boundary(moment, cfg.segment_length).timestamp()
    return (cut, True) if cut - now <= cfg.handover_wait else (now, False)


def orders_from(table: leases.LeaseTable, held: dict[str, int], units: dict[str, Unit], node: str,
                draining: bool) -> dict[str, Order]:
    """What the lease table says `node` should record: the units it holds (a handover's source stopping at
    the boundary), and standbys for the handovers it is the target of."""
    orders: dict[str, Order] = {}
    for key, token in held.items():
        unit = units.get(key)
        if unit is None:
            continue
        lease = table.leases.get(key)
        stop_after, at_cut = None, True
        if lease is not None and lease.handover_state in handover.READY_STATES and lease.handover_boundary is not None:
            stop_after, at_cut = lease.handover_boundary.timestamp(), lease.handover_state == handover.READY
        orders[key] = Order(key, unit.camera_ids, unit.room_id, token, stop_after, at_cut)
    for key, lease in table.leases.items():
        unit = units.get(key)
        if (unit is not None and key not in orders and lease.desired_holder == node and lease.live
                and (not draining or lease.handover_state in handover.READY_STATES)):
            orders[key] = Order(key, unit.camera_ids, unit.room_id, None)  # standby
    return orders


def turn_wait(tick: float, expiry_due: float | None, mono: float) -> float:
    """Seconds to the member's next turn: a tick, or just after another node's lease runs out if that is sooner
    (a dead node's units are taken at their expiry, not up to a tick later; every node wakes then and computes
    the same plan). A due time already past (the lease was renewed meanwhile) waits a tick."""
    if expiry_due is None or expiry_due <= mono:
        return tick
    return max(EXPIRY_MARGIN_S, min(tick, expiry_due - mono))


def renew_round(db: Database, name: str, process: str, cfg: MemberConfig, stats: NodeStats) -> bool:
    """The node's heartbeat and all its leases, on one transaction of two statements whatever it holds (a node
    with 200 cameras costs the database what one with 2 does). False if the node row is no longer this
    process's. The member's thread."""
    with db.session() as s:
        beat = registry.heartbeat_in(s, name, process, cfg.lease_ttl, stats)
        if beat and cfg.role is NodeRole.RECORDER:
            leases.renew_in(s, name, cfg.lease_ttl)
    return beat


class FleetMember:
    """Construct, `start()`, `stop()`. `on_change(Holdings)` runs on the member's thread."""

    def __init__(self, cfg: MemberConfig, on_change: Callable[[Holdings], None] | None = None,
                 process: str | None = None, on_unreachable: Callable[[str], None] | None = None) -> None:
        """`on_unreachable(reason)`: told (on the member's thread) when its statements find the server out of
        reach; the engine's outage breaker, so the engine's threads stop waiting out timeouts at once."""
        self.cfg = cfg
        self._on_unreachable = on_unreachable
        self.process = process or node_name()
        self.name = cfg.name
        self._on_change = on_change or (lambda _h: None)
        # Bounded statements (reads a third of the TTL, connecting 5 s): a partition never hangs this thread.
        self.db = Database(cfg.db_url, read_timeout_s=max(1, int(cfg.lease_ttl / 3)))
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_requested = False
        self._handover_on_stop = False
        self._stop_deadline = 0.0
        self._thread: threading.Thread | None = None
        self._recording: dict[str, float] = {}  # unit -> since when the engine's recorder writes (engine reports)
        self._stats = NodeStats()
        # Member thread only:
        self._registered = False
        self._settle_until = 0.0
        self._next_renew = 0.0
        self._next_drop = 0.0
        self._held: dict[str, int] = {}  # unit -> token
        self._from_cache: set[str] = set()  # units in _held only because the local cache said so
        self._units: dict[str, Unit] = {}
        self._orders: dict[str, Order] = {}
        self._finishing: dict[str, Order] = {}  # handed over: recording until the cut
        self._requested_at: dict[str, float] = {}  # unit -> when this node asked for its handover (monotonic)
        self._holdings = Holdings(cfg.name)
        self._db_ok = False  # until the database has answered once
        self._db_error_logged = False
        self._failures = 0
        self._renewed_at = 0.0
        self._expiry_due: float | None = None  # monotonic: when another node's lease runs out next
        self._quiet = QuietTurns(full_every_s=cfg.lease_ttl * 2 / 3)
        self._draining = False
        self._has_targets = False  # another live recorder could take this node's units
        self._seen_since_stop = False  # a turn read the nodes after stop(): _has_targets is not from before it
        self._leaving = False
        self._error = ""
        self.done = threading.Event()  # set when the thread has ended (after stop())
        self._load_cache()

    # --- any thread -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"nvr-fleet-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, handover: bool = False, timeout_s: float = 0.0) -> None:
        """Leave the fleet: with `handover`, hand every unit to other nodes first (for up to `timeout_s`),
        then release what is left and expire this node's row. Returns at once; `done` is set at the end."""
        with self._lock:
            self._stop_requested = True
            self._handover_on_stop = handover
            self._stop_deadline = time.monotonic() + timeout_s
        self._wake.set()

    def join(self, timeout_s: float) -> bool:
        return self.done.wait(timeout_s)

    def holdings(self) -> Holdings:
        with self._lock:
            return self._holdings

    def reconfigure(self, cfg: MemberConfig) -> None:
        """New settings, from any thread: the segment grid, time zone and handover wait apply from the member's
        next turn. The database, name, role, TTL and camera limit stay until a restart (not live options)."""
        with self._lock:
            # Replaced whole: the member thread reads `self.cfg` once per step.
            self.cfg = replace(self.cfg, segment_length=cfg.segment_length, zone=cfg.zone,
                               handover_wait=cfg.handover_wait)

    def recording(self, unit: str, since: float | None = None) -> None:
        """The engine: this node's recorder for `unit` writes (bytes flowing). Any thread."""
        with self._lock:
            self._recording.setdefault(unit, since or time.time())
        self._wake.set()

    def not_recording(self, unit: str) -> None:
        """The engine: this node's recorder for `unit` stopped (or failed). Any thread."""
        with self._lock:
            self._recording.pop(unit, None)
            finished = self._finishing.pop(unit, None) is not None
        if finished:
            self._wake.set()

    def set_stats(self, free_disk: int | None, queue_files: int, queue_bytes: int) -> None:
        with self._lock:
            self._stats = replace(self._stats, free_disk=free_disk, queue_files=queue_files, queue_bytes=queue_bytes)

    # --- the member thread ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._orders:
                self._publish()  # what the cache says this node held: recorded until the database answers
            while True:
                with self._lock:
                    stopping = self._stop_requested
                if stopping and self._finish_stop():
                    return
                try:
                    self._tick()
                    self._db_up()
                    self._seen_since_stop = stopping
                    wait = turn_wait(self.cfg.tick, self._expiry_due, time.monotonic())
                except NodeNameInUse as exc:
                    self._error = str(exc)
                    log.error("%s", exc)
                    self._orders, self._held = {}, {}
                    self._publish()
                    wait = self.cfg.renew_every
                    self._registered = False
                except (DatabaseUnavailable, SQLAlchemyError) as exc:
                    wait = self._db_down(exc)
                except Exception:  # never let the fleet thread die: the node would stop renewing silently
                    log.exception("fleet: unexpected error")
                    wait = self.cfg.renew_every
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            self.db.dispose()
            self.done.set()

    def _db_up(self) -> None:
        self._failures = 0
        if self._db_error_logged:
            log.info("fleet: the database answers again")
            self._db_error_logged = False
        if not self._db_ok:
            self._db_ok = True
            self._publish()

    def _db_down(self, exc: BaseException) -> float:
        self._failures += 1
        if self._on_unreachable is not None and isinstance(exc, DatabaseUnavailable) and exc.unreachable:
            self._on_unreachable(exc.reason)  # this thread renews every few seconds: it notices first
        if not self._db_error_logged:
            log.error("fleet: the database cannot be reached (%s); recording the %d camera unit(s) this node "
                      "holds and retrying", mask_secrets(str(exc)).split(";")[0], len(self._orders))
            self._db_error_logged = True
        self._quiet.forget()
        if self._db_ok or self._failures == 1:
            self._db_ok = False
            self._publish()
        # Back off, but never past a renewal interval: a node that comes back must renew before its TTL runs out.
        return min(self.cfg.renew_every, 0.5 * 2.0 ** min(self._failures, 6))

    def _register(self) -> None:
        stats = self._stats_now()
        others = [n for n in registry.list_nodes(self.db)
                  if n.name != self.name and n.role == NodeRole.RECORDER.value]
        self.name = registry.register(self.db, self.cfg.name, self.cfg.role, lease_ttl=self.cfg.lease_ttl,
                                      max_cameras=self.cfg.max_cameras, version=self.cfg.version,
                                      process=self.process, stats=stats)
        self._registered = True
        self._quiet.forget()
        self._error = ""
        # Nodes started together see each other before taking free units (a fleet of one needs no wait).
        self._settle_until = time.monotonic() + (self.cfg.renew_every if others else 0.0)
        self._next_renew = 0.0
        log.info("fleet: node %s registered as %s (%s)", self.name, self.cfg.role.value, self.process)

    def _stats_now(self) -> NodeStats:
        with self._lock:
            stats = self._stats
        cameras = sum(u.weight for k, u in self._units.items() if k in self._held)
        return replace(stats, cameras_held=cameras)

    def _tick(self) -> None:
        if not self._registered:
            self._register()
        mono = time.monotonic()
        if mono >= self._next_renew and not self._renew(mono):
            return
        if self.cfg.role is not NodeRole.RECORDER or self._quiet.quiet(self.db, mono, self._has_work(mono)):
            self._publish()
            return
        self._quiet.full_turn(mono)
        with self.db.session() as s:  # what placement needs, read in one go
            units = group(camera_rows_in(s))
            table = leases.table_in(s)
            nodes = {n.name: n for n in registry.nodes_in(s)}
        self._units = {u.key: u for u in units}
        if leases.ensure_rows(self.db, units, have=set(table.leases)):
            table = leases.read_table(self.db)
        me = nodes.get(self.name)
        leaving = self._stop_requested and self._handover_on_stop
        if leaving and me is not None and not me.draining:
            registry.mark_draining(self.db, self.name, self.process)  # so nobody hands it units meanwhile
        self._draining = bool(me and me.draining) or leaving
        candidates = {n.name: Candidate(n.name, n.alive, n.role == NodeRole.RECORDER.value,
                                        n.draining or (n.name == self.name and self._draining), n.max_cameras)
                      for n in nodes.values()}
        self._has_targets = any(c.eligible for c in candidates.values() if c.name != self.name)
        now = time.time()

        # What this node holds now, by the table (a renewal before it revived anything nobody took).
        held_now = {k: lease.token for k, lease in table.held_by(self.name).items()}
        _log_losses(self._held, held_now, table, self._finishing, self._from_cache)
        self._held = held_now
        self._from_cache = set()  # the database has spoken: from now on what this node holds is what it won

        # Units nobody needs any more (camera stopped or removed): release them.
        for key in [u for u in self._held if u not in self._units]:
            leases.release(self.db, key, self.name, self._held.pop(key))
        if mono >= self._next_drop:
            leases.drop_unwanted(self.db, list(self._units))
            self._next_drop = mono + DROP_UNWANTED_EVERY_S

        settling = mono < self._settle_until
        plan = plan_free(units, table.leases, candidates)
        self._take_free(plan, table, settling)
        if plan:
            table = leases.read_table(self.db)
            plan = plan_free(units, table.leases, candidates)  # what is still free after this node's turn
        expiry = table.next_expiry_s(self.name)
        self._expiry_due = None if expiry is None else time.monotonic() + expiry + EXPIRY_MARGIN_S
        self._handovers_out(table, candidates, units, plan, settling, now)
        self._handovers_in(table, candidates, now)
        self._build_orders(table)
        self._publish()

    def _has_work(self, mono: float) -> bool:  # in hand, for a full turn: handovers, stops, orders to rebuild
        return (mono < self._settle_until or self._stop_requested or self._draining or bool(self._finishing)
                or bool(self._requested_at or self._from_cache) or any(o.token is None for o in self._orders.values()))

    def _renew(self, mono: float) -> bool:
        """Heartbeat and leases, in one round of statements; False if the node had to register again."""
        cfg = self.cfg
        if not renew_round(self.db, self.name, self.process, cfg, self._stats_now()):
            log.warning("fleet: node row %s was taken over or forgotten; registering again", self.name)
            self._register()
            return False
        self._next_renew = mono + cfg.renew_every
        self._renewed_at = time.time()
        return True

    def _take_free(self, plan: dict[str, str], table: leases.LeaseTable, settling: bool) -> None:
        """Free units: take those the plan gives this node (and its own from before a restart, and any unit
        left free too long, whoever the plan named)."""
        cfg = self.cfg
        load = sum(self._units[k].weight for k in self._held if k in self._units)
        for key, target in plan.items():
            lease = table.leases.get(key)
            seen = lease.token if lease is not None else 0
            mine_before = lease is not None and lease.holder == self.name
            stale = (lease is not None and lease.expires_at is not None
                     and (table.now - lease.expires_at).total_seconds() > 2 * cfg.renew_every)
            unit = self._units[key]
            has_room = cfg.max_cameras <= 0 or load + unit.weight <= cfg.max_cameras
            if self._draining or not (mine_before or (not settling and (target == self.name or (stale and has_room)))):
                continue
            got = leases.acquire(self.db, key, self.name, cfg.lease_ttl, seen)
            if got is not None:
                self._held[key] = got
                load += unit.weight
                log.info("fleet: %s now recorded here (token %d)", key, got)

    def _handovers_out(self, table: leases.LeaseTable, candidates: dict[str, Candidate], units: list[Unit],
                       plan: dict[str, str], settling: bool, now: float) -> None:
        """As the holder: ask for handovers the plan wants; transfer at the boundary; give up on dead targets."""
        cfg = self.cfg
        mono = time.monotonic()
        for key, token in list(self._held.items()):
            lease = table.leases.get(key)
            if lease is None or lease.handover_state is None:
                self._requested_at.pop(key, None)
                continue
            target = candidates.get(lease.desired_holder or "")
            target_alive = target is not None and target.eligible
            if lease.handover_state == handover.REQUESTED:
                asked = self._requested_at.setdefault(key, mono)
                if not target_alive or mono - asked > REQUEST_TIMEOUT_S + cfg.handover_wait:
                    handover.cancel(self.db, key, self.name, token)
                    self._requested_at.pop(key, None)
                    log.warning("fleet: handover of %s to %s called off (%s)", key, lease.desired_holder,
                                "it is offline or leaving" if not target_alive else "it did not start recording")
            elif lease.handover_state in handover.READY_STATES and lease.handover_boundary is not None:
                boundary = lease.handover_boundary.timestamp()
                if now < boundary:
                    continue
                new_token = handover.transfer(self.db, key, self.name, token, cfg.lease_ttl)
                if new_token is None:
                    handover.cancel(self.db, key, self.name, token)
                    log.warning("fleet: handover of %s to %s failed (it went offline); recording on", key,
                                lease.desired_holder)
                    continue
                unit = self._units.get(key)
                order = Order(key, unit.camera_ids if unit else (), unit.room_id if unit else 0, None,
                              stop_after=boundary, stop_at_cut=lease.handover_state == handover.READY)
                with self._lock:
                    self._finishing[key] = order
                self._held.pop(key, None)
                self._requested_at.pop(key, None)
                log.info("fleet: %s handed over to %s at %s (token %d)", key, lease.desired_holder,
                         datetime.fromtimestamp(boundary).strftime("%H:%M:%S"), new_token)
        if settling:
            return
        for move in plan_moves(units, table.leases, candidates, self.name, plan):
            mine = self._held.get(move.unit)
            if mine is not None and handover.request(self.db, move.unit, self.name, mine, move.target):
                self._requested_at[move.unit] = mono
                log.info("fleet: handing %s over to %s (%s)", move.unit, move.target, move.why)

    def _handovers_in(self, table: leases.LeaseTable, candidates: dict[str, Candidate], now: float) -> None:
        """As the target: record first, then name the boundary; take the unit if the holder stalls past it."""
        cfg = self.cfg
        with self._lock:
            recording = dict(self._recording)
        for key, lease in table.leases.items():
            if lease.desired_holder != self.name or lease.holder == self.name:
                continue
            if lease.handover_state == handover.REQUESTED and key in recording and not self._draining:
                boundary, at_cut = handover_boundary(now, self.cfg)
                if handover.ready(self.db, key, self.name, datetime.fromtimestamp(boundary, UTC), at_cut):
                    log.info("fleet: recording %s; its holder %s stops at %s", key, lease.holder,
                             datetime.fromtimestamp(boundary).strftime("%H:%M:%S"))
            elif lease.handover_state in handover.READY_STATES and lease.handover_boundary is not None:
                late = now - lease.handover_boundary.timestamp()
                holder_alive = candidates.get(lease.holder or "") is not None and candidates[lease.holder or ""].alive
                if late > max(2 * cfg.renew_every, 2.0) or (late > 0 and not holder_alive):
                    token = handover.take(self.db, key, self.name, lease.token, cfg.lease_ttl)
                    if token is not None:
                        self._held[key] = token
                        log.warning("fleet: took %s over from %s, which did not hand it over (token %d)", key,
                                    lease.holder, token)

    def _build_orders(self, table: leases.LeaseTable) -> None:
        orders = orders_from(table, self._held, self._units, self.name, self._draining)
        with self._lock:
            now = time.time()
            for key, order in list(self._finishing.items()):
                if (order.stop_after or 0) + FINISH_LIMIT_S < now:
                    self._finishing.pop(key)  # the engine never said it stopped: stop ordering it
                else:
                    orders.setdefault(key, order)
            gone = [k for k in self._recording if k not in orders]
            for k in gone:
                self._recording.pop(k, None)
        self._orders = orders

    def _publish(self) -> None:
        holdings = Holdings(self.name, dict(self._orders), self._db_ok, self._renewed_at, self._draining, self._error)
        with self._lock:
            changed = holdings != self._holdings
            self._holdings = holdings
        if changed:
            self._save_cache()
            try:
                self._on_change(holdings)
            except Exception:
                log.exception("fleet: the holdings listener failed")

    def _finish_stop(self) -> bool:
        """True once this node has left the fleet (handed over what it could, released the rest)."""
        with self._lock:
            deadline, wants_handover, finishing = self._stop_deadline, self._handover_on_stop, bool(self._finishing)
        # Whether another node can take over is judged on a turn after the stop: a node that joined since the
        # last turn (a second before a SIGTERM) would otherwise be missed and the cameras released with a gap.
        if (wants_handover and (self._held or finishing) and time.monotonic() < deadline and self._db_ok
                and (self._has_targets or finishing or not self._seen_since_stop)):
            return False  # keep ticking: handovers under way, or handed-over recorders not yet at their cut
        try:
            if self._registered:
                for unit, token in list(self._held.items()):
                    leases.release(self.db, unit, self.name, token)
                registry.unregister(self.db, self.name, self.process)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("fleet: could not release this node's units (%s); they expire in %.0f s",
                        mask_secrets(str(exc)).split(";")[0], self.cfg.lease_ttl)
        self._held = {}
        self._orders = {}
        with self._lock:
            self._finishing.clear()
        self._leaving = True  # the cache keeps what this node held: a restart without the database records it
        self._publish()
        return True

    # --- local cache (fleet.holdings) ------------------------------------------------------------------

    def _save_cache(self) -> None:
        if (self.cfg.cache_dir is None or not self._db_ok or self.cfg.role is not NodeRole.RECORDER
                or self._leaving):
            return  # only what the database confirmed
        save_held(self.cfg.cache_dir, self.name, self._orders)

    def _load_cache(self) -> None:
        """What this node held when it last spoke to the database: recorded until the database answers."""
        if self.cfg.cache_dir is None or self.cfg.role is not NodeRole.RECORDER:
            return
        self._orders = load_held(self.cfg.cache_dir, self.cfg.name)  # published by the thread's first turn
        self._held = {k: o.token for k, o in self._orders.items() if o.token is not None}
        self._from_cache = set(self._held)


def _log_losses(held: dict[str, int], held_now: dict[str, int], table: leases.LeaseTable,
                finishing: Container[str], from_cache: set[str]) -> None:
    """Say which units this node held at its last turn and holds no more: another node has them now, and their
    recorders stop. Not a loss: a unit being handed over (`finishing`), or one from the cache that is free again
    (this node's clean stop released it; the plan takes it back, its own from before the restart)."""
    for key, token in held.items():
        if held_now.get(key) == token or key in finishing:
            continue
        lease = table.leases.get(key)
        who = lease.holder if lease is not None and lease.live else "nobody"
        if key in from_cache and who == "nobody":
            log.debug("fleet: %s (token %d) from the cache is free; taking it back", key, token)
            continue
        log.warning("fleet: lost %s (token %d) to %s; stopping its recorder", key, token, who)
