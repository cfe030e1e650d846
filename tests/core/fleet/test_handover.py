"""The handover protocol's steps on SQLite and MariaDB: each one conditional, in order, and safe when a node dies."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import handover, leases, registry
from tests.support.fleet_units import handover_target, holds, wanted_units

BOUNDARY = datetime(2026, 11, 23, 10, 0, 30, tzinfo=UTC)


def _held_by_a(db: Database, b_ttl: float = 15) -> str:
    registry.register(db, "a", NodeRole.RECORDER, lease_ttl=15, process="ha:1")
    registry.register(db, "b", NodeRole.RECORDER, lease_ttl=b_ttl, process="hb:1")
    units = wanted_units(db)
    leases.ensure_rows(db, units)
    unit = units[0].key
    assert leases.acquire(db, unit, "a", 15, 0) == 1
    return unit


def test_request_ready_transfer(fleet_db: Database) -> None:
    unit = _held_by_a(fleet_db)
    assert not handover.request(fleet_db, unit, "a", 0, "b")  # stale token
    assert handover.request(fleet_db, unit, "a", 1, "b")
    assert not handover.request(fleet_db, unit, "a", 1, "c")  # one handover at a time
    assert handover_target(fleet_db, unit) == "b"
    assert not handover.transfer(fleet_db, unit, "a", 1, 15)  # b is not recording yet
    assert not handover.ready(fleet_db, unit, "c", BOUNDARY)
    assert handover.ready(fleet_db, unit, "b", BOUNDARY)
    lease = leases.read_table(fleet_db).leases[unit]
    assert (lease.holder, lease.handover_state, lease.handover_boundary) == ("a", "ready", BOUNDARY)
    assert handover.transfer(fleet_db, unit, "a", 1, 15) == 2
    lease = leases.read_table(fleet_db).leases[unit]
    assert (lease.holder, lease.token, lease.desired_holder, lease.handover_state) == ("b", 2, None, None)
    assert lease.live
    assert leases.renew(fleet_db, "a", 15) == {} and leases.renew(fleet_db, "b", 15) == {unit: 2}


def test_no_transfer_to_a_target_that_died_and_the_holder_cancels(fleet_db: Database) -> None:
    unit = _held_by_a(fleet_db, b_ttl=0.3)
    handover.request(fleet_db, unit, "a", 1, "b")
    handover.ready(fleet_db, unit, "b", BOUNDARY)
    time.sleep(0.5)  # b stops heartbeating
    assert handover.transfer(fleet_db, unit, "a", 1, 15) is None
    assert handover.cancel(fleet_db, unit, "a", 1)
    lease = leases.read_table(fleet_db).leases[unit]
    assert (lease.holder, lease.token, lease.handover_state) == ("a", 1, None)
    assert not handover.cancel(fleet_db, unit, "a", 1)  # nothing under way


def test_the_target_takes_over_when_the_holder_stalls_and_fencing_stops_the_holder(fleet_db: Database) -> None:
    unit = _held_by_a(fleet_db)
    handover.request(fleet_db, unit, "a", 1, "b")
    assert handover.take(fleet_db, unit, "b", 1, 15) is None  # not ready yet
    handover.ready(fleet_db, unit, "b", BOUNDARY)
    assert handover.take(fleet_db, unit, "c", 1, 15) is None  # not c's
    assert handover.take(fleet_db, unit, "b", 1, 15) == 2
    assert handover.transfer(fleet_db, unit, "a", 1, 15) is None  # a wakes up late: nothing to transfer
    assert not holds(fleet_db, unit, "a", 1) and holds(fleet_db, unit, "b", 2)
