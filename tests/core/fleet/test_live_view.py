"""What a control station reads per refresh: every camera of every node in a constant number of queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event

from nvr_console.core import catalog
from nvr_console.core.db.models import CameraLiveStatus, NodeRole, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.live_view import read_live_view
from tests.support.fleet_units import wanted_units


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _live(db: Database, camera_id: int, node: str, state: str, **kw: object) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        s.merge(CameraLiveStatus(camera_id=camera_id, node=node, state=state, since=now, current_file="/f.mkv",
                                 file_size=1000, bitrate_kbps=600.0, last_error="", lease_token=1, updated_at=now,
                                 **kw))


def test_every_camera_of_every_node_in_three_queries(fleet_db: Database) -> None:
    registry.register(fleet_db, "a", NodeRole.RECORDER, lease_ttl=15, process="ha:1")
    registry.register(fleet_db, "dead", NodeRole.RECORDER, lease_ttl=0.3, process="hd:1")
    units = wanted_units(fleet_db)
    leases.ensure_rows(fleet_db, units)
    leases.acquire(fleet_db, units[0].key, "a", 15, 0)
    leases.acquire(fleet_db, units[1].key, "dead", 15, 0)
    cams = {c.name: c.id for c in catalog.list_cameras(fleet_db)}
    _live(fleet_db, cams["c1"], "a", "recording")
    _live(fleet_db, cams["c2"], "dead", "recording")
    with fleet_db.session() as s:
        s.add(Recording(camera_id=cams["c1"], room_name="R1", camera_name="c1", slot_start=datetime.now(UTC),
                        local_path="/r/1.mp4", local_path_key="k1", status="uploading", node="a", size=1000,
                        bytes_confirmed=250))
        s.add(Recording(camera_id=cams["c1"], room_name="R1", camera_name="c1", slot_start=datetime.now(UTC),
                        local_path="/r/0.mp4", local_path_key="k0", status="uploaded", node="a", size=1000,
                        web_link="https://drive/f", folder_link="https://drive/d"))
    time.sleep(0.4)  # "dead" stops heartbeating
    with counted(fleet_db) as statements:
        view = read_live_view(fleet_db)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 3, statements
    by_name = {c.camera: c for c in view.cameras}
    assert (by_name["c1"].state, by_name["c1"].node, by_name["c1"].node_online) == ("recording", "a", True)
    assert by_name["c1"].file_size == 1000 and by_name["c1"].lease_expires is not None
    assert (by_name["c2"].state, by_name["c2"].node, by_name["c2"].node_online) == ("offline", "dead", False)
    assert (by_name["c3"].state, by_name["c3"].node) == ("unknown", None)
    assert [(u.camera_id, u.node, u.bytes_sent, u.total) for u in view.uploads] == [(cams["c1"], "a", 250, 1000)]
    assert view.links == {cams["c1"]: ("https://drive/f", "https://drive/d")}

    # Ten times the cameras: still three queries.
    for i in range(40):
        catalog.add_camera(fleet_db, "R1", f"more{i}", f"rtsp://10.1.0.{i}/s")
    with counted(fleet_db) as statements:
        assert len(read_live_view(fleet_db).cameras) == 44
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 3
