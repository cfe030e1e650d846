"""The Live tab with real widgets against the real RTSP server on loopback (one server for the module): tiles show
moving pictures from four cameras, only while the wall is on screen; a camera that should record and does not
is framed red with the reason within 2 s; a tile whose stream is lost greys its last picture and retries; the
live URL (a sub-stream) is played when set, its password never shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QImage

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.live.tile_decoder import LiveState
from nvr_console.core.status import CameraState
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.models.camera_table_model import Column
from nvr_console.ui.views.live_wall import GRID_KEY, LiveWall
from nvr_console.ui.widgets.live_tile import ALARM_RED
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer
from tests.support.tcp_proxy import TcpProxy
from tests.ui.engine_double import EngineDouble

# Four mounts, so no two tiles join one shared pipeline at the same instant (GStreamer 1.22 can abort then).
MOUNTS = ("/cam", "/frames", "/cam_alaw", "/solo")


pytestmark = pytest.mark.peer  # starts an RTSP server of its own: not in scripts/test --quick


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    _require_gst()
    with RtspServer(auto_restart=True) as srv:
        yield srv


def _console(qtbot, settings: Settings, db: Database, urls: dict[str, str]) -> tuple[Console, EngineDouble, list[int]]:
    catalog.add_room(db, "A-101")
    ids = [catalog.add_camera(db, "A-101", name, url).id for name, url in urls.items()]
    engine = EngineDouble({cid: ("A-101", name) for cid, name in zip(ids, urls, strict=True)})
    c = build_console(settings, db, engine)
    c.window.close_question = lambda _active: "keep"
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: len(c.window.live.cameras) == len(ids), timeout=5_000)
    return c, engine, ids


def _grab(tile) -> QImage:  # type: ignore[no-untyped-def]
    return tile.grab().toImage()


def test_four_cameras_play_and_only_while_the_wall_is_on_screen(qtbot, settings: Settings, db: Database,
                                                                 server: RtspServer) -> None:
    c, _engine, ids = _console(qtbot, settings, db, {f"cam{i}": server.url(m) for i, m in enumerate(MOUNTS)})
    wall: LiveWall = c.window.live
    assert not wall.decoding()  # another tab is current: nothing decodes at start
    c.window.tabs.setCurrentWidget(wall)
    assert wall.columns == 2 and set(wall.tiles) == set(ids)
    qtbot.waitUntil(lambda: all(t.frames_shown > 0 for t in wall.tiles.values()), timeout=15_000)
    firsts = {cid: _grab(t) for cid, t in wall.tiles.items()}
    # Moving pictures: every tile's pixels change between two grabs (the ball moves, the noise changes).
    qtbot.waitUntil(lambda: all(_grab(t) != firsts[cid] for cid, t in wall.tiles.items()), timeout=5_000)
    tile = wall.tiles[ids[0]]
    assert all(d.busy() for d in wall.decoders.values())
    # Scaled on the decode thread to fit the tile (the stream's proportions kept), not scaled here.
    box = tile.picture_size()
    assert tile.image is not None and tile.image.width() <= 640 and tile.image.height() <= 360
    assert abs(tile.image.width() - box.width()) <= 2 or abs(tile.image.height() - box.height()) <= 2
    assert abs(tile.image.width() / tile.image.height() - 16 / 9) < 0.02
    # Names and state drawn over the picture; the state follows the engine.
    assert (tile.name, tile.room) == ("cam0", "A-101")

    c.window.tabs.setCurrentWidget(c.window.uploads)  # the tab hidden: every decoder thread ends
    qtbot.waitUntil(lambda: not wall.decoding(), timeout=5_000)
    shown = tile.frames_shown
    c.window.tabs.setCurrentWidget(wall)
    qtbot.waitUntil(lambda: tile.frames_shown > shown, timeout=10_000)
    c.window.showMinimized()  # a minimized window decodes nothing either
    qtbot.waitUntil(lambda: not wall.decoding(), timeout=5_000)
    c.window.showNormal()
    qtbot.waitUntil(lambda: wall.decoding(), timeout=5_000)


def test_a_camera_that_stops_recording_is_framed_red_with_the_reason_within_2s(
        qtbot, settings: Settings, db: Database, server: RtspServer) -> None:
    c, engine, (cid,) = _console(qtbot, settings, db, {"front": server.url("/cam")})
    wall: LiveWall = c.window.live
    c.window.tabs.setCurrentWidget(wall)
    tile = wall.tiles[cid]
    engine.status(cid, CameraState.RECORDING)
    qtbot.waitUntil(lambda: tile.frames_shown > 0, timeout=15_000)
    assert tile.alarm == ""
    engine.status(cid, CameraState.RECONNECTING, last_error="connection refused", next_retry_in=4.0)
    qtbot.waitUntil(lambda: "connection refused" in tile.alarm, timeout=2_000)
    assert tile.alarm.startswith("not recording for 0:0")
    image = _grab(tile)
    ratio = tile.devicePixelRatioF()
    assert QColor(image.pixel(int(1 * ratio), int(tile.height() // 3 * ratio))) == ALARM_RED  # the frame's left edge
    # A camera the operator stopped is not an alarm.
    engine.status(cid, CameraState.STOPPED)
    qtbot.waitUntil(lambda: tile.alarm == "", timeout=2_000)


def test_a_lost_stream_greys_the_last_picture_with_its_time_and_comes_back(qtbot, settings: Settings, db: Database,
                                                                            server: RtspServer) -> None:
    with TcpProxy(target_port=server.port) as proxy:
        c, _engine, (cid,) = _console(qtbot, settings, db, {"front": f"rtsp://127.0.0.1:{proxy.port}/frames"})
        wall: LiveWall = c.window.live
        c.window.tabs.setCurrentWidget(wall)
        tile = wall.tiles[cid]
        qtbot.waitUntil(lambda: tile.frames_shown > 0, timeout=15_000)
        proxy.cut("reset")
        qtbot.waitUntil(lambda: tile.stalled(), timeout=10_000)
        assert tile.live.last_frame_at > 0 and tile.live.retry_in >= 1
        assert "no picture since" in tile._picture_note()
        grey = _grab(tile)
        center = grey.pixelColor(grey.width() // 2, grey.height() // 4)
        assert center.red() == center.green() == center.blue()  # the last picture, greyed
        shown = tile.frames_shown
        proxy.restore()
        qtbot.waitUntil(lambda: tile.live.state is LiveState.PLAYING and tile.frames_shown > shown, timeout=20_000)


def test_the_live_url_is_played_when_set_and_its_password_is_never_shown(qtbot, settings: Settings, db: Database,
                                                                          server: RtspServer) -> None:
    dead = "rtsp://127.0.0.1:9/nothing-listens-here"
    c, _engine, (cid,) = _console(qtbot, settings, db, {"front": dead})
    secure = server.url("/secure", user=SECURE_USER, password=SECURE_PASSWORD)
    catalog.edit_camera(db, "A-101", "front", live_url=secure)
    c.window.reload_cameras()
    wall: LiveWall = c.window.live
    qtbot.waitUntil(lambda: wall.cameras[0].live_url == secure, timeout=5_000)
    c.window.tabs.setCurrentWidget(wall)
    tile = wall.tiles[cid]
    qtbot.waitUntil(lambda: tile.frames_shown > 0, timeout=15_000)  # the sub-stream plays; the main URL is dead
    # A wrong password: the tile says why, without the password.
    wrong = server.url("/secure", user=SECURE_USER, password="not-" + SECURE_PASSWORD)
    catalog.edit_camera(db, "A-101", "front", live_url=wrong)
    c.window.reload_cameras()
    qtbot.waitUntil(lambda: tile.stalled(), timeout=15_000)
    assert tile.live.error and SECURE_PASSWORD not in tile.live.error
    assert SECURE_PASSWORD not in tile._picture_note()
    public = catalog.get_camera(db, "A-101", "front").public()["live_url"]
    assert public == f"rtsp://{SECURE_USER}:***@127.0.0.1:{server.port}/secure"


def test_layout_is_remembered_and_a_double_click_shows_one_camera_large(qtbot, settings: Settings, db: Database,
                                                                          server: RtspServer) -> None:
    c, _engine, ids = _console(qtbot, settings, db, {f"cam{i}": f"rtsp://127.0.0.1:9/{i}" for i in range(10)})
    wall: LiveWall = c.window.live
    c.window.tabs.setCurrentWidget(wall)
    wall.grid_choice.setCurrentText("3x3")
    assert QSettings().value(GRID_KEY) == "3x3" and len(wall.tiles) == 9 and wall.page.isVisible()
    wall.page.setValue(2)
    assert len(wall.tiles) == 1
    wall.page.setValue(1)
    tile = wall.tiles[ids[4]]
    qtbot.mouseDClick(tile, Qt.MouseButton.LeftButton)
    assert list(wall.tiles) == [ids[4]] and wall.back.isVisible()
    qtbot.waitUntil(lambda: set(wall.decoders) == {ids[4]}, timeout=2_000)  # the others stopped
    qtbot.mouseClick(wall.back, Qt.MouseButton.LeftButton)
    assert len(wall.tiles) == 9
    # From the table: a double-click on a camera's preview shows it large on the Live tab.
    c.window.tabs.setCurrentWidget(c.window.uploads)
    view = c.window.table
    row = c.window.model.row_of(ids[7])
    assert row is not None
    index = c.window.proxy.mapFromSource(c.window.model.index(row, Column.PREVIEW))
    view.scrollTo(index)
    rect = view.visualRect(index)
    # As a real double-click arrives: press, release, then the double-click (the view acts on the pressed cell).
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert c.window.tabs.currentWidget() is wall and wall.focused == ids[7]
    # Another console start (same QSettings): the layout chosen comes back.
    assert LiveWall().grid_choice.currentText() == "3x3"


def test_a_control_station_reads_the_cameras_itself(qtbot, settings: Settings, db: Database,
                                                     server: RtspServer) -> None:
    """A console that records nothing (no recording engine here at all) plays the wall all the same."""
    catalog.add_room(db, "A-101")
    cid = catalog.add_camera(db, "A-101", "front", server.url("/frames")).id
    c = build_console(settings, db, None)
    c.window.set_control_station()
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitUntil(lambda: len(c.window.live.cameras) == 1, timeout=5_000)
    c.window.tabs.setCurrentWidget(c.window.live)
    qtbot.waitUntil(lambda: c.window.live.tiles[cid].frames_shown > 1, timeout=15_000)
