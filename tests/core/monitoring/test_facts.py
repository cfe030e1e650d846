"""What the rules and metrics read: this node's recordings only, and every node sharing the database (alive,
dead or stopped cleanly, its leases, its oldest waiting file), on SQLite and MariaDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.monitoring.facts import read_facts
from tests.support.fleet_units import wanted_units
from tests.support.recording_rows import add_recording

SLOT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_facts_are_this_nodes_files_and_every_nodes_state(any_db_url: str,
                                                          settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"database.url": any_db_url, "node.name": "here", "retention.min_free_space": "1G"})
    db = Database(any_db_url)
    prepare_database(db)
    catalog.add_room(db, "R")
    cams = [catalog.add_camera(db, "R", f"c{i}", f"rtsp://10.0.0.{i}/s") for i in range(3)]
    for name in ("here", "there"):
        registry.register(db, name, "recorder", lease_ttl=30, process=f"{name}:1")
    registry.register(db, "dead", "recorder", lease_ttl=0.5, process="dead:1")
    registry.register(db, "left", "recorder", lease_ttl=30, process="left:1")
    registry.unregister(db, "left", "left:1")
    leases.ensure_rows(db, wanted_units(db))
    units = sorted(leases.read_table(db).leases)
    for unit, node in zip(units, ("there", "there", "here"), strict=True):
        assert leases.acquire(db, unit, node, 30, 0) == 1
    # Waiting files: this node's finished an hour ago, another's two hours ago; verified copies of each.
    add_recording(db, cams[0], RecordingStatus.READY, SLOT, node="here", end_time=SLOT + timedelta(hours=1))
    add_recording(db, cams[1], RecordingStatus.READY, SLOT - timedelta(hours=1), node="there",
                  end_time=SLOT)
    add_recording(db, cams[2], RecordingStatus.UPLOADED, SLOT, node="here", size=1000, md5="ab" * 16)
    add_recording(db, cams[2], RecordingStatus.UPLOADED, SLOT + timedelta(hours=1), node="there", size=5000,
                  md5="ab" * 16)
    time.sleep(1.2)  # "dead" expires without a clean stop

    facts = read_facts(settings, db)
    assert facts.db_ok
    assert facts.oldest_waiting_since == (SLOT + timedelta(hours=1)).timestamp()  # not "there"'s older one
    assert facts.reclaimable_bytes == 1000  # retention here frees this node's copies only
    nodes = {n.name: n for n in facts.nodes}
    assert sorted(nodes) == ["dead", "here", "left", "there"]
    assert (nodes["here"].alive, nodes["there"].alive, nodes["dead"].alive, nodes["left"].alive) == (
        True, True, False, False)
    assert not nodes["dead"].stopped and nodes["left"].stopped
    assert nodes["dead"].expired_for > 0.5 and nodes["here"].expired_for == 0
    assert (nodes["there"].leases, nodes["here"].leases, nodes["dead"].leases) == (2, 1, 0)
    assert nodes["there"].oldest_waiting_since == SLOT.timestamp() and nodes["dead"].oldest_waiting_since is None
    assert facts.node_gone_open == frozenset()
    # Registering again clears a clean stop.
    registry.register(db, "left", "recorder", lease_ttl=30, process="left:2")
    assert {n.name: n for n in read_facts(settings, db).nodes}["left"].stopped is False
    db.dispose()
