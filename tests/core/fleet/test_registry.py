"""The node registry on SQLite and MariaDB: register, heartbeat, one live recorder per name, drain, forget."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Node, NodeRole, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.registry import NodeNameInUse, NodeStats
from nvr_console.core.live_state.store import write_engine_status
from nvr_console.core.status import QueueStatus
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.system.node_identity import node_name
from tests.support.fleet_units import wanted_units


def _heartbeat(db: Database, name: str, process: str, lease_ttl: float, stats: NodeStats) -> bool:
    with db.session() as s:
        return registry.heartbeat_in(s, name, process, lease_ttl, stats)

def test_register_heartbeat_and_list(fleet_db: Database) -> None:
    name = registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, max_cameras=8, version="1.2",
                             process="srv1:100")
    assert name == "srv1"
    assert _heartbeat(fleet_db, "srv1", "srv1:100", 15, NodeStats(3, 10**9, 2, 5000))
    [info] = registry.list_nodes(fleet_db)
    assert (info.name, info.role, info.process, info.version, info.max_cameras) == (
        "srv1", "recorder", "srv1:100", "1.2", 8)
    assert info.alive and info.seconds_since_heartbeat < 5
    assert (info.cameras_held, info.free_disk, info.queue_files, info.queue_bytes) == (3, 10**9, 2, 5000)
    assert info.public()["started_at"].startswith(str(datetime.now(UTC).year))
    assert not _heartbeat(fleet_db, "srv1", "srv1:999", 15, NodeStats())  # not that process's row


def test_a_live_recorder_name_is_not_taken_by_another_process(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="otherhost:100")
    with pytest.raises(NodeNameInUse, match=r"node name 'srv1' is in use by a running recorder \(otherhost:100"):
        registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="thishost:200")


def test_a_dead_predecessor_on_this_host_is_replaced_at_once(fleet_db: Database) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead = node_name(int(gone.stdout))
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=600, process=dead)
    assert registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15) == "srv1"
    assert registry.get_node(fleet_db, "srv1").process == node_name()


def test_an_expired_node_is_taken_over_and_its_old_process_loses_its_heartbeat(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=0.3, process="otherhost:100")
    time.sleep(0.5)
    assert not registry.get_node(fleet_db, "srv1").alive
    assert registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="otherhost:101") == "srv1"
    assert not _heartbeat(fleet_db, "srv1", "otherhost:100", 15, NodeStats())


def test_a_console_sharing_a_recorders_name_registers_beside_it(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="srv1:100")
    assert registry.register(fleet_db, "srv1", NodeRole.CONTROL, lease_ttl=15, process="srv1:200") == "srv1-console"
    assert registry.register(fleet_db, "srv1", NodeRole.CONTROL, lease_ttl=15, process="srv1:300") == (
        "srv1-console-2")
    roles = {n.name: n.role for n in registry.list_nodes(fleet_db)}
    assert roles == {"srv1": "recorder", "srv1-console": "control", "srv1-console-2": "control"}


def test_pause_state_comes_from_the_nodes_process(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15)
    write_engine_status(fleet_db, time.time(), QueueStatus(3, 100, 0.0, paused=True, reason="Drive quota is full"))
    [info] = registry.list_nodes(fleet_db)
    assert info.uploads_paused and info.pause_reason == "Drive quota is full"


def test_drain(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="srv1:1")
    registry.register(fleet_db, "desk", NodeRole.CONTROL, lease_ttl=15, process="desk:1")
    assert registry.set_draining(fleet_db, "srv1").draining
    with pytest.raises(InvalidInput, match="control station"):
        registry.set_draining(fleet_db, "desk")
    with pytest.raises(catalog.NotFound, match=r"no node named 'nope' \(nodes: desk, srv1\)"):
        registry.set_draining(fleet_db, "nope")
    # A drained node that starts again records again.
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="srv1:1")
    assert not registry.get_node(fleet_db, "srv1").draining


def test_forget_refuses_live_nodes_and_unuploaded_files_and_frees_leases(fleet_db: Database) -> None:
    registry.register(fleet_db, "srv1", NodeRole.RECORDER, lease_ttl=0.5, process="otherhost:1")
    units = wanted_units(fleet_db)
    leases.ensure_rows(fleet_db, units)
    leases.acquire(fleet_db, units[0].key, "srv1", 0.5, 0)
    with pytest.raises(InvalidInput, match="is alive"):
        registry.forget(fleet_db, "srv1")
    with fleet_db.session() as s:
        s.add(Recording(room_name="R1", camera_name="c1", slot_start=datetime.now(UTC), local_path="/r/x.mp4",
                        local_path_key="k", status="ready", node="srv1"))
    time.sleep(0.7)
    with pytest.raises(InvalidInput, match="1 recording.* not uploaded"):
        registry.forget(fleet_db, "srv1")
    registry.forget(fleet_db, "srv1", force=True)
    assert registry.list_nodes(fleet_db) == []
    lease = leases.read_table(fleet_db).leases[units[0].key]
    assert lease.holder is None and lease.free


@pytest.mark.mariadb
def test_two_processes_registering_one_new_name_at_once(mariadb_url: str) -> None:
    """Spawned in separate OS processes: one registers, the other is refused (never both)."""
    db = Database(mariadb_url)
    prepare_database(db)
    # A barrier, not a start time: each process says it is connected, then waits for the word to go. (A start
    # line 3 s ahead was already past under load: interpreter start, imports and connect took longer.)
    code = (
        "import sys; from nvr_console.core.db.session import Database; "
        "from nvr_console.core.fleet import registry; "
        "db = Database(sys.argv[1]); db.check_connection(); print('ready', flush=True); sys.stdin.readline()"
        "\ntry:\n    registry.register(db, 'same', 'recorder', lease_ttl=30); print('ok')"
        "\nexcept registry.NodeNameInUse:\n    print('refused')"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, mariadb_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ}) for _ in range(3)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert outs == ["ok", "refused", "refused"], outs
    with db.session() as s:
        assert s.get(Node, "same") is not None
    db.dispose()
