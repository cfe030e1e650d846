"""Several `nvr-console --no-gui` nodes as separate OS processes on the real MariaDB, recording the real RTSP
test server: placement, failover after SIGKILL, handover without a lost frame (SIGTERM and `nodes drain`),
fencing of a paused node, a database outage, a partition, a control station. Short timings (3 s segments,
4 s lease TTL); the default ones are measured by bench/fleet.py."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Q_ARG, QMetaObject, Qt
from sqlalchemy import update

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import CameraLiveStatus
from nvr_console.core.db.session import Database
from nvr_console.core.engine.control_engine import ControlEngine
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.orders import CUT_GRACE_S
from nvr_console.core.live_state.store import read_report
from nvr_console.core.status import CameraState, CameraStatus
from nvr_console.core.system.process_group import pid_alive
from tests.core.engine_support import start_collecting
from tests.core.fleet.fleet_rig import (
    SEGMENT,
    TIMINGS,
    TTL,
    alive,
    cameras_of,
    cmdline,
    holders,
    make_db,
    opened,
    recorded_twice,
    rows,
    wait_for,
)
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet
from tests.support.frames import frames_between
from tests.support.mariadb import MariaDBServer
from tests.support.rtsp_peer import RtspServer

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

FAILOVER_BOUND_S = 20  # issue 10: a dead node's cameras record elsewhere within 20 s of its death


def _reference(url: str, out: Path) -> subprocess.Popen[bytes]:
    """A plain FFmpeg recording the same mount all along: the frames a handover must not lose."""
    return subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                             "-c", "copy", "-f", "matroska", str(out)], stdin=subprocess.DEVNULL)


def _stop_reference(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def test_nodes_share_the_cameras_and_each_camera_is_recorded_once(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    db = make_db(url, 6, rtsp_server.url("/frames"))
    with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        nodes = [fleet.start(n) for n in ("n1", "n2", "n3")]
        assert wait_for(lambda: sorted(list(holders(db).values()).count(n) for n in ("n1", "n2", "n3")) == [2, 2, 2]
                        and None not in holders(db).values(), 40), (holders(db), nodes[0].log_tail())
        # The last handover's overlap is behind: a source stops at its first cut after the boundary (a keyframe
        # late) once it has seen it, or CUT_GRACE_S after the boundary at the latest (fleet/orders.py). One
        # segment was not enough with 4 test workers on 2 cores: a source saw its cut (02-34-25, a GOP after
        # the 02:34:24 boundary) at 26.5 and stopped at 27.6, 0.2-0.3 s into the window.
        settled = datetime.now(UTC) + timedelta(seconds=CUT_GRACE_S)
        time.sleep(CUT_GRACE_S + 3 * SEGMENT)
        placed, until = holders(db), datetime.now(UTC)
        for node in nodes:
            node.terminate()
        for node in nodes:
            assert node.wait(90) == 0, node.log_tail()
    got = rows(db)
    # Once placed, every camera is recorded by one node only.
    assert recorded_twice(got, settled, until) == {}
    for cam, node in placed.items():
        assert {r.node for r in got if r.camera == cam and r.start and settled < r.start < until} == {node}
    assert all(r.status == "ready" for r in got), [(r.path.name, r.node, r.status, r.notes) for r in got]
    db.dispose()


def test_sigkill_failover_within_the_bound(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    db = make_db(url, 2, rtsp_server.url("/frames"))
    catalog.edit_camera(db, "R", "c1", pinned_node="a")
    catalog.edit_camera(db, "R", "c2", pinned_node="b")
    with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        a, b = fleet.start("a"), fleet.start("b")
        assert wait_for(lambda: holders(db) == {"c1": "a", "c2": "b"}, 40), holders(db)
        assert wait_for(lambda: any(r.camera == "c1" and r.node == "a" for r in rows(db)), 20)
        # Past any handover of the start (a node may take a camera before its pin comes up): b records nothing.
        assert wait_for(lambda: not any("/R/c1" in cmdline(pid) for pid in b.ffmpeg_pids()), 20)
        before = {r.id for r in rows(db)}
        died = a.kill()  # and its FFmpeg, as a power cut would
        assert not a.ffmpeg_pids()

        def taken_over() -> list[datetime]:
            return [r.start for r in rows(db) if r.id not in before and r.camera == "c1" and r.node == "b" and r.start
                    and r.start.timestamp() > died]

        assert wait_for(lambda: bool(taken_over()), TTL + 20), b.log_tail()
        took = min(taken_over()).timestamp() - died  # b's first frame of c1 (the piece's start)
        print(f"failover: c1 recorded on b {took:.1f} s after a's SIGKILL (lease TTL {TTL} s)")
        # The bound (20 s, for the default 15 s TTL; bench/fleet.py measures that case). Here the TTL is
        # 4 s: expiry, then the next placement turn, then FFmpeg's connect.
        assert 0 < took < FAILOVER_BOUND_S, took
        assert registry.get_node(db, "a").alive is False
        stopped = time.time()
        b.terminate()
        assert b.wait(60) == 0
    got = rows(db)
    a_token = max(r.token or 0 for r in got if r.camera == "c1" and r.node == "a")
    after = [r for r in got if r.camera == "c1" and r.start is not None and died < r.start.timestamp() < stopped]
    assert after and all(r.node == "b" and (r.token or 0) > a_token for r in after), [
        (r.node, r.token, r.start, r.path.name) for r in got if r.camera == "c1"]  # a new token: a is fenced
    # A dead node records nothing more (its FFmpeg died with it).
    assert recorded_twice(got, since=datetime.fromtimestamp(died, UTC)) == {}
    db.dispose()


@pytest.mark.parametrize("how", ["sigterm", "drain"])
def test_planned_handover_loses_no_frame(
        how: str, mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    mount = rtsp_server.url("/frames")
    db = make_db(url, 1, mount)
    catalog.edit_camera(db, "R", "c1", pinned_node="a")
    reference = _reference(mount, tmp_path / "reference.mkv")
    try:
        with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
            # a first: the handover under test is the only one (b would take the camera if it came up first).
            a = fleet.start("a")
            assert wait_for(lambda: holders(db) == {"c1": "a"}, 40), holders(db)
            b = fleet.start("b")
            assert wait_for(lambda: any(r.node == "a" and r.status == "ready" for r in rows(db)), 30)
            assert wait_for(lambda: alive(db, "b"), 30), b.log_tail()
            began = datetime.now(UTC)
            if how == "sigterm":
                a.terminate()
                assert a.wait(90) == 0, a.log_tail()
            else:
                code = subprocess.run([sys.executable, "-m", "nvr_console.cli.main", "nodes", "drain", "a", "--wait",
                                       "60", "--database-url", url], capture_output=True, text=True, timeout=120)
                assert code.returncode == 0, code.stdout + code.stderr
            assert wait_for(lambda: holders(db) == {"c1": "b"}, 30)
            # b's piece (before the switch) and its first file after it, finalized.
            assert wait_for(lambda: sum(1 for r in rows(db) if r.node == "b" and r.status == "ready"
                                        and r.start is not None and r.start > began) >= 2, 30), b.log_tail()
            if how == "drain":
                a.terminate()
                assert a.wait(60) == 0
            b.terminate()
            assert b.wait(60) == 0, b.log_tail()
    finally:
        _stop_reference(reference)
    got = rows(db)
    a_rows = sorted((r for r in got if r.node == "a"), key=opened)
    b_rows = sorted((r for r in got if r.node == "b"), key=opened)
    # a stops just after its segment cut at the switch: the fraction of a second it records after the cut (its
    # last file) opens with the same keyframe as b's first file after the switch.
    sliver, a_last = a_rows[-1], a_rows[-2]
    b_next = next(r for r in b_rows if abs((opened(r) - opened(sliver)).total_seconds()) <= 1)
    assert opened(b_rows[0]) < opened(a_last) + timedelta(seconds=SEGMENT)  # b recorded before a stopped
    assert all(r.status == "ready" for r in (a_last, sliver, b_next, b_rows[0]))
    # 0 frames lost: in the continuous reference, the frame after a's last one is b's first after the switch.
    gap = frames_between(a_last.path, b_next.path, [tmp_path / "reference.mkv"])
    print(f"planned handover ({how}): {gap} frames between a's last file and b's next")
    assert gap == 0
    # Recorded twice only inside the handover: b's piece from its start to the switch, and a's last fraction.
    assert recorded_twice(got).get("c1", 0.0) <= 2 * SEGMENT + 5, [
        (r.node, r.token, r.start, r.end, r.path.name) for r in got]
    db.dispose()


def test_a_paused_node_is_fenced_and_stops_what_it_lost(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    db = make_db(url, 1, rtsp_server.url("/frames"))
    catalog.edit_camera(db, "R", "c1", pinned_node="a")
    with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        a = fleet.start("a")  # first: no handover at the start
        assert wait_for(lambda: holders(db) == {"c1": "a"}, 40)
        assert wait_for(lambda: bool(a.ffmpeg_pids()), 20), a.log_tail()  # the lease comes before FFmpeg
        ffmpeg = a.ffmpeg_pids()
        b = fleet.start("b")
        assert wait_for(lambda: alive(db, "b"), 30), b.log_tail()
        a.pause()  # SIGSTOP the node (its FFmpeg goes on writing)
        try:
            assert wait_for(lambda: holders(db) == {"c1": "b"}, TTL + 15)
        finally:
            a.resume()
        # Awake again, it finds the camera taken: its recorder stops, and it never writes as the owner.
        assert wait_for(lambda: not any(pid_alive(p) for p in ffmpeg), 15), a.log_tail()
        time.sleep(2)
        report = {c.camera: c for c in _status(url)}
        assert report["c1"].node == "b"
        cid = catalog.get_camera(db, "R", "c1").id
        token = leases.camera_holders(db)[cid].token
        with db.session() as s:
            live = s.get(CameraLiveStatus, cid)
            assert live is not None and (live.node, live.lease_token) == ("b", token)
        for node in (a, b):
            node.terminate()
            assert node.wait(60) == 0
    got = rows(db)
    # a's pieces from its pause carry its old token, as they are: real video, registered and kept.
    assert max(r.token or 0 for r in got if r.node == "a") < token
    db.dispose()


def test_a_control_station_commands_the_recorder_node_that_holds_the_camera(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path,  # noqa: F811
        settings_factory: Callable[..., Settings], qapp: object) -> None:
    """A console that records nothing (its engine in this process) and a recorder node (an OS process): the
    station sees the node's camera live and its Stop and Start reach the node's FFmpeg."""
    url = mariadb_server.create_database()
    db = make_db(url, 1, rtsp_server.url("/frames"))
    cid = catalog.get_camera(db, "R", "c1").id
    with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        a = fleet.start("a")
        assert wait_for(lambda: cameras_of(a, ("c1",)) == {"c1"}, 40), a.log_tail()
        settings = settings_factory(**{"database.url": url, "node.name": "desk", "node.record": False})
        station = ControlEngine(settings, db)
        host, got = start_collecting(settings, db, station)
        try:
            def shown(state: CameraState, node: str | None = "a") -> bool:
                latest = got.latest(cid)
                return latest is not None and latest.state is state and node in (None, latest.node)

            assert wait_for(lambda: shown(CameraState.RECORDING), 15)
            asked = time.monotonic()
            QMetaObject.invokeMethod(station, "stop_camera", Qt.ConnectionType.QueuedConnection, Q_ARG(int, cid))
            assert wait_for(lambda: not a.ffmpeg_pids(), 20), a.log_tail()
            obeyed = time.monotonic() - asked
            assert wait_for(lambda: shown(CameraState.STOPPED, None), 15), got.statuses[-3:]  # (no holder then)
            QMetaObject.invokeMethod(station, "start_camera", Qt.ConnectionType.QueuedConnection, Q_ARG(int, cid))
            assert wait_for(lambda: cameras_of(a, ("c1",)) == {"c1"} and shown(CameraState.RECORDING), 30)
            print(f"control station's Stop obeyed by the recorder node in {obeyed:.1f} s (FFmpeg gone)")
            assert not any(n.name == "desk" and n.role != "control" for n in registry.list_nodes(db))
        finally:
            assert host.stop(10)
        a.terminate()
        assert a.wait(60) == 0, a.log_tail()
    db.dispose()


def _status(url: str):  # type: ignore[no-untyped-def]
    db = Database(url)
    try:
        return read_report(db)[0]
    finally:
        db.dispose()


def test_a_control_station_shows_what_the_recorder_nodes_camera_sends(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path,  # noqa: F811
        settings_factory: Callable[..., Settings], qapp: object) -> None:
    """The Stream column (codec, size, sound as the recorder node's FFmpeg saw them) reaches a console on another
    machine and `nvr-console status` there: it is published with the camera's live row."""
    url = mariadb_server.create_database()
    mount = rtsp_server.url("/frames")
    probed = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-of", "json", mount],
        capture_output=True, text=True, timeout=30, check=True).stdout)["streams"]
    [video] = probed  # the mount sends no sound
    expected = f"H.264 {video['width']}x{video['height']} · no audio"
    assert video["codec_name"] == "h264"
    db = make_db(url, 1, mount)
    cid = catalog.get_camera(db, "R", "c1").id
    with NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        a = fleet.start("a")
        assert wait_for(lambda: cameras_of(a, ("c1",)) == {"c1"}, 40), a.log_tail()
        settings = settings_factory(**{"database.url": url, "node.name": "desk", "node.record": False})
        station = ControlEngine(settings, db)
        host, got = start_collecting(settings, db, station)
        try:
            def shown() -> CameraStatus | None:
                latest = got.latest(cid)
                return latest if latest is not None and latest.state is CameraState.RECORDING else None

            assert wait_for(lambda: (s := shown()) is not None and s.stream == expected, 30), \
                (got.statuses[-3:], a.log_tail())
            status = shown()
            assert status is not None and status.node == "a"
            [report] = _status(url)
            assert (report.camera, report.state, report.stream) == ("c1", "recording", expected)
        finally:
            assert host.stop(10)
        a.terminate()
        assert a.wait(60) == 0, a.log_tail()
    # The node stopped: its last word is no longer fresh news of what the camera sends.
    with db.session() as s:
        s.execute(update(CameraLiveStatus).values(updated_at=datetime.now(UTC) - timedelta(minutes=5)))
    [report] = _status(url)
    assert report.state == "stale" and report.stream == ""
    db.dispose()
