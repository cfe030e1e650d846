"""Database at scale: 20 fleet members x 50 cameras on one MariaDB, and a control station showing all 1,000.

Every member is a FleetMember (the node's fleet thread: heartbeat, renewals, placement turns, handovers) in an
OS process of its own with its own connections, default timings (TTL 15 s, renew every 3 s, a turn every
second); a stand-in engine "records" every unit it is ordered to at once. Once every camera is held and the
fleet is balanced, for `--seconds`:
- statements per second per member (median and spread over the members), and per renewal (heartbeat and
  lease renewal: a constant whatever the member holds);
- the duration of a placement turn (every turn that is not a renewal) and of a renewal, median and p95;
- the MariaDB server's CPU (% of one core, from /proc), against the members' own CPU;
- a control station refreshing the live view of every camera every 2 s (fleet.live_view.read_live_view, the
  console's query), with live status rows for all cameras and `--files` uploaded files per camera in
  `recordings`: refresh median and p95 (target p95 < 100 ms), and its statements per second.
Baselines in the same run: the fleet with `--baseline-members` members x `--baseline-cameras` cameras (3 x 100 by
default, what bench/fleet.py part 1 measures), so the growth is a ratio; with `--compare-full`, the big fleet
again with every turn a full one (as before quiet turns, fleet/quiet_turns.py).

    python bench/fleet_db.py [--members 20] [--cameras 1000] [--seconds 60] [--files 48] [--compare-full]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing as mp
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from figures import spread
from sqlalchemy import event, func, insert, select

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Camera, CameraLease, CameraLiveStatus, Recording, RecordingStatus
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet.live_view import read_live_view
from tests.support.mariadb import MariaDBServer

CAMERAS_PER_ROOM = 4


def _p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def member_process(url: str, name: str, go: Any, measure: Any, stop: Any, out: Any, all_full: bool = False) -> None:
    """One fleet member in a process of its own; sends its figures for the measured window to `out`."""
    import threading

    from nvr_console.core.db.models import NodeRole
    from nvr_console.core.fleet.holdings import Holdings
    from nvr_console.core.fleet.member import FleetMember, MemberConfig

    lock = threading.Lock()
    counts = {"n": 0}
    turns: list[tuple[float, float, int, bool]] = []  # (turn seconds, of which renewal, renewal statements, full)

    class TimedMember(FleetMember):
        renew_s = 0.0
        renew_n = 0

        def _renew(self, mono: float) -> bool:
            t0, n0 = time.perf_counter(), counts["n"]
            try:
                return super()._renew(mono)
            finally:
                self.renew_s, self.renew_n = time.perf_counter() - t0, counts["n"] - n0

        def _tick(self) -> None:
            self.renew_s, self.renew_n = 0.0, 0
            full["turn"] = False
            t0 = time.perf_counter()
            super()._tick()
            with lock:
                turns.append((time.perf_counter() - t0, self.renew_s, self.renew_n, full["turn"]))

    member: FleetMember | None = None
    full = {"turn": False}

    def on_change(h: Holdings) -> None:
        assert member is not None
        for unit in h.orders:  # stands in for the engine: every ordered unit records at once
            member.recording(unit)

    member = TimedMember(MemberConfig(url, name, NodeRole.RECORDER, segment_length=1800), on_change,
                         process=f"{name}:{os.getpid()}")

    def count(*_a: object) -> None:
        with lock:
            counts["n"] += 1

    event.listen(member.db.engine, "before_cursor_execute", count)
    quiet = member._quiet
    plain_full_turn = quiet.full_turn

    def full_turn(mono: float) -> None:  # the turn planned (read every lease and camera)
        full["turn"] = True
        plain_full_turn(mono)

    quiet.full_turn = full_turn  # type: ignore[method-assign]
    if all_full:  # as before quiet turns: every turn reads everything
        quiet.quiet = lambda *_a, **_k: False  # type: ignore[method-assign]
    out.put(name)  # ready: every member starts at once (a slow spawn must not leave one alone to take it all)
    go.wait()
    member.start()
    measure.wait()
    with lock:
        counts["n"] = 0
        turns.clear()
    t0, cpu0 = time.monotonic(), time.process_time()
    stop.wait()
    with lock:
        n, taken = counts["n"], list(turns)
    elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
    out.put({"name": name, "statements": n, "elapsed": elapsed, "cpu": cpu, "turns": taken,
             "held": sum(len(o.camera_ids) for o in member.holdings().orders.values() if o.token is not None)})
    member.stop()
    member.join(20)


def _server_cpu(pid: int) -> float:
    """CPU seconds the process has used (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _populate(db: Database, cameras: int, files: int) -> None:
    rooms = (cameras + CAMERAS_PER_ROOM - 1) // CAMERAS_PER_ROOM
    for r in range(rooms):
        catalog.add_room(db, f"R{r:03d}")
    for i in range(cameras):
        catalog.add_camera(db, f"R{i // CAMERAS_PER_ROOM:03d}", f"c{i:04d}", f"rtsp://10.0.{i // 250}.{i % 250}/s")
    now = datetime.now(UTC).replace(microsecond=0)
    with db.session() as s:
        ids = [(cid, room, name) for cid, room, name in s.execute(
            select(Camera.id, Camera.room_id, Camera.name))]
        s.execute(insert(CameraLiveStatus), [
            {"camera_id": cid, "node": "bench", "state": "recording", "since": now, "current_file": f"/r/{name}.mp4",
             "file_size": 1000, "bitrate_kbps": 2000.0, "lease_token": 0, "updated_at": now} for cid, _r, name in ids])
    for k in range(files):  # a day of 30-minute files, uploaded, in batches of one slot
        slot = now - timedelta(minutes=30 * (k + 1))
        rows = []
        for cid, room, name in ids:
            path = f"/r/R{room}/{name}/{slot:%Y-%m-%d/%H-%M}.mp4"
            rows.append({"camera_id": cid, "room_name": f"R{room}", "camera_name": name, "slot_start": slot,
                         "start_time": slot, "end_time": slot + timedelta(minutes=30), "local_path": path,
                         "local_path_key": hashlib.sha256(path.encode()).hexdigest(), "node": "bench",
                         "status": RecordingStatus.UPLOADED, "size": 450_000_000, "duration": 1800.0,
                         "web_link": f"https://drive.example/{cid}/{k}", "folder_link": f"https://drive.example/{cid}",
                         "notes": "", "bytes_confirmed": 450_000_000, "attempts": 1})
        with db.session() as s:
            s.execute(insert(Recording), rows)


def _held(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {str(holder): int(n) for holder, n in s.execute(
            select(CameraLease.holder, func.count()).where(CameraLease.holder.is_not(None))
            .group_by(CameraLease.holder))}


def fleet_run(server: MariaDBServer, members: int, cameras: int, seconds: float, files: int,
              all_full: bool = False) -> dict[str, Any]:
    url = server.create_database()
    db = Database(url)
    prepare_database(db)
    _populate(db, cameras, files)
    ctx = mp.get_context("spawn")
    go, measure, stop, out = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=member_process, args=(url, f"node{n + 1:02d}", go, measure, stop, out, all_full),
                         daemon=True)
             for n in range(members)]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            out.get(timeout=300)
        go.set()
        started = time.monotonic()
        balanced = None
        while time.monotonic() - started < 240:
            held = _held(db)
            if sum(held.values()) == cameras and len(held) == members and max(held.values()) - min(held.values()) <= 1:
                balanced = time.monotonic() - started
                break
            time.sleep(1)
        time.sleep(5)  # measured even if never balanced: that is the finding then
        console = Database(url)
        console_n = [0]
        event.listen(console.engine, "before_cursor_execute", lambda *_a: console_n.__setitem__(0, console_n[0] + 1))
        with contextlib.suppress(DatabaseUnavailable):
            read_live_view(console)  # connect
        console_n[0] = 0
        measure.set()
        cpu0, load0, t0 = _server_cpu(server.proc.pid), os.getloadavg()[0], time.monotonic()  # type: ignore[union-attr]
        refresh: list[float] = []
        failed = 0
        while time.monotonic() - t0 < seconds:
            r0 = time.perf_counter()
            try:
                assert len(read_live_view(console).cameras) == cameras
            except DatabaseUnavailable:  # the read timed out: counted, and as long as it took
                failed += 1
            refresh.append(time.perf_counter() - r0)
            time.sleep(2.0)
        elapsed = time.monotonic() - t0
        server_cpu = (_server_cpu(server.proc.pid) - cpu0) / elapsed  # type: ignore[union-attr]
        load = (load0 + os.getloadavg()[0]) / 2
        stop.set()
        results = [out.get(timeout=60) for _ in procs]
        console.dispose()
    finally:
        go.set()
        stop.set()
        measure.set()
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
        db.dispose()
    turns = [t for r in results for t in r["turns"]]
    placement = [t - renew_s for t, renew_s, _n, is_full in turns if is_full]  # (less the renewal in it)
    quiet = [t - renew_s for t, renew_s, _n, is_full in turns if not is_full]
    renewals = [(renew_s, n) for _t, renew_s, n, _f in turns if renew_s > 0.0]
    return {
        "members": members, "cameras": cameras, "held": sorted(r["held"] for r in results),
        "per_node": [r["statements"] / r["elapsed"] for r in results],
        "member_cpu": sum(r["cpu"] for r in results) / elapsed,
        "placement": placement, "quiet": quiet, "all_full": all_full, "renew": [s for s, _n in renewals],
        "renew_statements": sorted({n for _s, n in renewals}),
        "balanced": balanced, "failed": failed, "server_cpu": server_cpu, "refresh": refresh,
        "console": console_n[0] / elapsed, "load": load,
    }


def report(r: dict[str, Any]) -> None:
    ms = 1000
    how = "every turn full (as before quiet turns)" if r["all_full"] else "quiet turns"
    print(f"{r['members']} members x {r['cameras'] // r['members']} cameras ({r['cameras']}), {how}, held "
          f"{min(r['held'])}-{max(r['held'])} each at the end; every camera held and balanced "
          + (f"{r['balanced']:.0f} s after the start" if r["balanced"] is not None else "NEVER (in 240 s)")
          + f"; load average {r['load']:.2f}")
    print(f"  statements/s per member: {spread(r['per_node'])}; per renewal: {r['renew_statements']}")
    quiet = (f"; quiet turn median {statistics.median(r['quiet']) * ms:.1f} ms, p95 {_p95(r['quiet']) * ms:.1f} ms "
             f"({len(r['quiet'])} turns)") if r["quiet"] else ""
    full = (f"median {statistics.median(r['placement']) * ms:.1f} ms, p95 {_p95(r['placement']) * ms:.1f} ms"
            if r["placement"] else "none")
    print(f"  full (placement) turn: {full} ({len(r['placement'])} turns){quiet}; renewal median "
          f"{statistics.median(r['renew']) * ms:.1f} ms, p95 {_p95(r['renew']) * ms:.1f} ms")
    print(f"  MariaDB CPU {r['server_cpu'] * 100:.1f} % of a core; the members' own {r['member_cpu'] * 100:.1f} %")
    print(f"  console refresh of {r['cameras']} cameras: median {statistics.median(r['refresh']) * ms:.1f} ms, p95 "
          f"{_p95(r['refresh']) * ms:.1f} ms ({len(r['refresh'])} refreshes, {r['failed']} timed out), "
          f"{r['console']:.2f} statements/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--cameras", type=int, default=1000)
    parser.add_argument("--baseline-members", type=int, default=3)
    parser.add_argument("--baseline-cameras", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--files", type=int, default=48, help="uploaded files per camera in recordings")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--compare-full", action="store_true",
                        help="also the big fleet with every turn full (as before quiet turns)")
    args = parser.parse_args()
    server = MariaDBServer().start()
    try:
        base = full = None
        if not args.no_baseline:
            base = fleet_run(server, args.baseline_members, args.baseline_cameras, args.seconds, args.files)
            report(base)
        if args.compare_full:
            full = fleet_run(server, args.members, args.cameras, args.seconds, args.files, all_full=True)
            report(full)
        big = fleet_run(server, args.members, args.cameras, args.seconds, args.files)
        report(big)
    finally:
        server.stop()
    size = f"{args.members}x{args.cameras // args.members}"
    if base is not None:
        print(f"ratios {size} / {args.baseline_members}x{args.baseline_cameras // args.baseline_members}: statements/s "
              f"per member x{statistics.median(big['per_node']) / statistics.median(base['per_node']):.2f}, full turn x"
              f"{statistics.median(big['placement']) / statistics.median(base['placement']):.2f}, MariaDB CPU x"
              f"{big['server_cpu'] / max(base['server_cpu'], 1e-9):.2f}, console refresh p95 x"
              f"{_p95(big['refresh']) / _p95(base['refresh']):.2f}")
    if full is not None:
        print(f"ratios {size} quiet turns / every turn full: statements/s per member x"
              f"{statistics.median(big['per_node']) / statistics.median(full['per_node']):.2f}, members' CPU x"
              f"{big['member_cpu'] / max(full['member_cpu'], 1e-9):.2f}, MariaDB CPU x"
              f"{big['server_cpu'] / max(full['server_cpu'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
