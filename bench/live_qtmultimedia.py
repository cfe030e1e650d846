"""The other decoder the live wall could use: QtMultimedia (PySide6-Addons, FFmpeg backend), measured the way
bench/live.py measures ours, on the same loopback RTSP server: CPU per 640x360 stream with each frame turned into
a QImage (what a tile draws), and glass-to-glass latency on the /clock mount.

PySide6-Addons is not a dependency (about 175 MB more per install); run this in a throwaway venv:

    python -m venv /tmp/qtmm && /tmp/qtmm/bin/pip install PySide6-Essentials==6.11.3 PySide6-Addons==6.11.3
    QT_QPA_PLATFORM=offscreen PYTHONPATH=. /tmp/qtmm/bin/python bench/live_qtmultimedia.py [--seconds 8] [--streams 4]
        [--low-latency]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, QTimer, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

try:
    from PySide6.QtMultimedia import QMediaPlayer, QPlaybackOptions, QVideoFrame, QVideoSink
except ImportError:
    raise SystemExit("QtMultimedia is not installed (PySide6-Addons): see this script's docstring") from None

from tests.support.clock_code import WIDTH, read_ms
from tests.support.rtsp_peer import RtspServer


def run_loop(app: QCoreApplication, seconds: float) -> None:
    QTimer.singleShot(int(seconds * 1000), lambda: app.exit(0))
    app.exec()


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Player:
    """One stream into a QVideoSink; every frame becomes a QImage, as a tile would draw it."""

    def __init__(self, url: str, on_image: object = None, low_latency: bool = False) -> None:
        self.player = QMediaPlayer()
        if low_latency:  # Qt 6.10+: the FFmpeg backend's low-latency options (no buffering, small probe)
            options = QPlaybackOptions()
            options.setPlaybackIntent(QPlaybackOptions.PlaybackIntent.LowLatencyStreaming)
            self.player.setPlaybackOptions(options)
        self.sink = QVideoSink()
        self.player.setVideoSink(self.sink)
        self.frames = 0
        self.on_image = on_image
        self.sink.videoFrameChanged.connect(self._frame)
        self.player.setSource(QUrl(url))
        self.player.play()

    def _frame(self, frame: QVideoFrame) -> None:
        image = frame.toImage()
        if image.isNull():
            return
        self.frames += 1
        if callable(self.on_image):
            self.on_image(image)

    def stop(self) -> None:
        self.player.stop()


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--low-latency", action="store_true", help="QPlaybackOptions.LowLatencyStreaming")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(["nvr-console-bench"])
    with RtspServer(auto_restart=True) as server:
        run_loop(app, 1.0)
        idle0 = self_cpu()
        run_loop(app, args.seconds)
        idle = self_cpu() - idle0
        players = [Player(server.url("/cam"), low_latency=args.low_latency) for _ in range(args.streams)]
        deadline = time.monotonic() + 30
        while not all(p.frames for p in players) and time.monotonic() < deadline:
            run_loop(app, 0.1)
        run_loop(app, 1.0)
        f0, c0 = sum(p.frames for p in players), self_cpu()
        run_loop(app, args.seconds)
        cpu = (self_cpu() - c0 - idle) / args.seconds / args.streams * 100
        fps = (sum(p.frames for p in players) - f0) / args.seconds / args.streams
        for p in players:
            p.stop()
        mode = " (low latency)" if args.low_latency else ""
        print(f"QtMultimedia{mode}: {args.streams} x 640x360 /cam, {fps:.1f} frames/s each into QImage: "
              f"{cpu:.1f}% of a core per stream (idle subtracted)")
        ages: list[float] = []
        unread: list[float] = []

        def stamped(image: QImage) -> None:
            now = time.time() * 1000
            y = 16 * image.height() // 360
            row = bytes(image.pixelColor(x, y).red() for x in range(image.width()))
            sent = read_ms(row, 1, image.width(), int(now))
            if sent is not None and -5 <= now - sent <= 60_000:  # else a cell misread (blur, concealment)
                ages.append(now - sent)
            else:
                unread.append(now)

        clock = Player(server.url("/clock"), stamped, low_latency=args.low_latency)
        deadline = time.monotonic() + 30
        while not clock.frames and time.monotonic() < deadline:
            run_loop(app, 0.1)
        run_loop(app, 1.0)
        ages.clear()
        unread.clear()
        shown0 = clock.frames
        run_loop(app, args.seconds)
        clock.stop()
        print(f"QtMultimedia glass-to-glass on /clock: p50 {pct(ages, 50):.0f} p95 {pct(ages, 95):.0f} "
              f"max {max(ages, default=0):.0f} ms ({len(ages)} frames read of {clock.frames - shown0}; {len(unread)} "
              f"unreadable stamps; frame width {WIDTH})")


if __name__ == "__main__":
    main()
