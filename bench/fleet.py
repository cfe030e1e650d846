"""Fleet benchmark: what several nodes on one MariaDB cost the database, and how fast cameras move.

Part 1 (always): 100 cameras over 3 nodes (FleetMember threads with their own connections, default
timings: TTL 15 s, renew 3 s, a turn every second) and one control station reading every camera's live
state every 2 s (fleet.live_view). Prints statements per second per node and per console, and the
console's refresh time (median and p95). A fresh throwaway MariaDB; figures are this machine's.

    python bench/fleet.py [--cameras 100] [--nodes 3] [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet.live_view import read_live_view
from nvr_console.core.fleet.member import FleetMember, Holdings, MemberConfig
from tests.support.mariadb import MariaDBServer


class Counter:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def attach(self, db: Database) -> None:
        def count(*_a: object) -> None:
            with self.lock:
                self.n += 1

        event.listen(db.engine, "before_cursor_execute", count)

    def take(self) -> int:
        with self.lock:
            n, self.n = self.n, 0
            return n


def lease_traffic(url: str, cameras: int, nodes: int, seconds: float) -> None:
    db = Database(url)
    prepare_database(db)
    rooms = max(1, cameras // 4)
    for r in range(rooms):
        catalog.add_room(db, f"R{r:03d}")
    for i in range(cameras):
        catalog.add_camera(db, f"R{i % rooms:03d}", f"c{i:03d}", f"rtsp://10.0.{i // 250}.{i % 250}/s")
    held: dict[str, int] = {}
    members_by_name: dict[str, FleetMember] = {}
    members = []
    counters = []
    for n in range(nodes):
        name = f"node{n + 1}"

        def on_change(h: Holdings, name: str = name) -> None:
            # Stands in for the engine: every ordered unit "records" at once.
            held[name] = sum(len(o.camera_ids) for o in h.orders.values() if o.token is not None)
            for unit in h.orders:
                members_by_name[name].recording(unit)

        m = FleetMember(MemberConfig(url, name, NodeRole.RECORDER, segment_length=1800), on_change,
                        process=f"{name}:1")
        members_by_name[name] = m
        c = Counter()
        c.attach(m.db)
        members.append(m)
        counters.append(c)
        m.start()
    deadline = time.monotonic() + 60
    while sum(held.values()) < cameras and time.monotonic() < deadline:
        time.sleep(0.2)
    while max(held.values()) - min(held.values()) > 1 and time.monotonic() < deadline + 60:
        time.sleep(0.2)  # balanced by handovers
    time.sleep(3)
    console = Database(url)
    console_count = Counter()
    console_count.attach(console)
    for c in counters:
        c.take()
    refresh: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        t0 = time.perf_counter()
        view = read_live_view(console)
        refresh.append(time.perf_counter() - t0)
        assert len(view.cameras) == cameras
        time.sleep(2.0)
    elapsed = time.monotonic() - started
    per_node = [c.take() / elapsed for c in counters]
    print(f"{cameras} cameras over {nodes} nodes, held {sorted(held.values())}, {elapsed:.0f} s measured")
    print(f"  statements per second per node: {', '.join(f'{q:.2f}' for q in per_node)} "
          f"(mean {statistics.mean(per_node):.2f})")
    print(f"  console (one refresh every 2 s): {console_count.take() / elapsed:.2f} statements/s; refresh "
          f"median {statistics.median(refresh) * 1000:.1f} ms, p95 "
          f"{sorted(refresh)[int(0.95 * (len(refresh) - 1))] * 1000:.1f} ms")
    for m in members:
        m.stop()
    for m in members:
        m.join(20)
    console.dispose()
    db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    server = MariaDBServer().start()
    try:
        lease_traffic(server.create_database(), args.cameras, args.nodes, args.seconds)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
