"""The engine's link to the fleet forgets a removed camera (issue 17: orders.forget_camera was called nowhere, so a
removed camera's last state stayed in the orders' map for the life of the process)."""

from __future__ import annotations

from collections.abc import Callable

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, wait_until


def test_a_removed_cameras_state_leaves_the_orders(settings_factory: Callable[..., Settings], qapp: object) -> None:
    settings = settings_factory(**{"recording.segment_length": "5", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    keep = catalog.add_camera(db, "A-101", "keep", "lavfi:testsrc=size=320x180:rate=25").id
    gone = catalog.add_camera(db, "A-101", "gone", "lavfi:testsrc=size=320x180:rate=25").id
    host = EngineHost(settings, db, shell="headless")
    got = Collected()
    got.attach(host.engine)
    host.start()
    try:
        states = host.engine._fleet.book._states  # the orders' map of what each camera's recorder does
        assert wait_until(lambda: states.get(keep) is states.get(gone) is CameraState.RECORDING, 30), states
        catalog.remove_camera(db, "A-101", "gone")  # by another process: the engine notices, stops, removes
        assert wait_until(lambda: gone in got.removed, 15)
        # At once, or (a last status of its recorder arriving after the removal) at the fleet's next turns.
        assert wait_until(lambda: gone not in states, 10), states
        assert states.get(keep) is CameraState.RECORDING
        assert host.stop(30)
    finally:
        host.stop(30)
    db.dispose()
