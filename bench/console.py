"""Console load benchmark: 500 cameras whose status changes 5 times a second each (2,500 signals/s from a
second thread, as the engine's are), against the real main window with a sort column and a filter set.

Prints, idle (no load: the baseline) and under load with the table visible and then hidden: the UI event
loop's latency p50/p99/max, measured two ways on the UI thread (a timestamped probe emitted from the load
thread every 20 ms and received by a QObject living on the UI thread, so it queues behind the engine's
signals as they do; and the lateness of a 10 ms timer on the UI thread), and UI-thread CPU as a share of
one core; then the cost of one live thumbnail (a keyframe read from the end of a growing MKV). It checks,
and prints, that every probe was received on the UI thread: a slot that is a plain function would run on
the emitting thread and measure nothing of the UI.

    QT_QPA_PLATFORM=offscreen python bench/console.py [--cameras 500] [--rate 5] [--seconds 10] [--runs 3]
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
import threading
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
from nvr_console.ui.models.camera_table_model import Column

TICK_MS = 20
TIMER_MS = 10
UI_THREAD = threading.get_ident()  # this module runs on the thread that becomes the UI thread
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
        self.active = False  # set from the UI thread between phases; while False only probes are sent
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
            self._timer.setParent(None)
            self._timer = None

    def _tick(self) -> None:
        per_tick = round(self.cameras * self.rate * TICK_MS / 1000) if self.active else 0
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


class Probe(QObject):
    """Lives on the UI thread: the probe signal, emitted on the load thread, is queued to `arrived` here."""

    def __init__(self) -> None:
        super().__init__()
        self.latencies: list[float] = []
        self.threads: set[int] = set()
        self.lateness: list[float] = []
        self._last = 0.0
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TIMER_MS)
        self.timer.timeout.connect(self._tick)

    @Slot(float)
    def arrived(self, sent_at: float) -> None:
        """UI thread (checked: the thread of every call is kept)."""
        self.latencies.append((time.perf_counter() - sent_at) * 1000)
        self.threads.add(threading.get_ident())

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.lateness.append(max(0.0, (now - self._last) * 1000 - TIMER_MS))
        self._last = now
        self.threads.add(threading.get_ident())

    def reset(self) -> None:
        self.latencies, self.lateness, self.threads, self._last = [], [], set(), 0.0


def phase(app: QCoreApplication, engine: LoadEngine, probe: Probe, seconds: float) -> tuple[Probe, float, int]:
    probe.reset()
    probe.timer.start()
    sent0 = engine.sent
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    # exit(0), not quit(): in Qt 6 quit() first closes the windows, and the main window refuses (it asks, or stops
    # the recorders and waits for them): the loop never ended and the benchmark ran until killed.
    QTimer.singleShot(int(seconds * 1000), lambda: app.exit(0))
    app.exec()  # the console's own event loop, as in production
    cpu = (time.thread_time() - cpu0) / (time.perf_counter() - wall0)
    probe.timer.stop()
    if probe.threads != {UI_THREAD}:
        raise SystemExit(f"the probe ran on thread(s) {probe.threads}, not the UI thread {UI_THREAD}: "
                         "the figures would not measure the UI")
    return probe, cpu, engine.sent - sent0


def pct(values: list[float], q: int) -> float:
    # inclusive: within the values seen (the default extrapolates past the maximum with a few hundred samples)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else float("nan")


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


def stats(values: list[float]) -> str:
    return f"p50 {pct(values, 50):6.1f} ms  p99 {pct(values, 99):6.1f} ms  max {max(values, default=0):6.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=500)
    ap.add_argument("--rate", type=float, default=5.0, help="status changes per camera per second")
    ap.add_argument("--seconds", type=float, default=10.0, help="per phase")
    ap.add_argument("--runs", type=int, default=1, help="loaded phases per visibility, for the spread")
    ap.add_argument("--sort", default="STATE", choices=[c.name for c in Column], help="column the table sorts by")
    ap.add_argument("--filter", default="cam1", help="text in the filter box ('' for none)")
    ap.add_argument("--no-thumbnail", action="store_true", help="skip the thumbnail cost")
    args = ap.parse_args()

    app = QApplication.instance() or QApplication(["nvr-console-bench"])
    QCoreApplication.setOrganizationName("nvr-console-bench")
    tmp = Path(tempfile.mkdtemp(prefix="nvr-bench-"))
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'db.sqlite3'}",
                                        "recording.dir": str(tmp / "rec")}, env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    engine = LoadEngine(args.cameras, args.rate)
    # Only the status flood is measured: the load engine feeds the console's events object as an engine would
    # (queued, from its thread), without the rest of the engine interface.
    console = build_console(settings, db, None)
    engine.camera_status.connect(console.events.camera_status, Qt.ConnectionType.QueuedConnection)
    window = console.window
    window.close_question = lambda active: "keep"  # type: ignore[method-assign]  # the benchmark never asks
    window.resize(1400, 900)
    window.show()
    window.table.sortByColumn(Column[args.sort], Qt.SortOrder.AscendingOrder)
    window.filter_edit.setText(args.filter)
    probe = Probe()
    engine.probe.connect(probe.arrived)  # queued: the receiver lives on the UI thread
    thread = QThread()
    engine.moveToThread(thread)
    thread.started.connect(engine.run)
    thread.start()

    engine.active = True
    phase(app, engine, probe, 2.0)  # warm-up: every row inserted, caches filled
    shown = window.proxy.rowCount()
    print(f"{args.cameras} cameras x {args.rate:g} status changes/s = {args.cameras * args.rate:.0f} signals/s "
          f"from another thread; sorted by {args.sort}, filter {args.filter!r} ({shown} rows shown); "
          f"{os.cpu_count()} CPUs; QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}")
    print(f"probe received by a QObject on the UI thread (thread id {UI_THREAD}; every probe checked)")
    engine.active = False
    idle, _cpu, _sent = phase(app, engine, probe, min(args.seconds, 5.0))
    idle_p99 = pct(idle.latencies, 99)
    print(f"{'idle':14s}: probe {stats(idle.latencies)}  |  10 ms timer late {stats(idle.lateness)}")
    engine.active = True
    summary: dict[str, list[float]] = {}
    for run in range(1, args.runs + 1):
        for name, visible in (("table visible", True), ("table hidden", False)):
            window.table.setVisible(visible)
            got, cpu, sent = phase(app, engine, probe, args.seconds)
            summary.setdefault(name, []).append(pct(got.latencies, 99))
            print(f"{name:14s}: probe {stats(got.latencies)}  |  10 ms timer late {stats(got.lateness)}  |  "
                  f"UI-thread CPU {cpu * 100:5.1f}% of a core  ({sent / args.seconds:.0f} signals/s delivered, "
                  f"{len(got.latencies)} probes, run {run})")
    for name, p99s in summary.items():
        print(f"{name}: probe p99 over {len(p99s)} run(s) {min(p99s):.1f}-{max(p99s):.1f} ms "
              f"(x{min(p99s) / max(idle_p99, 1e-3):.1f}-x{max(p99s) / max(idle_p99, 1e-3):.1f} idle)")
    QMetaObject.invokeMethod(engine, "halt", Qt.ConnectionType.BlockingQueuedConnection)
    thread.quit()
    thread.wait(5000)
    if not args.no_thumbnail:
        print(thumbnail_cost())
    window.hide()
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
