"""FleetMember: several nodes (threads of their own, each with its own connections) on one database, with a
stand-in for the engine that obeys their orders. Short TTLs; the real engine processes are tested elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import event

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.holdings import Holdings
from nvr_console.core.fleet.member import EXPIRY_MARGIN_S, FleetMember, MemberConfig, renew_round, turn_wait
from nvr_console.core.fleet.registry import NodeStats
from tests.core.fleet import fleet_rig
from tests.support.fleet_units import wanted_units
from tests.support.mariadb import MariaDBServer
from tests.support.tcp_proxy import TcpProxy

TTL = 2.0


class Recorders:
    """Stands in for an engine: records what the orders say, reports it, stops handed-over units at the cut."""

    def __init__(self) -> None:
        self.member: FleetMember | None = None
        self.lock = threading.Lock()
        self.holdings = Holdings("")
        self.running: dict[str, float] = {}
        self.history: list[Holdings] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def on_change(self, holdings: Holdings) -> None:
        with self.lock:
            self.holdings = holdings
            self.history.append(holdings)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            with self.lock:
                orders = dict(self.holdings.orders)
            member = self.member
            if member is None:
                continue
            now = time.time()
            for unit, order in orders.items():
                if order.stop_after is not None and now >= order.stop_after + 0.1:
                    if self.running.pop(unit, None) is not None:
                        member.not_recording(unit)
                    continue
                if unit not in self.running:
                    self.running[unit] = now
                    member.recording(unit, now)
            for unit in [u for u in self.running if u not in orders]:
                self.running.pop(unit)
                member.not_recording(unit)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def units(self) -> set[str]:
        return set(self.running)


wait_for = partial(fleet_rig.wait_for, step=0.05)  # in-memory conditions: polled finely

Spawn = Callable[..., tuple[FleetMember, Recorders]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    made: list[tuple[FleetMember, Recorders]] = []

    def make(url: str, name: str, role: NodeRole = NodeRole.RECORDER, **kw: object) -> tuple[FleetMember, Recorders]:
        rec = Recorders()
        told = kw.pop("on_unreachable", None)
        cfg = MemberConfig(url, name, role, lease_ttl=float(kw.pop("ttl", TTL)), segment_length=2.0,
                           cache_dir=tmp_path / name, **kw)  # type: ignore[arg-type]
        member = FleetMember(cfg, rec.on_change, process=f"{name}-host:{len(made) + 1}",
                             on_unreachable=told)  # type: ignore[arg-type]
        rec.member = member
        member.start()
        made.append((member, rec))
        return member, rec

    yield make
    for member, rec in made:
        member.stop()
        member.join(10)
        rec.close()


def _db(url: str, cameras: int) -> Database:
    db = Database(url)
    prepare_database(db)
    catalog.add_room(db, "R")
    for i in range(cameras):
        catalog.add_camera(db, "R", f"c{i}", f"rtsp://10.0.0.{i}/s")
    return db


def test_a_single_node_takes_every_camera_at_once_and_follows_the_catalog(tmp_path: Path, spawn: Spawn) -> None:
    url = f"sqlite:///{tmp_path / 'one.sqlite3'}"
    db = _db(url, 3)
    member, rec = spawn(url, "solo")
    assert wait_for(lambda: len(rec.units()) == 3, 5), rec.holdings
    assert all(o.token == 1 for o in member.holdings().orders.values())
    catalog.add_camera(db, "R", "c9", "rtsp://10.0.0.9/s")
    assert wait_for(lambda: len(rec.units()) == 4, 5)
    catalog.set_camera_enabled(db, "R", "c0", False)
    assert wait_for(lambda: len(rec.units()) == 3, 5)
    table = leases.read_table(db)
    assert sorted(k for k, v in table.leases.items() if v.holder == "solo") == sorted(rec.units())
    member.stop()
    assert member.join(10)
    assert rec.holdings.orders == {} and all(v.holder is None for v in leases.read_table(db).leases.values())
    assert not registry.get_node(db, "solo").alive
    db.dispose()


def test_the_next_turn_comes_at_another_nodes_expiry_when_that_is_sooner_than_a_tick() -> None:
    assert turn_wait(1.0, None, 100.0) == 1.0  # no lease of another node runs out
    assert turn_wait(1.0, 100.3, 100.0) == pytest.approx(0.3)  # a dead node's units: at their expiry
    assert turn_wait(1.0, 105.0, 100.0) == 1.0
    assert turn_wait(1.0, 99.0, 100.0) == 1.0  # past (renewed meanwhile): no turn in a loop
    assert turn_wait(1.0, 100.001, 100.0) == EXPIRY_MARGIN_S


def test_a_renewal_is_two_statements_whatever_the_node_holds(any_db_url: str) -> None:
    # 20 nodes x 50 cameras on one server: what a renewal costs must not grow with what a node holds (issue 21).
    db = _db(any_db_url, 60)
    units = wanted_units(db)
    leases.ensure_rows(db, units)
    held = {"few": units[:1], "many": units[1:]}
    for name, mine in held.items():
        registry.register(db, name, NodeRole.RECORDER, lease_ttl=15, process=f"{name}:1")
        assert all(leases.acquire(db, u.key, name, 15, 0) == 1 for u in mine)
    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    counts = {}
    for name in held:
        statements.clear()
        assert renew_round(db, name, f"{name}:1", MemberConfig(any_db_url, name, NodeRole.RECORDER, lease_ttl=600),
                           NodeStats(cameras_held=len(held[name])))
        counts[name] = len(statements)
    assert counts == {"few": 2, "many": 2}, statements
    table = leases.read_table(db)
    assert all((table.leases[u.key].expires_at - table.now).total_seconds() > 300  # type: ignore[operator]
               for mine in held.values() for u in mine)  # every lease renewed by the one statement
    assert not renew_round(db, "many", "other:2", MemberConfig(any_db_url, "many", NodeRole.RECORDER), NodeStats())
    db.dispose()


@pytest.fixture
def maria(mariadb_server: MariaDBServer) -> str:
    return mariadb_server.create_database()


@pytest.mark.mariadb
def test_three_nodes_share_the_cameras_evenly_each_recorded_once(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 7)
    nodes = [spawn(maria, name) for name in ("n1", "n2", "n3")]

    def counts() -> list[int]:
        return sorted(len(r.units()) for _, r in nodes)

    def balanced() -> bool:  # no handover under way (a standby records too) and 2-2-3
        return all(v.handover_state is None for v in leases.read_table(db).leases.values()) and counts() == [2, 2, 3]

    # Settling takes a few handovers, each at a segment cut: how long depends on the machine's load.
    assert wait_for(balanced, 30), counts()
    time.sleep(2 * TTL)  # and it stays so: no more moves
    assert balanced(), counts()
    all_units = [u for _, r in nodes for u in r.units()]
    assert len(all_units) == len(set(all_units)) == 7
    db.dispose()


@pytest.mark.mariadb
def test_a_late_node_gets_its_share_by_planned_handovers(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 4)
    _, first = spawn(maria, "first")
    assert wait_for(lambda: len(first.units()) == 4, 10)
    _, late = spawn(maria, "late")
    assert wait_for(lambda: len(late.units()) == 2 and len(first.units()) == 2, 20), (first.units(), late.units())
    # Both handovers complete: the leases moved to the late node, each with a new token.
    assert wait_for(lambda: {k for k, v in leases.read_table(db).leases.items() if v.holder == "late"} == late.units(),
                    5)
    assert all(v.token == 2 for v in leases.read_table(db).leases.values() if v.holder == "late")
    db.dispose()


@pytest.mark.mariadb
def test_a_dead_nodes_cameras_move_after_the_ttl_with_new_tokens(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 4)
    a, rec_a = spawn(maria, "a")
    _, rec_b = spawn(maria, "b")
    assert wait_for(lambda: len(rec_a.units()) == 2 and len(rec_b.units()) == 2, 15)

    def settled() -> bool:  # no handover under way, and the table says what the nodes record
        table = leases.read_table(db).leases
        return (all(v.handover_state is None for v in table.values())
                and {k for k, v in table.items() if v.holder == "a"} == rec_a.units())

    assert wait_for(settled, 15)
    before = leases.read_table(db).leases
    lost = set(rec_a.units())
    _kill(a)  # the node dies: its thread stops without releasing anything (as SIGKILL would)
    died = time.monotonic()
    assert wait_for(lambda: len(rec_b.units()) == 4, 3 * TTL + 5)
    took = time.monotonic() - died
    assert TTL * 0.5 < took < TTL + 3, took  # after the lease expires, not before
    table = leases.read_table(db)
    assert all(table.leases[u].holder == "b" and table.leases[u].token == before[u].token + 1 for u in lost)
    db.dispose()


@pytest.mark.mariadb
def test_drain_hands_everything_over_and_takes_nothing_new(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 4)
    _, rec_a = spawn(maria, "a")
    _, rec_b = spawn(maria, "b")
    assert wait_for(lambda: len(rec_a.units()) == 2 and len(rec_b.units()) == 2, 15)
    registry.set_draining(db, "a")
    assert wait_for(lambda: not rec_a.units() and len(rec_b.units()) == 4, 20), (rec_a.units(), rec_b.units())
    catalog.add_camera(db, "R", "new", "rtsp://10.0.0.99/s")
    assert wait_for(lambda: len(rec_b.units()) == 5, 10) and not rec_a.units()
    # Overlap only inside each handover: b started every unit before a stopped it.
    db.dispose()


def _gaps_while_stopping(a: FleetMember, rec_a: Recorders, rec_b: Recorders, units: int,
                         timeout_s: float) -> list[str]:
    """Moments, until `a` has left, when fewer than `units` units were recorded by a or b (polled every 20 ms)."""
    gaps: list[str] = []
    while not a.done.wait(0.02) and timeout_s > 0:
        timeout_s -= 0.02
        if len(rec_a.units() | rec_b.units()) < units:
            gaps.append(f"{rec_a.units()} {rec_b.units()}")
    assert a.done.is_set(), "a did not leave in time"
    return gaps


@pytest.mark.mariadb
def test_stop_with_handover_leaves_nothing_unrecorded(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 3)
    a, rec_a = spawn(maria, "a")
    assert wait_for(lambda: len(rec_a.units()) == 3, 10)
    _, rec_b = spawn(maria, "b")
    assert wait_for(lambda: rec_b.units(), 20)
    a.stop(handover=True, timeout_s=20)
    assert not _gaps_while_stopping(a, rec_a, rec_b, 3, 25)
    assert wait_for(lambda: len(rec_b.units()) == 3, 5)
    db.dispose()


@pytest.mark.mariadb
def test_stop_hands_over_to_a_node_that_joined_a_moment_before(maria: str, spawn: Spawn) -> None:
    # a's last look at the nodes is from before b joined (a turn every 5 s): the stop must look again rather
    # than release the cameras to nobody (seen with a SIGTERM 0.1 s after the other node registered).
    db = _db(maria, 2)
    a, rec_a = spawn(maria, "a", ttl=15, tick_s=5.0)
    assert wait_for(lambda: len(rec_a.units()) == 2, 10)
    time.sleep(0.5)  # a's turn that took the units is behind it; its next is 5 s away
    _, rec_b = spawn(maria, "b", ttl=15)
    assert wait_for(lambda: fleet_rig.alive(db, "b"), 10)
    a.stop(handover=True, timeout_s=30)
    assert not _gaps_while_stopping(a, rec_a, rec_b, 2, 35)  # handed over: b recorded before a stopped
    assert {v.holder for v in leases.read_table(db).leases.values()} == {"b"}
    db.dispose()


@pytest.mark.mariadb
def test_a_paused_node_loses_its_units_and_stops_them_when_it_wakes(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 2)
    a, rec_a = spawn(maria, "a")
    assert wait_for(lambda: len(rec_a.units()) == 2, 10)
    with _paused(a):  # SIGSTOP of the fleet thread: no renewals for longer than the TTL
        # b comes after the pause: no balance handover under way (its source would stop at the cut, rightly).
        _, rec_b = spawn(maria, "b")
        assert wait_for(lambda: len(rec_b.units()) == 2, 3 * TTL + 5)
        assert len(rec_a.units()) == 2  # still recording while paused: it cannot know yet
    assert wait_for(lambda: not rec_a.units(), 5)  # woke up, renewed, found them gone: stopped
    assert {v.holder for v in leases.read_table(db).leases.values()} == {"b"}
    db.dispose()


@pytest.mark.mariadb
def test_partitioned_node_keeps_recording_then_gives_up_what_was_taken(mariadb_server: MariaDBServer,
                                                                        spawn: Spawn) -> None:
    url = mariadb_server.create_database()
    db = _db(url, 2)
    with TcpProxy(mariadb_server.port) as proxy:
        cut_url = url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        _a, rec_a = spawn(cut_url, "a")
        _, rec_b = spawn(url, "b")
        assert wait_for(lambda: len(rec_a.units()) == 1 and len(rec_b.units()) == 1, 15)
        proxy.cut()
        assert wait_for(lambda: not rec_a.holdings.db_ok, 10)
        assert wait_for(lambda: len(rec_b.units()) == 2, 3 * TTL + 5)
        time.sleep(1)
        assert len(rec_a.units()) == 1  # cut off: keeps recording (a duplicate is worth more than a gap)
        proxy.restore()
        assert wait_for(lambda: rec_a.holdings.db_ok and not rec_a.units(), 15), rec_a.holdings
    assert len(rec_b.units()) == 2
    db.dispose()


@pytest.mark.mariadb
def test_the_member_opens_the_engines_outage_breaker_when_the_server_goes_silent(
        mariadb_server: MariaDBServer, spawn: Spawn) -> None:
    # The member renews every TTL/5 with short timeouts: it notices a dead link first, and the engine's own
    # statements are refused from then on instead of each waiting out its timeouts.
    url = mariadb_server.create_database()
    db = _db(url, 1)
    with TcpProxy(mariadb_server.port) as proxy:
        cut_url = url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        engine_db = Database(cut_url, fail_fast=True)
        assert engine_db.breaker is not None
        _a, rec_a = spawn(cut_url, "a", on_unreachable=engine_db.breaker.failed)
        assert wait_for(lambda: len(rec_a.units()) == 1, 15)
        proxy.cut()
        assert wait_for(lambda: engine_db.breaker.open, 15)  # type: ignore[union-attr]
        tried = proxy.attempts
        with pytest.raises(DatabaseUnavailable, match="checked again in the background"):
            catalog.list_rooms(engine_db)  # the engine never tried the server itself: refused here
        assert proxy.attempts - tried <= 2  # the member's and the probe's own attempts, at most
        proxy.restore()
        assert wait_for(lambda: not engine_db.breaker.open, 20)  # type: ignore[union-attr]
        assert [r.name for r in catalog.list_rooms(engine_db)] == ["R"]
        engine_db.dispose()
    db.dispose()


@pytest.mark.mariadb
def test_a_node_started_while_the_database_is_down_records_what_it_held(mariadb_server: MariaDBServer,
                                                                         spawn: Spawn, tmp_path: Path) -> None:
    url = mariadb_server.create_database()
    db = _db(url, 2)
    with TcpProxy(mariadb_server.port) as proxy:
        cut_url = url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        first, rec = spawn(cut_url, "a")
        assert wait_for(lambda: len(rec.units()) == 2, 10)
        _kill(first)  # the node stops (its cache says what it held)
        proxy.cut("reset")
        again, rec2 = spawn(cut_url, "a")
        assert wait_for(lambda: len(rec2.units()) == 2, 2)  # from the cache, with no database
        assert not rec2.holdings.db_ok
        time.sleep(TTL)
        assert len(rec2.units()) == 2  # and the thread keeps retrying, not giving up
        proxy.restore()
        assert wait_for(lambda: rec2.holdings.db_ok and registry.get_node(db, "a").process == again.process, 10)
        assert wait_for(lambda: len(rec2.units()) == 2, 5)
    db.dispose()


@pytest.mark.mariadb
def test_control_stations_hold_nothing(maria: str, spawn: Spawn) -> None:
    db = _db(maria, 2)
    _, ctl = spawn(maria, "desk", NodeRole.CONTROL)
    _, rec = spawn(maria, "srv")
    assert wait_for(lambda: len(rec.units()) == 2, 10)
    time.sleep(TTL)
    assert not ctl.units() and registry.get_node(db, "desk").role == "control"
    db.dispose()


def _kill(member: FleetMember) -> None:
    """The node dies: its thread ends without releasing or unregistering (what SIGKILL leaves behind)."""
    member._finish_stop = lambda: True  # type: ignore[method-assign]
    member.stop()
    assert member.join(10)


class _paused:
    """Freeze a member's thread (its next database call blocks) for the duration of the block."""

    def __init__(self, member: FleetMember) -> None:
        self.member = member
        self.gate = threading.Event()

    def __enter__(self) -> None:
        original = self.member._tick
        gate = self.gate

        def frozen() -> None:
            gate.wait()
            self.member._tick = original  # type: ignore[method-assign]
            original()

        self.member._tick = frozen  # type: ignore[method-assign]

    def __exit__(self, *exc: object) -> None:
        self.gate.set()
