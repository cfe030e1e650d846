"""A control station's previews come from the live decoder (it has no recording files), with real widgets and the
real RTSP server: a keyframe of each visible recording camera at the preview's size, the stream closed once it is
taken; the wall's own picture when the wall plays the camera (no second stream); a camera that does not answer
leaves no thread behind. A console that records keeps reading its files."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QImage

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.live_previews import LivePreviews
from nvr_console.ui.thumbnails import WIDTH, ThumbnailService
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import RtspServer
from tests.ui.engine_double import EngineDouble

ELSEWHERE = "/srv/recorder-1/recordings/A-101/front/current.mkv"  # the recorder node's path: no such file here


pytestmark = pytest.mark.peer  # starts an RTSP server of its own: not in scripts/test --quick


@pytest.fixture(scope="module")
def server() -> Iterator[RtspServer]:
    _require_gst()
    with RtspServer(auto_restart=True) as srv:
        yield srv


def _station(qtbot, request: pytest.FixtureRequest, settings: Settings, db: Database, urls: dict[str, str],
             control: bool = True) -> tuple[Console, list[int]]:
    catalog.add_room(db, "A-101")
    ids = [catalog.add_camera(db, "A-101", name, url).id for name, url in urls.items()]
    engine = EngineDouble({cid: ("A-101", name) for cid, name in zip(ids, urls, strict=True)})
    c = build_console(settings, db, engine)
    if control:
        c.window.set_control_station()
    c.window.close_question = lambda _active: "keep"
    qtbot.addWidget(c.window)
    c.window.show()
    qtbot.waitExposed(c.window)
    qtbot.waitUntil(lambda: len(c.window.live.cameras) == len(ids), timeout=5_000)
    for cid in ids:  # the recorder node's word, as the control engine reads it from the database
        engine.status(cid, CameraState.RECORDING, current_file=ELSEWHERE, file_started=time.time())
    qtbot.waitUntil(lambda: all((r := c.window.model.camera_row(cid)) is not None and r.status is not None
                                for cid in ids), timeout=5_000)
    c.window.start_thumbnails(interval_ms=3_600_000)  # rounds asked by the test
    request.addfinalizer(c.window.thumbnails_stop)
    return c, ids


def _preview(c: Console, camera_id: int) -> QImage | None:
    row = c.window.model.camera_row(camera_id)
    return row.thumbnail if row is not None else None


def _colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(image.width()) for y in range(image.height())})


def test_a_control_station_shows_previews_from_the_live_stream(qtbot, request: pytest.FixtureRequest,
                                                                settings: Settings, db: Database,
                                                                server: RtspServer) -> None:
    c, (cid,) = _station(qtbot, request, settings, db, {"front": server.url("/cam")})
    previews = c.window.thumbnails
    assert isinstance(previews, LivePreviews)
    previews.refresh()
    assert previews.grabbing() == [cid]  # the Live tab is not shown: the preview opens the stream itself
    qtbot.waitUntil(lambda: _preview(c, cid) is not None, timeout=20_000)
    image = _preview(c, cid)
    assert image is not None and image.width() == WIDTH and abs(image.width() / image.height() - 16 / 9) < 0.05
    assert _colours(image) > 2  # a picture (the ball on its background), not a blank
    # Taken: the stream is closed and its thread ends.
    assert previews.grabbing() == []
    qtbot.waitUntil(lambda: not any(d.busy() for d in previews._ended), timeout=5_000)


def test_while_the_wall_plays_a_camera_its_preview_is_the_walls_picture(qtbot, request: pytest.FixtureRequest,
                                                                         settings: Settings, db: Database,
                                                                         server: RtspServer) -> None:
    c, (cid,) = _station(qtbot, request, settings, db, {"front": server.url("/frames")})
    wall = c.window.live
    c.window.tabs.setCurrentWidget(wall)
    qtbot.waitUntil(lambda: wall.tiles[cid].frames_shown > 0, timeout=15_000)
    previews = c.window.thumbnails
    assert isinstance(previews, LivePreviews)
    previews.refresh()
    assert previews.grabbing() == []  # nothing more decoded: the tile's picture, scaled
    image = _preview(c, cid)
    assert image is not None and image.width() == WIDTH


def test_a_camera_that_does_not_answer_gives_no_preview_and_leaves_no_thread(qtbot, request: pytest.FixtureRequest,
                                                                             settings: Settings, db: Database) -> None:
    c, (cid,) = _station(qtbot, request, settings, db, {"front": "rtsp://127.0.0.1:9/nothing-listens-here"})
    previews = c.window.thumbnails
    assert isinstance(previews, LivePreviews)
    previews.refresh()
    qtbot.waitUntil(lambda: previews.grabbing() == [], timeout=20_000)  # refused: given up until the next round
    qtbot.waitUntil(lambda: not any(d.busy() for d in previews._ended), timeout=10_000)
    assert _preview(c, cid) is None


def test_a_console_that_records_reads_its_files(qtbot, request: pytest.FixtureRequest, settings: Settings,
                                                 db: Database) -> None:
    c, _ids = _station(qtbot, request, settings, db, {"front": "rtsp://127.0.0.1:9/x"}, control=False)
    assert isinstance(c.window.thumbnails, ThumbnailService)
