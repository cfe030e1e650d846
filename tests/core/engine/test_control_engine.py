"""The control station's engine in its thread: every camera of every node from the database, with its node;
commands become desired state; the station is a `control` node; offline holders show as offline."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Q_ARG, QMetaObject, Qt

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.control_engine import ControlEngine
from nvr_console.core.fleet import registry
from nvr_console.core.status import CameraState
from tests.core.engine_support import start_collecting, wait_until
from tests.core.fleet.fleet_rig import recorders_reporting


def test_a_control_station_shows_and_commands_every_node(
        settings_factory: Callable[..., Settings], any_db_url: str, qapp: object) -> None:
    settings = settings_factory(**{"database.url": any_db_url, "node.name": "desk"})
    db = Database(any_db_url)
    prepare_database(db)
    catalog.add_room(db, "R")
    front = catalog.add_camera(db, "R", "front", "rtsp://10.0.0.1/s")
    back = catalog.add_camera(db, "R", "back", "rtsp://10.0.0.2/s")
    recorders_reporting(db, {front.id: "srv1", back.id: "srv2"})  # srv2 stops reporting

    engine = ControlEngine(settings, db)
    host, got = start_collecting(settings, db, engine)
    try:
        assert wait_until(lambda: got.latest(front.id) is not None and got.latest(back.id) is not None, 10)
        assert (got.latest(front.id).state, got.latest(front.id).node) == (CameraState.RECORDING, "srv1")
        # srv2 stops reporting: its camera shows as held by an offline node, not as lost.
        assert wait_until(lambda: got.latest(back.id).state is CameraState.OFFLINE, 10)
        assert got.latest(back.id).node == "srv2"
        # The station is a node of its own, recording nothing.
        assert wait_until(lambda: any(n.name == "desk" and n.role == "control" and n.alive
                                      for n in registry.list_nodes(db)), 10)
        # A command is a desired state the holder obeys.
        QMetaObject.invokeMethod(engine, "stop_camera", Qt.ConnectionType.QueuedConnection, Q_ARG(int, front.id))
        assert wait_until(lambda: catalog.get_camera_by_id(db, front.id).desired_state == "stopped", 10)
        catalog.remove_camera(db, "R", "back")
        assert wait_until(lambda: back.id in got.removed, 10)
    finally:
        assert host.stop(10)
    db.dispose()


def test_a_control_station_reckons_an_outage_from_the_first_state_it_read_through_the_retries() -> None:
    from datetime import UTC, datetime

    from nvr_console.core.engine.control_engine import to_status
    from nvr_console.core.fleet.live_view import RemoteCamera

    def read(state: str, since: float, error: str = "") -> RemoteCamera:
        return RemoteCamera(1, "R", "front", True, "recording", state, datetime.fromtimestamp(since, UTC), "srv1",
                            True, None, "", 0, 0.0, error, None)

    refused = "Connection refused: nothing listens on that host and port."
    first = to_status(read("reconnecting", 1000.0, refused))
    assert first is not None and first.is_down and first.down_since == 1000.0
    # The node's next attempt (starting), then its next wait: still the one outage that began at 1000.
    retry = to_status(read("starting", 1004.0, refused), first)
    again = to_status(read("reconnecting", 1006.0, refused), retry)
    assert retry is not None and again is not None
    assert (retry.down_since, again.down_since) == (1000.0, 1000.0) and retry.is_down and again.is_down
    recording = to_status(read("recording", 1010.0), again)
    assert recording is not None and recording.down_since == 0.0 and not recording.is_down
    offline = to_status(read("offline", 1020.0), recording)
    assert offline is not None and offline.is_down and offline.down_since == 1020.0 and offline.reason == \
        "its node stopped reporting"
