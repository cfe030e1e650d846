"""The control station's engine in its thread: every camera of every node from the database, with its node;
commands become desired state; the station is a `control` node; offline holders show as offline."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Q_ARG, QMetaObject, Qt

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.control_engine import ControlEngine
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
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
