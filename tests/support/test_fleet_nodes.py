"""The node-process harness: a node records in its own folders, and kill() takes its FFmpeg with it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.recording.segment_names import raw_segments
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet
from tests.support.rtsp_peer import RtspServer


@pytest.mark.slow
def test_a_node_records_in_its_own_folders_and_dies_with_its_ffmpeg(
        rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'fleet.sqlite3'}"
    db = Database(url)
    prepare_database(db)
    catalog.add_room(db, "R")
    catalog.add_camera(db, "R", "cam", rtsp_server.url("/frames"))
    with NodeFleet(tmp_path / "nodes", url, segment_length=3) as fleet:
        node = fleet.start("n1")
        cam_dir = node.recordings / "R" / "cam"
        deadline = time.monotonic() + 30
        while not raw_segments(cam_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert raw_segments(cam_dir), node.log_tail()
        assert node.ffmpeg_pids()
        node.kill()
        assert not node.running and not node.ffmpeg_pids()
    db.dispose()
