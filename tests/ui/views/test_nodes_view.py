"""The console's Nodes tab: every node with its figures, read off the UI thread; Drain, Undrain and Forget as
the command line does them (the same refusals)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from nvr_console.core.db.models import NodeRole, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry
from nvr_console.core.fleet.overview import FleetOverview
from nvr_console.core.fleet.registry import NodeStats
from nvr_console.ui.views.nodes_view import NodesView, drain_question


def _select(view: NodesView, name: str) -> None:
    view.table.selectRow(next(i for i, n in enumerate(view.model.rows()) if n.name == name))


def _cells(view: NodesView, row: int) -> list[str]:
    return [view.model.index(row, c).data() for c in range(view.model.columnCount())]


def test_nodes_their_figures_and_drain_undrain(qtbot: QtBot, db: Database) -> None:
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=60, max_cameras=8, version="1.2.0", process="srv1:1",
                      stats=NodeStats(cameras_held=3, free_disk=5 * 2**30, queue_files=2, queue_bytes=3 * 2**20))
    registry.register(db, "desk", NodeRole.CONTROL, lease_ttl=60, version="1.2.0", process="desk:1")
    view = NodesView(db, refresh_ms=60_000)
    qtbot.addWidget(view)
    loaded: list[FleetOverview] = []
    view.overview_loaded.connect(loaded.append)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
    assert _cells(view, 0) == ["desk", "control station", "1.2.0", "alive", "", "", "", ""]
    assert _cells(view, 1) == ["srv1", "recorder", "1.2.0", "alive", "3 of 8", "5 GiB", "2 file(s), 3 MiB",
                               "running"]
    assert view.summary.text() == "2 node(s) alive"
    assert not view.drain_button.isEnabled()  # nothing selected
    _select(view, "desk")
    assert not view.drain_button.isEnabled() and not view.forget_button.isEnabled()  # a live control station
    _select(view, "srv1")
    assert view.drain_button.isEnabled() and not view.undrain_button.isEnabled()

    asked: list[str] = []
    view.confirm = lambda _title, text: asked.append(text) or False  # type: ignore[method-assign]
    view.drain_selected()
    assert "next segment boundary" in asked[0] and "nothing is lost" in asked[0] and "3 camera(s)" in asked[0]
    assert "No other recorder is alive now: srv1 keeps recording" in asked[0]  # the station records nothing
    assert "No other recorder" not in drain_question(view.selected_node(), 1)
    assert not registry.get_node(db, "srv1").draining  # answered No: nothing done
    view.confirm = lambda _title, _text: True  # type: ignore[method-assign]
    view.drain_selected()
    qtbot.waitUntil(lambda: view.model.index(1, 3).data() == "draining", timeout=5000)
    assert registry.get_node(db, "srv1").draining and "next segment boundary" in view.message.text()
    assert view.selected_node() is not None and view.selected_node().name == "srv1"  # still selected
    assert view.undrain_button.isEnabled() and not view.drain_button.isEnabled()
    view.undrain_selected()
    qtbot.waitUntil(lambda: view.model.index(1, 3).data() == "alive", timeout=5000)
    assert not registry.get_node(db, "srv1").draining
    assert loaded and loaded[-1].several


def test_forget_is_refused_while_the_node_has_files_to_upload(qtbot: QtBot, db: Database) -> None:
    registry.register(db, "me", NodeRole.RECORDER, lease_ttl=60, process="me:1")
    registry.register(db, "gone", NodeRole.RECORDER, lease_ttl=0.2, process="gone:1")
    with db.session() as s:
        s.add(Recording(camera_id=None, room_name="R", camera_name="c", slot_start=datetime.now(UTC),
                        local_path="/r/1.mp4", local_path_key="k1", status="ready", node="gone", size=10))
    time.sleep(0.4)
    view = NodesView(db, refresh_ms=60_000)
    qtbot.addWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=5000)
    assert view.model.index(0, 3).data().startswith("offline, last seen 0:0")
    assert view.summary.text() == "1 node(s) alive, 1 offline"
    _select(view, "me")
    assert not view.forget_button.isEnabled()  # alive
    _select(view, "gone")
    assert view.forget_button.isEnabled() and not view.drain_button.isEnabled()
    view.confirm = lambda _title, _text: True  # type: ignore[method-assign]
    view.forget_selected()
    qtbot.waitUntil(lambda: bool(view.message.text()), timeout=5000)
    assert "1 recording(s) not uploaded" in view.message.text()
    assert [n.name for n in registry.list_nodes(db)] == ["gone", "me"]
    with db.session() as s:
        s.query(Recording).update({"status": "uploaded"})
    view.forget_selected()
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=5000)
    assert view.message.text() == "Forgot node gone."
    assert [n.name for n in registry.list_nodes(db)] == ["me"]
