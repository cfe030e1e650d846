"""Cost of serving Prometheus metrics (and checking the alert rules) beside the engine's own cost.

In one process and one run:
1. the engine records N cameras from the loopback RTSP server with its monitor attached (alerts checked
   every 15 s, metrics served) for a while: this process's CPU per camera-second is the engine's own cost
   (FFmpeg runs in child processes and is not counted: it is the same with or without monitoring);
2. with the engine still running, a client in another process scrapes /metrics of a collector holding
   100 cameras (synthetic figures, the size that matters) K times: the extra CPU of this process over the
   engine's rate is the cost of a scrape (collect + exposition + HTTP, server side);
3. one alert check (facts from the database + rules + alert store) for 100 cameras, timed alone.

    python bench/metrics.py [--cameras 8] [--scrape-cameras 100] [--scrapes 200] [--seconds 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.monitoring.facts import read_facts
from nvr_console.core.monitoring.metrics import MetricsServer, NvrCollector, Published
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.monitoring.observer import EngineObserver
from nvr_console.core.status import CameraState, CameraStatus, RecordingEvent
from tests.support.rtsp_peer import RtspServer

CLIENT = """
import sys, urllib.request
url, k = sys.argv[1], int(sys.argv[2])
size = 0
for _ in range(k):
    size = len(urllib.request.urlopen(url, timeout=30).read())
print(size)
"""


def spin(seconds: float) -> None:
    app = QCoreApplication.instance()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if app is not None:
            app.processEvents()
        time.sleep(0.02)


def synthetic(n: int) -> NvrCollector:
    obs = EngineObserver()
    now = time.time()
    for i in range(n):
        room, cam = f"R-{i // 4:03d}", f"cam{i % 4}"
        obs.on_camera_status(CameraStatus(i, room, cam, CameraState.RECORDING, now, "/r/x.mkv", now, 10**6, 3000.0))
        obs.on_recording_finished(RecordingEvent(i, i, room, cam, "/r/x.mp4", "ready", now, 1800, 10**8))
    collector = NvrCollector(obs, "bench")
    from nvr_console.core.monitoring.facts import NodeFacts

    collector.publish(Published(facts=NodeFacts(now, disk_free=10**12, wanted={i: True for i in range(n)})))
    return collector


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=8, help="real cameras the engine records")
    ap.add_argument("--scrape-cameras", type=int, default=100)
    ap.add_argument("--scrapes", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0, help="engine-only measuring window")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    app = QCoreApplication.instance() or QCoreApplication(["bench"])
    assert app is not None
    with tempfile.TemporaryDirectory(prefix="nvr-bench-") as tmp, RtspServer() as server:
        work = Path(tmp)
        settings = load_settings(overrides={
            "database.url": f"sqlite:///{work / 'bench.sqlite3'}", "recording.dir": str(work / "rec"),
            "log.dir": str(work / "log"), "recording.segment_length": "30", "upload.destination": "none",
            "metrics.listen": "127.0.0.1:0",
        }, env={})
        db = Database(settings.database.url)
        prepare_database(db)
        catalog.add_room(db, "bench")
        for i in range(args.cameras):
            catalog.add_camera(db, "bench", f"cam{i:02d}", server.url("/cam"))
        host = EngineHost(settings, db)
        monitor = Monitor(settings, db)
        monitor.attach(host.engine)
        monitor.start()
        host.start()
        spin(8)  # connect, first keyframes
        big = MetricsServer(synthetic(args.scrape_cameras), "127.0.0.1:0")
        big.start()
        engine_ms, scrape_ms, sizes = [], [], []
        try:
            for _ in range(args.runs):
                c0, t0 = time.process_time(), time.monotonic()
                spin(args.seconds)
                engine_rate = (time.process_time() - c0) / (time.monotonic() - t0)  # CPU-s per s
                engine_ms.append(engine_rate * 1000 / args.cameras)
                c0, t0 = time.process_time(), time.monotonic()
                client = subprocess.Popen([sys.executable, "-c", CLIENT, big.url, str(args.scrapes)],
                                          stdout=subprocess.PIPE, text=True)
                while client.poll() is None:
                    app.processEvents()
                    time.sleep(0.01)
                out, _ = client.communicate()  # stdout=PIPE: its text
                sizes.append(int(out.strip()))
                extra = (time.process_time() - c0) - engine_rate * (time.monotonic() - t0)
                scrape_ms.append(extra * 1000 / args.scrapes)
        finally:
            big.stop()
            monitor.stop()
            host.stop(60)
        # One alert check for 100 cameras, alone (no engine running now).
        for i in range(args.cameras, args.scrape_cameras):
            catalog.add_camera(db, "bench", f"cam{i:03d}", server.url("/cam"), enabled=False)
        checker = Monitor(settings, db)
        for i, st in enumerate(synthetic(args.scrape_cameras).observer.snapshot().cameras):
            checker.observer.on_camera_status(CameraStatus(i + 1, st.room, st.camera, CameraState.RECORDING,
                                                           time.time()))
        checks = []
        for _ in range(20):
            c0 = time.process_time()
            checker.check()
            checks.append((time.process_time() - c0) * 1000)
        facts_ms = []
        for _ in range(20):
            c0 = time.process_time()
            read_facts(settings, db)
            facts_ms.append((time.process_time() - c0) * 1000)
        db.dispose()
    med = statistics.median
    engine_100 = med(engine_ms) * args.scrape_cameras  # ms of CPU per second for 100 cameras
    print(f"engine's own CPU: {', '.join(f'{v:.2f}' for v in engine_ms)} ms per camera-second "
          f"(median {med(engine_ms):.2f}; {args.cameras} cameras; {engine_100:.0f} ms/s scaled to "
          f"{args.scrape_cameras})")
    print(f"one scrape of {args.scrape_cameras} cameras: {', '.join(f'{v:.2f}' for v in scrape_ms)} ms CPU "
          f"(median {med(scrape_ms):.2f}; {sizes[-1] / 1024:.0f} KiB of text)")
    print(f"one alert check, {args.scrape_cameras} cameras: median {med(checks):.1f} ms CPU "
          f"(database facts {med(facts_ms):.1f} ms)")
    per_s = med(scrape_ms) / 15 + med(checks) / 15
    print(f"scraped every 15 s and checked every 15 s: {per_s:.2f} ms/s = "
          f"{100 * per_s / engine_100:.1f} % of the engine's own CPU for {args.scrape_cameras} cameras")


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    main()
