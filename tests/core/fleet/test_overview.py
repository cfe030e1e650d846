"""What a console shows of the fleet: every node, and each camera's holder with its node's liveness."""

from __future__ import annotations

import time

from nvr_console.core import catalog
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.overview import CameraNode, read_overview
from tests.support.fleet_units import wanted_units


def test_a_single_machine_is_not_several(fleet_db: Database) -> None:
    assert not read_overview(fleet_db).several  # nobody registered yet
    registry.register(fleet_db, "me", NodeRole.RECORDER, lease_ttl=15, process="me:1")
    units = wanted_units(fleet_db)
    leases.ensure_rows(fleet_db, units)
    leases.acquire(fleet_db, units[0].key, "me", 15, 0)
    view = read_overview(fleet_db)
    assert not view.several and [n.name for n in view.nodes] == ["me"]
    assert list(view.cameras.values()) == [CameraNode("me", True)]


def test_holders_of_two_nodes_one_of_them_offline(fleet_db: Database) -> None:
    registry.register(fleet_db, "a", NodeRole.RECORDER, lease_ttl=15, process="ha:1")
    registry.register(fleet_db, "dead", NodeRole.RECORDER, lease_ttl=0.3, process="hd:1")
    registry.register(fleet_db, "desk", NodeRole.CONTROL, lease_ttl=15, process="hk:1")
    units = wanted_units(fleet_db)
    leases.ensure_rows(fleet_db, units)
    leases.acquire(fleet_db, units[0].key, "a", 15, 0)
    leases.acquire(fleet_db, units[1].key, "dead", 15, 0)
    time.sleep(0.4)  # "dead" stops heartbeating
    cams = {c.name: c.id for c in catalog.list_cameras(fleet_db)}
    view = read_overview(fleet_db)
    assert view.several and view.recorders() == ["a", "dead"]
    assert view.cameras[cams["c1"]].text == "a"
    assert view.cameras[cams["c2"]].text == "offline node dead"
    assert cams["c3"] not in view.cameras  # nobody holds it
    assert {n.name: n.alive for n in view.nodes} == {"a": True, "dead": False, "desk": True}
