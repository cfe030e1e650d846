"""The main window on a database several machines share: the Node column and the Nodes tab, with the real
control-station engine in its thread (on SQLite and on the throwaway MariaDB)."""

from __future__ import annotations

from collections.abc import Callable

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.engine.control_engine import ControlEngine
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.fleet import leases, registry
from nvr_console.ui.app import build_console
from nvr_console.ui.models.camera_table_model import Column
from tests.core.fleet.fleet_rig import recorders_reporting
from tests.support.fleet_units import wanted_units
from tests.ui.engine_double import EngineDouble


def test_a_control_station_shows_each_cameras_node(
        qtbot, settings_factory: Callable[..., Settings], any_db_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = settings_factory(**{"database.url": any_db_url, "node.name": "desk"})
    db = Database(any_db_url)
    prepare_database(db)
    catalog.add_room(db, "R")
    front = catalog.add_camera(db, "R", "front", "rtsp://10.0.0.1/s")
    back = catalog.add_camera(db, "R", "back", "rtsp://10.0.0.2/s")
    idle = catalog.add_camera(db, "R", "idle", "rtsp://10.0.0.3/s")
    recorders_reporting(db, {front.id: "srv1", back.id: "srv2"})  # srv2 stops reporting
    host = EngineHost(settings, db, ControlEngine(settings, db))
    c = build_console(settings, db, host.engine)
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    host.start()
    try:
        m = c.window.model

        def node(camera_id: int) -> str:
            row = m.row_of(camera_id)
            return "?" if row is None else m.index(row, Column.NODE).data()

        qtbot.waitUntil(lambda: (node(front.id), node(back.id), node(idle.id)) ==
                        ("srv1", "offline node srv2", ""), timeout=15_000)
        assert not c.window.table.isColumnHidden(Column.NODE)
        qtbot.waitUntil(lambda: m.index(m.row_of(front.id), Column.STATE).data() == "recording", timeout=10_000)
        # The Nodes tab lists both recorders and this station.
        assert sorted(n.name for n in c.window.nodes.model.rows()) == ["desk", "srv1", "srv2"]
    finally:
        c.window.request_quit()
        assert host.stop(10)
        db.dispose()


def test_a_single_machine_shows_no_node_column(qtbot, settings: Settings, db: Database) -> None:  # type: ignore[no-untyped-def]
    catalog.add_room(db, "R")
    cam = catalog.add_camera(db, "R", "front", "rtsp://10.0.0.1/s")
    registry.register(db, "me", NodeRole.RECORDER, lease_ttl=30, process="me:1")
    leases.ensure_rows(db, wanted_units(db))
    leases.acquire(db, wanted_units(db)[0].key, "me", 30, 0)
    c = build_console(settings, db, EngineDouble({cam.id: ("R", "front")}))
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    # The camera's row (loaded from the database off the UI thread) and the nodes' overview, in either order.
    qtbot.waitUntil(lambda: c.window.nodes.overview is not None and c.window.model.rowCount() == 1, timeout=10_000)
    assert c.window.table.isColumnHidden(Column.NODE)
    assert c.window.model.index(0, Column.NODE).data() == ""
    registry.register(db, "srv2", NodeRole.RECORDER, lease_ttl=30, process="srv2:1")  # a second machine joins
    c.window.nodes.refresh()
    qtbot.waitUntil(lambda: not c.window.table.isColumnHidden(Column.NODE), timeout=5_000)
    assert c.window.model.index(0, Column.NODE).data() == "me"
