"""`nodes list/drain/forget`, pins, and the holder in `cameras list` and `status`, through main()."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from tests.cli.test_admin_commands import run
from tests.support.fleet_units import wanted_units


@pytest.fixture
def fleet(any_db_url: str, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Database, tuple[str, str]]]:
    db = Database(any_db_url)
    prepare_database(db)
    args = ("--database-url", any_db_url)
    assert run(capsys, "rooms", "add", "A-101", *args)[0] == 0
    for cam in ("front", "back"):
        code = run(capsys, "cameras", "add", "--room", "A-101", "--name", cam, "--url", f"rtsp://h/{cam}", *args)[0]
        assert code == 0
    yield db, args
    db.dispose()


Fleet = tuple[Database, tuple[str, str]]


def test_nodes_list_drain_and_forget(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    db, args = fleet
    code, out, _ = run(capsys, "nodes", "list", *args)
    assert code == 0 and "no nodes yet" in out
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=15, max_cameras=10, version="0.1.0",
                      process="srv1:10", stats=registry.NodeStats(2, 50 * 1024**3, 3, 7 * 1024**2))
    registry.register(db, "old", NodeRole.RECORDER, lease_ttl=0.3, process="old:10")
    registry.register(db, "desk", NodeRole.CONTROL, lease_ttl=15, process="desk:10")
    time.sleep(0.5)
    code, out, _ = run(capsys, "nodes", "list", *args)
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert code == 0 and set(lines) == {"srv1", "old", "desk"}
    assert "recorder" in lines["srv1"] and "alive" in lines["srv1"] and "2/10" in lines["srv1"]
    assert "50 GiB" in lines["srv1"] and "3 (7 MiB)" in lines["srv1"]
    assert "offline" in lines["old"] and "control" in lines["desk"]
    data = {n["name"]: n for n in json.loads(run(capsys, "nodes", "list", "--json", *args)[1])}
    assert data["srv1"]["alive"] and not data["old"]["alive"] and data["srv1"]["free_disk"] == 50 * 1024**3
    assert {"role", "version", "started_at", "heartbeat_at", "cameras_held", "queue_files", "queue_bytes",
            "draining", "uploads_paused"} <= set(data["srv1"])

    code, out, _ = run(capsys, "nodes", "drain", "srv1", *args)
    assert code == 0 and "draining node 'srv1'" in out
    assert "draining" in run(capsys, "nodes", "list", *args)[1]
    code, _, err = run(capsys, "nodes", "drain", "desk", *args)
    assert code == 2 and "control station" in err
    code, _, err = run(capsys, "nodes", "drain", "nope", *args)
    assert code == 2 and "no node named 'nope'" in err

    code, _, err = run(capsys, "nodes", "forget", "srv1", *args)
    assert code == 2 and "is alive" in err
    with db.session() as s:
        s.add(Recording(room_name="A-101", camera_name="front", slot_start=datetime.now(UTC), local_path="/r/1.mp4",
                        local_path_key="k1", status="ready", node="old", size=100))
    code, out, _ = run(capsys, "status", *args)
    assert "1 waiting file(s) are on offline node(s) old: not lost" in out
    status = json.loads(run(capsys, "status", "--json", *args)[1])
    assert status["queue"]["offline_files"] == 1 and status["queue"]["offline_nodes"] == ["old"]
    code, _, err = run(capsys, "nodes", "forget", "old", *args)
    assert code == 2 and "1 recording(s) not uploaded" in err and "--force" in err
    code, out, _ = run(capsys, "nodes", "forget", "old", "--force", *args)
    assert code == 0 and "forgot node 'old'" in out
    assert "old" not in {n["name"] for n in json.loads(run(capsys, "nodes", "list", "--json", *args)[1])}


def test_pins_and_the_holder_in_cameras_list_and_status(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    db, args = fleet
    assert run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--node", "srv2", *args)[0] == 0
    assert run(capsys, "rooms", "edit", "A-101", "--node", "srv1", *args)[0] == 0
    cams = {c["name"]: c for c in json.loads(run(capsys, "cameras", "list", "--json", *args)[1])}
    assert cams["front"]["pinned_node"] == "srv2" and cams["back"]["pinned_node"] is None
    rooms = json.loads(run(capsys, "rooms", "list", "--json", *args)[1])
    assert rooms[0]["pinned_node"] == "srv1"
    assert {u.key: u.pinned_node for u in wanted_units(db)} == {f"camera:{cams['front']['id']}": "srv2",
                                                                f"camera:{cams['back']['id']}": "srv1"}

    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=15, process="srv1:10")
    units = wanted_units(db)
    leases.ensure_rows(db, units)
    back = f"camera:{cams['back']['id']}"
    assert leases.acquire(db, back, "srv1", 15, 0) == 1
    cams = {c["name"]: c for c in json.loads(run(capsys, "cameras", "list", "--json", *args)[1])}
    assert cams["back"]["node"] == "srv1" and cams["back"]["node_alive"]
    assert datetime.fromisoformat(cams["back"]["lease_expires"]) > datetime.now(UTC)
    assert cams["front"]["node"] is None and cams["front"]["lease_expires"] is None
    table = run(capsys, "cameras", "list", *args)[1]
    assert "srv1" in table and "(pinned srv2)" in table
    status = {c["camera"]: c for c in json.loads(run(capsys, "status", "--json", *args)[1])["cameras"]}
    assert status["back"]["node"] == "srv1" and status["back"]["lease_expires"] and status["back"]["node_alive"]
    assert status["front"]["node"] is None

    assert run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--node", "", *args)[0] == 0
    cams = {c["name"]: c for c in json.loads(run(capsys, "cameras", "list", "--json", *args)[1])}
    assert cams["front"]["pinned_node"] is None  # '' unpins
    code, _, err = run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--node", " ", *args)
    assert code == 2 and "node name" in err
