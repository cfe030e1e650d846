"""The database gone for every node for 30 s (as if killed: every connection reset, new ones refused), with
`nvr-console --no-gui` nodes as separate OS processes on the real MariaDB behind a TCP proxy the test cuts:
recording goes on everywhere, every segment finished meanwhile is registered and finalized once the database
answers (no restart), and each camera keeps one owner."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nvr_console.core import catalog
from tests.core.fleet.fleet_rig import (
    SEGMENT,
    TIMINGS,
    TTL,
    cmdline,
    holders,
    make_db,
    recorded_twice,
    rows,
    wait_for,
)
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet, NodeProcess
from tests.support.mariadb import MariaDBServer
from tests.support.rtsp_peer import RtspServer
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

OUTAGE_S = 30  # issue 10: "a database killed for 30 s then restarted"


def test_a_database_outage_for_every_node_loses_nothing_and_keeps_one_owner_per_camera(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    db = make_db(url, 2, rtsp_server.url("/frames"))
    catalog.edit_camera(db, "R", "c1", pinned_node="a")
    catalog.edit_camera(db, "R", "c2", pinned_node="b")
    with TcpProxy(mariadb_server.port) as proxy:
        via = url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        with NodeFleet(tmp_path, via, **TIMINGS) as fleet:
            a, b = fleet.start("a"), fleet.start("b")
            assert wait_for(lambda: holders(db) == {"c1": "a", "c2": "b"}, 40), holders(db)
            assert wait_for(lambda: {r.node for r in rows(db) if r.status == "ready"} == {"a", "b"}, 30)
            # Past the start's handovers (a node may take a camera before its pin comes up): each records its own.
            assert wait_for(lambda: _records(a) == {"c1"} and _records(b) == {"c2"}, 30), (_records(a), _records(b))
            ffmpeg = {n.name: n.ffmpeg_pids() for n in (a, b)}
            began = time.time()
            proxy.cut("reset")
            time.sleep(OUTAGE_S)
            # Recording went on through the outage: the nodes and their FFmpeg are the same processes.
            assert a.running and b.running, a.log_tail() + b.log_tail()
            assert all(n.ffmpeg_pids() and set(n.ffmpeg_pids()) & set(ffmpeg[n.name]) for n in (a, b))
            proxy.restore()
            ended = time.time()
            lo, hi = began + SEGMENT, ended - SEGMENT  # the stretch recorded while nobody could write a row

            def covered(camera: str) -> bool:
                """The outage's stretch lies in finalized files of this camera, with no hole over half a second."""
                spans = sorted((r.start.timestamp(), r.end.timestamp()) for r in rows(db)
                               if r.camera == camera and r.status == "ready" and r.start and r.end
                               and r.end.timestamp() > lo and r.start.timestamp() < hi)
                reached = lo
                for start, end in spans:
                    if start > reached + 0.5:
                        return False
                    reached = max(reached, end)
                return reached >= hi

            # Caught up without a restart: the segments finished meanwhile registered, finalized, ready.
            assert wait_for(lambda: covered("c1") and covered("c2"), 45), (a.log_tail(), b.log_tail())
            # One owner per camera once the leases are renewed (the pins hold: nobody took the other's camera).
            assert wait_for(lambda: holders(db) == {"c1": "a", "c2": "b"}, 3 * TTL + 10), holders(db)
            settled = time.time()
            time.sleep(2 * SEGMENT)
            for node in (a, b):
                node.terminate()
            for node in (a, b):
                assert node.wait(90) == 0, node.log_tail()
    got = rows(db)
    during = [r for r in got if r.start and began < r.start.timestamp() < ended]
    assert during and {r.node for r in during if r.camera == "c1"} == {"a"}
    assert {r.node for r in during if r.camera == "c2"} == {"b"}
    # An outage is not a crash: those files are not "recovered after an unclean stop".
    assert not [r.path.name for r in during if "unclean" in r.notes]
    # Nobody recorded a camera it did not hold during the outage; at its end, the one who renews first may take
    # the other's lapsed lease for a moment and hand it back at a cut (a handover's overlap, no more); then none.
    spans = [(r.camera, r.node, r.start, r.end) for r in got]
    twice = recorded_twice(got, since=datetime.fromtimestamp(began, UTC))
    assert all(seconds <= 2 * SEGMENT + 5 for seconds in twice.values()), (twice, spans)
    assert recorded_twice(got, since=datetime.fromtimestamp(settled + SEGMENT, UTC)) == {}, spans
    db.dispose()


def _records(node: NodeProcess) -> set[str]:
    """The cameras whose recorder FFmpeg runs under this node (from their command lines)."""
    lines = [cmdline(pid) for pid in node.ffmpeg_pids()]
    return {cam for cam in ("c1", "c2") for line in lines if f"/R/{cam}/" in line and "segment" in line}
