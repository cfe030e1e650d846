"""Console load benchmark: 500 cameras whose status changes 5 times a second each (2,500 signals/s from a
second thread, as the engine's are), against the real main window.

Prints, for the table visible and then hidden (same load): UI event-loop latency p50/p99 (a timestamped
probe queued from the emitting thread every 20 ms, measured on arrival) and UI-thread CPU as a share of
one core; then the cost of one live thumbnail (a keyframe read from the end of a growing MKV).

    QT_QPA_PLATFORM=offscreen python bench/console.py [--cameras 500] [--rate 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from nvr_console.core.config import load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.status import CameraState, CameraStatus
from nvr_console.ui.app import build_console

TICK_MS = 20
STATES = (CameraState.RECORDING, CameraState.RECORDING, CameraState.RECORDING, CameraState.RECONNECTING,
          CameraState.STALLED)


class LoadEngine(QObject):
    """Lives in its own thread; emits the engine's signals at the requested rate."""

    camera_status = Signal(object)
    probe = Signal(float)

    def __init__(self, cameras: int, rate: float) -> None:
        super().__init__()
        self.cameras, self.rate = cameras, rate
        self.sent = 0
        self._n = 0
        self._timer: QTimer | None = None

    @Slot()
    def run(self) -> None:
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()

    @Slot()
    def halt(self) -> None:
        """Engine thread: stop and drop the timer here, where it was created."""
        if self._timer is not None:
            self._timer.stop()
            self._timer.setParent(None)  # type: ignore[call-overload]
            self._timer = None

    def _tick(self) -> None:
        per_tick = round(self.cameras * self.rate * TICK_MS / 1000)
        now = time.time()
        for _ in range(per_tick):
            cid = self._n % self.cameras + 1
            self._n += 1
            state = STATES[(self._n // self.cameras) % len(STATES)]
            self.camera_status.emit(CameraStatus(
                cid, f"R-{cid // 10:03d}", f"cam{cid}", state, since=now - 5, current_file=f"/rec/{cid}.mkv",
                file_started=now - 100, file_size=self._n * 1000, bitrate_kbps=2000 + cid, next_retry_in=10,
            ))
        self.sent += per_tick
        self.probe.emit(time.perf_counter())


def phase(app: QApplication, engine: LoadEngine, seconds: float) -> tuple[list[float], float, int]:
    latencies: list[float] = []

    def on_probe(sent_at: float) -> None:
        latencies.append((time.perf_counter() - sent_at) * 1000)

    engine.probe.connect(on_probe)
    sent0 = engine.sent
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()  # the console's own event loop, as in production
    cpu = (time.thread_time() - cpu0) / (time.perf_counter() - wall0)
    engine.probe.disconnect(on_probe)
    return latencies, cpu, engine.sent - sent0


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def thumbnail_cost(runs: int = 5) -> str:
    from nvr_console.core.snapshot import snapshot_file

    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        return "thumbnail: skipped (no ffmpeg on PATH)"
    tmp = Path(tempfile.mkdtemp(prefix="nvr-bench-"))
    mkv = tmp / "seg.mkv"
    # 60 s of 1280x720 at 25 fps, a keyframe per second: the shape of a file being recorded.
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=25:duration=60", "-c:v", "libx264", "-preset", "ultrafast",
                    "-b:v", "4M", "-g", "25", str(mkv)], check=True)
    walls = []
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        t = time.perf_counter()
        snapshot_file(ffmpeg, mkv)
        walls.append((time.perf_counter() - t) * 1000)
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = ((child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)) * 1000 / runs
    size = mkv.stat().st_size
    shutil.rmtree(tmp, ignore_errors=True)
    per_minute = cpu_ms / 60_000 * 100
    return (f"thumbnail (1280x720 4 Mb/s MKV of {size / 1e6:.0f} MB, keyframe from its end): "
            f"median {statistics.median(walls):.0f} ms wall, {cpu_ms:.0f} ms FFmpeg CPU each; "
            f"once a minute per visible camera = {per_minute:.2f}% of one core per camera")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=500)
    ap.add_argument("--rate", type=float, default=5.0, help="status changes per camera per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="per phase")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(["nvr-console-bench"])
    QCoreApplication.setOrganizationName("nvr-console-bench")
    tmp = Path(tempfile.mkdtemp(prefix="nvr-bench-"))
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'db.sqlite3'}",
                                        "recording.dir": str(tmp / "rec")}, env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    engine = LoadEngine(args.cameras, args.rate)
    console = build_console(settings, db, engine)
    window = console.window
    window.close_question = lambda _n: "keep"  # type: ignore[method-assign]
    window.resize(1400, 900)
    window.show()
    thread = QThread()
    engine.moveToThread(thread)
    thread.started.connect(engine.run)
    thread.start()

    phase(app, engine, 2.0)  # warm-up: every row inserted, caches filled
    print(f"{args.cameras} cameras x {args.rate:g} status changes/s = {args.cameras * args.rate:.0f} signals/s "
          f"from another thread; batch interval 150 ms; {os.cpu_count()} CPUs; QT_QPA_PLATFORM="
          f"{os.environ.get('QT_QPA_PLATFORM')}")
    results = {}
    for name, visible in (("table visible", True), ("table hidden", False)):
        window.table.setVisible(visible)
        lat, cpu, sent = phase(app, engine, args.seconds)
        results[name] = (lat, cpu)
        print(f"{name:14s}: latency p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms  max {max(lat):6.1f} ms  "
              f"UI-thread CPU {cpu * 100:5.1f}% of a core  ({sent / args.seconds:.0f} signals/s delivered, "
              f"{len(lat)} probes)")
    v, h = results["table visible"], results["table hidden"]
    print(f"ratio visible/hidden: p99 latency x{pct(v[0], 99) / max(pct(h[0], 99), 1e-9):.2f}, "
          f"UI CPU x{v[1] / max(h[1], 1e-9):.2f}")
    QMetaObject.invokeMethod(engine, "halt", Qt.ConnectionType.BlockingQueuedConnection)
    thread.quit()
    thread.wait(5000)
    print(thumbnail_cost())
    window.hide()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
