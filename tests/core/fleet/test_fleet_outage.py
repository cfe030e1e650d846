"""The database out of reach, with `nvr-console --no-gui` nodes as separate OS processes on the real MariaDB
behind a TCP proxy the test cuts.
- Gone for every node for 30 s (as if killed: every connection reset, new ones refused): recording goes on
  everywhere, every segment finished meanwhile is registered and finalized once the database answers (no
  restart), and each camera keeps one owner.
- One node cut off (a partition: its packets vanish): it records on, another node takes its camera; healed, it
  stops the camera it lost and registers and uploads every piece it recorded, under names of their own."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.upload.destinations import file_md5
from tests.core.fleet.fleet_rig import (
    SEGMENT,
    TIMINGS,
    TTL,
    cameras_of,
    holders,
    make_db,
    opened,
    recorded_twice,
    rows,
    wait_for,
)
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet
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
            assert wait_for(lambda: cameras_of(a) == {"c1"} and cameras_of(b) == {"c2"}, 30), (
                cameras_of(a), cameras_of(b))
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

            # Caught up without a restart: the segments finished meanwhile registered, finalized, ready.
            assert wait_for(lambda: _covered(db, "c1", lo, hi) and _covered(db, "c2", lo, hi), 45), (
                a.log_tail(), b.log_tail())
            # One owner per camera once the leases are renewed (the pins hold: nobody took the other's camera).
            assert wait_for(lambda: holders(db) == {"c1": "a", "c2": "b"}, 3 * TTL + 10), (
                    holders(db), a.log_tail(), b.log_tail())
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


PARTITION_S = TTL + 4 * SEGMENT  # a's camera moves to b, and both record it for a few segments


def test_a_node_cut_off_records_on_then_stops_what_was_taken_and_uploads_every_piece(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path) -> None:  # noqa: F811
    url = mariadb_server.create_database()
    # /solo: b joining c1 must not disturb the timestamps of a's recording of it (a shared mount does).
    db = make_db(url, 2, rtsp_server.url("/solo"))
    catalog.edit_camera(db, "R", "c2", pinned_node="b")  # b keeps c2; c1 is a's until the partition
    archive = tmp_path / "archive"  # one folder for both nodes' uploads, as a shared Drive folder is
    with TcpProxy(mariadb_server.port) as proxy:
        via = url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        with NodeFleet(tmp_path, url, destination="local", local_dir=archive, **TIMINGS) as fleet:
            a = fleet.start("a", db_url=via)
            b = fleet.start("b")
            assert wait_for(lambda: holders(db) == {"c1": "a", "c2": "b"}, 40), holders(db)
            assert wait_for(lambda: cameras_of(a) == {"c1"} and cameras_of(b) == {"c2"}, 30), (
                cameras_of(a), cameras_of(b))
            # a writes c1 (a piece of its current FFmpeg finished), not just connecting, when the link dies.
            running = time.time()
            assert wait_for(lambda: any(r.node == "a" and r.camera == "c1" and r.status == "uploaded"
                                        and opened(r).timestamp() >= running - 1 for r in rows(db)), 30)
            before = set(a.ffmpeg_pids())
            began = time.time()
            proxy.cut()
            # a's lease runs out in the database: b records c1 too.
            assert wait_for(lambda: holders(db)["c1"] == "b" and "c1" in cameras_of(b), TTL + 30), (
                holders(db), b.log_tail())
            time.sleep(max(0.0, began + PARTITION_S - time.time()))
            # Cut off, a records on with the same FFmpeg (video before duplicates) and starts nothing new.
            assert a.running and set(a.ffmpeg_pids()) & before and cameras_of(a) == {"c1"}, a.log_tail()
            proxy.restore()
            healed = time.time()
            # Back, a finds c1 taken and stops the recorder it ran through the partition; unless b, holding both
            # cameras, is already handing c1 back to it (balance): then that recorder is the handover's new one.
            assert wait_for(lambda: not set(a.ffmpeg_pids()) & before or holders(db)["c1"] == "a", 30), a.log_tail()

            def a_opened() -> list[tuple[float, str]]:
                """(when FFmpeg opened it, status) of a's pieces of c1 from just before the cut to the heal."""
                return sorted((opened(r).timestamp(), r.status) for r in rows(db) if r.node == "a"
                              and r.camera == "c1" and began - SEGMENT - 3 <= opened(r).timestamp() <= healed)

            def caught_up() -> bool:
                """Every piece a recorded cut off is registered, finalized and uploaded, and FFmpeg opened one at
                every cut through the partition: openings at most a segment + a keyframe interval (2 s) + the
                names' one-second granularity apart. (File names, not rows' start estimates: those drift by
                seconds when the machine is loaded.)"""
                got = a_opened()
                times = [t for t, _ in got]
                return (bool(got) and all(st == "uploaded" for _, st in got) and times[0] <= began
                        and times[-1] >= healed - SEGMENT - 3
                        and all(t2 - t1 <= SEGMENT + 3 for t1, t2 in itertools.pairwise(times)))

            assert wait_for(caught_up, 60), (began, healed, a_opened(), a.log_tail(), b.log_tail())
            for node in (a, b):
                node.terminate()
            for node in (a, b):
                assert node.wait(90) == 0, node.log_tail()
    got = rows(db)
    # Recorded twice only in the partition (and the handovers at its ends); c2 never, it stayed with b.
    twice = recorded_twice(got, since=datetime.fromtimestamp(began, UTC))
    assert "c2" not in twice and twice.get("c1", 0.0) <= (healed - began) + 2 * SEGMENT + 5, twice
    # Pieces of one slot from both nodes: distinct names, each file whole in the one archive folder.
    with db.session() as s:
        uploaded = [(r.slot_start, r.node, r.remote_name, r.web_link, r.md5)
                    for r in s.query(Recording).where(Recording.status == RecordingStatus.UPLOADED)]
    names = [u[2] for u in uploaded]
    assert len(names) == len(set(names)) and all(names)
    both = {slot for slot, node, *_ in uploaded if node == "a"} & {slot for slot, node, *_ in uploaded if node == "b"}
    assert both, uploaded  # the partition's slots hold pieces of both nodes
    for _slot, _node, name, link, md5 in uploaded:
        copy = Path(unquote(urlparse(link).path))
        assert copy.name == name and file_md5(copy) == md5
    assert sorted(p.name for p in archive.rglob("*.mp4")) == sorted(names)  # none overwritten, none extra
    db.dispose()


def _covered(db: Database, camera: str, lo: float, hi: float) -> bool:
    """[lo, hi] lies in finalized files of this camera, with no hole over half a second."""
    spans = sorted((r.start.timestamp(), r.end.timestamp()) for r in rows(db)
                   if r.camera == camera and r.status == "ready" and r.start and r.end
                   and r.end.timestamp() > lo and r.start.timestamp() < hi)
    reached = lo
    for start, end in spans:
        if start > reached + 0.5:
            return False
        reached = max(reached, end)
    return reached >= hi
