"""Failover at scale: a node recording 50 cameras is SIGKILLed; how long until every one records elsewhere.

Real `nvr-console --no-gui` nodes as OS processes on a fresh throwaway MariaDB (tests/support/mariadb.py),
recording the loopback RTSP server's shared /frames mount (192x108, cheap to serve 100 times). Node a holds
every camera (each pinned to a); nodes b and c are alive and hold nothing. a is killed with SIGKILL (its
FFmpeg with it, as a power cut does) `--kills` times, each in a fresh fleet, with the default lease TTL (15 s).

Per kill: seconds from the kill to the moment every camera has a file opened on b or c (the last camera's
first file; the target is 20 s), split into the TTL part (kill -> a's leases' `expires_at`: the TTL less the time
since a's last renewal), the take part (expiry -> the new holder's `acquired_at`, database time: the turn that
noticed + the acquiring UPDATEs) and the start part (acquired -> the camera's first
file opened, from its name: engine reconcile + FFmpeg connect + first keyframe). Then, for 2 segments after
the last camera moved: cameras recorded by more than one node after the kill (target 0). The load average
is printed with the figures: the machine is shared.

    python bench/fleet_failover.py [--cameras 50] [--kills 3] [--segment 10] [--ttl 15] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import spread
from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Camera, CameraLease, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import registry
from tests.support.fleet_nodes import NodeFleet
from tests.support.mariadb import MariaDBServer
from tests.support.rtsp_peer import RtspServer

CAMERAS_PER_ROOM = 4


def _wait(cond: Callable[[], bool], timeout: float, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every)
    return cond()


def _ts(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _firsts(db: Database, after: float) -> dict[str, dict[str, float]]:
    """{camera: {node: when its first file opened after `after`}}."""
    out: dict[str, dict[str, float]] = {}
    with db.session() as s:
        for cam, node, start in s.execute(select(Recording.camera_name, Recording.node, Recording.start_time)
                                          .where(Recording.start_time.is_not(None))):
            t = _ts(start)
            if t > after:
                seen = out.setdefault(cam, {})
                seen[node] = min(seen.get(node, t), t)
    return out


def _acquired(db: Database) -> dict[str, tuple[str | None, float | None]]:
    """{camera: (holder, when it acquired the lease)}."""
    with db.session() as s:
        return {name: (holder, _ts(at) if at else None) for name, holder, at in s.execute(
            select(Camera.name, CameraLease.holder, CameraLease.acquired_at)
            .join(CameraLease, CameraLease.camera_id == Camera.id))}


def _expiries(db: Database) -> dict[str, tuple[str | None, float | None]]:
    """{camera: (holder, when its lease expires)}."""
    with db.session() as s:
        return {name: (holder, _ts(at) if at else None) for name, holder, at in s.execute(
            select(Camera.name, CameraLease.holder, CameraLease.expires_at)
            .join(CameraLease, CameraLease.camera_id == Camera.id))}


def _fleet_db(server: MariaDBServer, url_of_camera: str, cameras: int) -> tuple[str, Database, list[str]]:
    url = server.create_database()
    db = Database(url)
    prepare_database(db)
    names = []
    for i in range(cameras):
        room = f"R{i // CAMERAS_PER_ROOM:02d}"
        if i % CAMERAS_PER_ROOM == 0:
            catalog.add_room(db, room)
        names.append(f"c{i:02d}")
        catalog.add_camera(db, room, names[-1], url_of_camera)
        catalog.edit_camera(db, room, names[-1], pinned_node="a")
    return url, db, names


def kill_once(server: MariaDBServer, rtsp: RtspServer, root: Path, cameras: int, segment: int,
              ttl: float | None) -> dict[str, float]:
    url, db, _names = _fleet_db(server, rtsp.url("/frames"), cameras)
    try:
        with NodeFleet(root, url, segment_length=segment, **({"lease_ttl": ttl} if ttl else {})) as fleet:
            a = fleet.start("a")
            if not _wait(lambda: len(_firsts(db, 0)) == cameras, 180, 1.0):
                raise RuntimeError(f"a records {len(_firsts(db, 0))} of {cameras} cameras: {a.log_tail()}")
            others = [fleet.start("b"), fleet.start("c")]
            if not _wait(lambda: sum(n.alive for n in registry.list_nodes(db) if n.name in ("b", "c")) == 2, 60):
                raise RuntimeError(f"b and c do not register: {others[0].log_tail()}")
            time.sleep(4)  # past their settling turn
            load = os.getloadavg()[0]
            died = a.kill()
            expiry = max(at for h, at in _expiries(db).values() if h == "a" and at is not None)
            if not _wait(lambda: len({c for c, by in _firsts(db, died - 1).items() if set(by) - {"a"}}) == cameras,
                         120):
                moved = _firsts(db, died - 1)
                raise RuntimeError(f"{cameras - len(moved)} cameras never moved: {others[0].log_tail()}")
            firsts = _firsts(db, died - 1)
            starts = {c: min(t for n, t in by.items() if n != "a") for c, by in firsts.items()}
            acquired = _acquired(db)
            last = max(starts.values())
            time.sleep(max(0.0, last + 2 * segment + 3 - time.time()))  # two more cuts on every camera
            twice = [c for c, by in _firsts(db, died - 1).items() if len(set(by) - {"a"}) > 1]
            held = {n: sum(1 for h, _ in acquired.values() if h == n) for n in ("b", "c")}
            lease_part = [at - expiry for h, at in acquired.values() if at is not None and h != "a"]
            start_part = [starts[c] - at for c, (h, at) in acquired.items() if at is not None and c in starts]
            return {"all": last - died, "median_camera": statistics.median(t - died for t in starts.values()),
                    "first": min(starts.values()) - died, "ttl": expiry - died, "lease_max": max(lease_part),
                    "start_max": max(start_part), "twice": float(len(twice)), "load": load,
                    "b": float(held["b"]), "c": float(held["c"])}
    finally:
        db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=50)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--segment", type=int, default=10, help="segment length of the nodes (s)")
    parser.add_argument("--ttl", type=float, help="node.lease_ttl of the nodes (default: the product's, 15 s)")
    parser.add_argument("--work", type=Path, help="keep the nodes' folders and logs here")
    args = parser.parse_args()
    server = MariaDBServer().start()
    rtsp = RtspServer(auto_restart=True).start()
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="nvr-bench-failover-") as scratch:
            tmp = args.work or scratch
            for i in range(args.kills):
                r = kill_once(server, rtsp, Path(tmp) / f"kill{i}", args.cameras, args.segment, args.ttl)
                runs.append(r)
                print(f"  kill {i + 1}: all {args.cameras} recording again after {r['all']:.1f} s (first "
                      f"{r['first']:.1f} s, median camera {r['median_camera']:.1f} s; a's leases expired at "
                      f"{r['ttl']:.1f} s, taken <= {r['lease_max']:.1f} s after that, start part <= "
                      f"{r['start_max']:.1f} s); b {r['b']:.0f}, c {r['c']:.0f}; recorded twice afterwards: "
                      f"{r['twice']:.0f}; load {r['load']:.2f}", flush=True)
    finally:
        rtsp.close()
        server.stop()
    alls = [r["all"] for r in runs]
    print(f"failover of {args.cameras} cameras after SIGKILL ({args.kills} kills, lease TTL {args.ttl or 15:g} s): "
          f"every camera recording on b/c after median {statistics.median(alls):.1f} s, max {max(alls):.1f} s "
          f"[{spread(alls)}]")
    print(f"  a's leases expired after {spread([r['ttl'] for r in runs])} s; taken <= "
          f"{spread([r['lease_max'] for r in runs])} s after expiry; FFmpeg's first file <= "
          f"{spread([r['start_max'] for r in runs])} s after the take; cameras recorded twice afterwards "
          f"{[int(r['twice']) for r in runs]}; load average at the kills {spread([r['load'] for r in runs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
