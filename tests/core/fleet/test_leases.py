"""Leases on SQLite and on the real MariaDB: acquire, renew, release, expiry by the database's clock, and
nodes in separate OS processes racing for the same units."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from tests.core.fleet import race_worker
from tests.support.fleet_units import holds, wanted_units


def _units(db: Database) -> list[str]:
    units = wanted_units(db)
    leases.ensure_rows(db, units)
    return [u.key for u in units]


def test_rows_are_created_once_and_start_free(fleet_db: Database) -> None:
    units = wanted_units(fleet_db)
    assert leases.ensure_rows(fleet_db, units) == 4
    assert leases.ensure_rows(fleet_db, units) == 0
    table = leases.read_table(fleet_db)
    assert sorted(table.leases) == ["camera:1", "camera:2", "camera:3", "camera:4"]
    assert all(lease.free and lease.token == 0 and lease.holder is None for lease in table.leases.values())


def test_acquire_renew_release(fleet_db: Database) -> None:
    unit = _units(fleet_db)[0]
    assert leases.acquire(fleet_db, unit, "a", 15, 0) == 1
    assert leases.acquire(fleet_db, unit, "b", 15, 1) is None  # live and not b's
    assert leases.acquire(fleet_db, unit, "b", 15, 0) is None  # stale view
    assert leases.renew(fleet_db, "a", 15) == {unit: 1}
    assert holds(fleet_db, unit, "a", 1) and not holds(fleet_db, unit, "a", 0)
    table = leases.read_table(fleet_db)
    assert table.held_by("a") == {unit: table.leases[unit]} and table.leases[unit].live
    assert not leases.release(fleet_db, unit, "a", 0)  # wrong token
    assert leases.release(fleet_db, unit, "a", 1)
    assert leases.read_table(fleet_db).leases[unit].free
    assert leases.acquire(fleet_db, unit, "b", 15, 1) == 2  # every change of holder: token + 1


def test_an_expired_lease_goes_to_the_next_node_with_token_plus_one_and_the_old_holder_is_fenced(
        fleet_db: Database) -> None:
    unit = _units(fleet_db)[0]
    assert leases.acquire(fleet_db, unit, "a", 0.4, 0) == 1
    assert leases.acquire(fleet_db, unit, "b", 15, 1) is None
    time.sleep(0.6)  # expiry is the database's: 0.4 s after a's acquire
    assert leases.read_table(fleet_db).leases[unit].free
    assert leases.acquire(fleet_db, unit, "b", 15, 1) == 2
    # a wakes up (SIGSTOP/SIGCONT, a partition healing): its renew no longer includes the unit.
    assert leases.renew(fleet_db, "a", 15) == {}
    assert not holds(fleet_db, unit, "a", 1)
    assert not leases.release(fleet_db, unit, "a", 1)
    assert leases.read_table(fleet_db).leases[unit].holder == "b"


def test_a_restarted_node_takes_back_its_own_live_lease(fleet_db: Database) -> None:
    unit = _units(fleet_db)[0]
    assert leases.acquire(fleet_db, unit, "a", 15, 0) == 1
    assert leases.acquire(fleet_db, unit, "a", 15, 1) == 2


def test_an_expired_lease_nobody_took_is_renewed_by_its_holder(fleet_db: Database) -> None:
    unit = _units(fleet_db)[0]
    leases.acquire(fleet_db, unit, "a", 0.2, 0)
    time.sleep(0.4)
    assert leases.renew(fleet_db, "a", 15) == {unit: 1}
    assert leases.read_table(fleet_db).leases[unit].live


def test_the_next_expiry_is_the_soonest_live_lease_of_another_node(fleet_db: Database) -> None:
    units = _units(fleet_db)
    assert leases.read_table(fleet_db).next_expiry_s("a") is None  # all free: nothing to wait for
    assert leases.acquire(fleet_db, units[0], "a", 5, 0) == 1
    assert leases.acquire(fleet_db, units[1], "b", 30, 0) == 1
    assert leases.acquire(fleet_db, units[2], "b", 20, 0) == 1
    table = leases.read_table(fleet_db)
    assert table.next_expiry_s("b") == pytest.approx(5, abs=1)  # a's, not its own
    assert table.next_expiry_s("a") == pytest.approx(20, abs=1)
    assert leases.release(fleet_db, units[0], "a", 1)
    assert leases.read_table(fleet_db).next_expiry_s("b") is None  # a free unit is not waited for


def test_unwanted_rows_go_once_nobody_holds_them(fleet_db: Database) -> None:
    keys = _units(fleet_db)
    leases.acquire(fleet_db, keys[0], "a", 15, 0)
    catalog.set_camera_enabled(fleet_db, "R1", "c1", False)
    catalog.set_camera_enabled(fleet_db, "R1", "c2", False)
    wanted = [u.key for u in wanted_units(fleet_db)]
    assert wanted == keys[2:]
    assert leases.drop_unwanted(fleet_db, wanted) == 1  # c2's; c1's is still held by a
    assert sorted(leases.read_table(fleet_db).leases) == [keys[0], *keys[2:]]
    leases.release(fleet_db, keys[0], "a", 1)
    assert leases.drop_unwanted(fleet_db, wanted) == 1


def _race(url: str, n_nodes: int, units: list[str], ttl: float = 30) -> list[dict[str, int]]:
    start_at = time.time() + 3.0  # every process imported and connected by then
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(n_nodes, mp_context=ctx) as pool:
        futures = [pool.submit(race_worker.grab_all, url, f"node{i}", units, start_at, ttl) for i in range(n_nodes)]
        return [f.result(timeout=60) for f in futures]


@pytest.mark.mariadb
@pytest.mark.slow
def test_nodes_racing_in_separate_processes_each_unit_won_exactly_once(mariadb_url: str) -> None:
    db = Database(mariadb_url)
    prepare_database(db)
    catalog.add_room(db, "R")
    for i in range(40):
        catalog.add_camera(db, "R", f"c{i}", f"rtsp://10.0.1.{i}/s")
    units = _units(db)
    results = _race(mariadb_url, 4, units)
    winners: dict[str, list[str]] = {}
    for i, won in enumerate(results):
        for unit, token in won.items():
            assert token == 1
            winners.setdefault(unit, []).append(f"node{i}")
    assert sorted(winners) == sorted(units)
    assert all(len(w) == 1 for w in winners.values()), winners
    table = leases.read_table(db)
    assert all(table.leases[u].holder == winners[u][0] and table.leases[u].token == 1 for u in units)

    # The same expired lease, seen with the same token by three processes: one takeover, token + 1.
    unit = units[0]
    holder = winners[unit][0]
    assert leases.acquire(db, unit, holder, 0.2, 1) == 2
    time.sleep(0.4)
    start_at = time.time() + 3.0
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(3, mp_context=ctx) as pool:
        got = [f.result(timeout=60) for f in [
            pool.submit(race_worker.take_expired, mariadb_url, f"taker{i}", unit, 2, start_at, 30) for i in range(3)]]
    assert sorted(got, key=lambda t: t or 0) == [None, None, 3]
    assert leases.renew(db, holder, 15).get(unit) is None  # the stale holder's renew no longer has it
    db.dispose()


def test_camera_holders_in_one_query_follow_the_unit_of_each_camera(fleet_db: Database) -> None:
    registry.register(fleet_db, "a", NodeRole.RECORDER, lease_ttl=15, process="ha:1")
    keys = _units(fleet_db)
    leases.acquire(fleet_db, keys[0], "a", 15, 0)
    leases.acquire(fleet_db, keys[1], "ghost", 15, 0)  # a holder with no node row (forgotten)
    holders = leases.camera_holders(fleet_db)
    assert holders[1].node == "a" and holders[1].live and holders[1].node_alive and holders[1].token == 1
    assert holders[1].lease_expires is not None
    assert holders[2].node == "ghost" and holders[2].live and not holders[2].node_alive
    assert holders[3] == leases.Holder(None, None, 0, False, False)
    # The room gets a sound source: its cameras are now one unit, free until someone takes it.
    catalog.edit_room(fleet_db, "R1", sound_source="rtsp://10.0.0.9/audio")
    assert {h.node for h in leases.camera_holders(fleet_db).values()} == {None}
    room_units = wanted_units(fleet_db)
    leases.ensure_rows(fleet_db, room_units)
    leases.acquire(fleet_db, room_units[0].key, "a", 15, 0)
    assert {h.node for h in leases.camera_holders(fleet_db).values()} == {"a"}
