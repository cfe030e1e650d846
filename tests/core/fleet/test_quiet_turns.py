"""Quiet turns: a member skips placement only while nothing it acts on has changed (issue 21: 20 nodes x 50
cameras reading every lease and camera every second starved each other's renewals)."""

from __future__ import annotations

from sqlalchemy import event

from nvr_console.core import catalog
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.quiet_turns import QuietTurns
from tests.support.fleet_units import wanted_units


def _held_by_a(db: Database) -> list[str]:
    units = wanted_units(db)
    leases.ensure_rows(db, units)
    registry.register(db, "a", NodeRole.RECORDER, lease_ttl=60, process="a:1")
    for u in units:
        assert leases.acquire(db, u.key, "a", 60, 0) == 1
    return [u.key for u in units]


def test_a_turn_is_quiet_only_while_the_fleet_is_as_the_last_turn_saw_it(fleet_db: Database) -> None:
    units = _held_by_a(fleet_db)
    turns = QuietTurns(full_every_s=3600)
    assert not turns.quiet(fleet_db, 0.0, member_busy=False)  # never saw the fleet: a full turn
    turns.full_turn(0.0)
    assert turns.quiet(fleet_db, 1.0, member_busy=False)
    assert not turns.quiet(fleet_db, 1.0, member_busy=True)  # the member has a handover or a stop in hand

    changes = [
        lambda: catalog.add_camera(fleet_db, "R1", "c9", "rtsp://10.0.0.9/s"),  # a unit without a lease row
        lambda: registry.register(fleet_db, "b", NodeRole.RECORDER, lease_ttl=60, process="b:1"),  # a node joins
        lambda: registry.mark_draining(fleet_db, "b", "b:1"),
        lambda: catalog.edit_camera(fleet_db, "R1", "c1", pinned_node="b"),  # (the edit's time)
    ]
    for change in changes:
        change()
        assert not turns.quiet(fleet_db, 2.0, member_busy=False), change
        assert turns.quiet(fleet_db, 2.0, member_busy=False)  # seen once: quiet again

    assert leases.release(fleet_db, units[0], "a", 1)
    assert not turns.quiet(fleet_db, 3.0, member_busy=False)  # a free unit: a full turn every tick until taken
    assert not turns.quiet(fleet_db, 3.0, member_busy=False)
    assert leases.acquire(fleet_db, units[0], "a", 60, 1) == 2
    assert not turns.quiet(fleet_db, 3.0, member_busy=False)  # the holder changed (token + 1)
    assert turns.quiet(fleet_db, 3.0, member_busy=False)
    assert not turns.quiet(fleet_db, 3601.0, member_busy=False)  # a full turn every full_every_s anyway
    turns.forget()
    assert not turns.quiet(fleet_db, 3.0, member_busy=False)


def test_a_quiet_turn_is_two_statements_whatever_the_fleet_holds(fleet_db: Database) -> None:
    for i in range(5, 45):
        catalog.add_camera(fleet_db, "R1", f"c{i}", f"rtsp://10.0.0.{i}/s")
    _held_by_a(fleet_db)
    turns = QuietTurns(full_every_s=3600)
    assert not turns.quiet(fleet_db, 0.0, member_busy=False)
    turns.full_turn(0.0)
    statements: list[str] = []
    event.listen(fleet_db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: statements.append(sql))
    assert turns.quiet(fleet_db, 1.0, member_busy=False)
    assert len(statements) == 2, statements
