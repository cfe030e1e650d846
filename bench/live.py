"""Live wall benchmark, on the loopback RTSP server, against plain FFmpeg decoding the same streams in the same run.

Per run (the spread over --runs is printed):
  cpu      N tiles of 640x360 (the real LiveWall, offscreen, each tile 640x360 so nothing is scaled) playing
           /cam for S seconds, CPU of the decode threads (every thread that appeared once the tiles started: the
           decoders and any thread FFmpeg started for them) and of the whole process (its idle CPU over as long
           subtracted), against N `ffmpeg -threads 1 -i URL -f null -` and N more with `-pix_fmt bgra` on the
           same mount over the same seconds (at the same time: a shared machine's load weighs on both alike):
           CPU per tile as a ratio to FFmpeg's decode (target <= 1.3), and the pictures each tile showed.
  latency  one tile playing /clock (frames stamped with their send time as a bar code,
           tests/support/clock_code.py) and, at the same time, FFmpeg decoding the same mount to a pipe
           (`-threads 1 -flags low_delay`, its lowest-latency settings that decode cleanly): the age of each
           picture when the UI thread takes it (ours) or when it leaves FFmpeg's pipe; p50/p95 (target p95
           < 500 ms on loopback).
  ui       16 tiles playing /cam on a 4x4 wall: the lateness of a 10 ms timer on the UI thread, p99, against
           the same timer with the wall hidden (nothing decoding) just before (target p99 < 16 ms).

    QT_QPA_PLATFORM=offscreen python bench/live.py [--runs 3] [--seconds 8] [--tiles 4]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from nvr_console.core.catalog import CameraInfo
from nvr_console.core.live.tile_decoder import LiveFrame
from nvr_console.ui.views.live_wall import LiveWall
from tests.support.clock_code import WIDTH, read_ms
from tests.support.rtsp_peer import RtspServer

TICK = os.sysconf("SC_CLK_TCK")
TIMER_MS = 10
FFMPEG = "ffmpeg"


def camera(cid: int, url: str) -> CameraInfo:
    now = datetime.now(UTC)
    return CameraInfo(cid, 1, "bench", f"tile{cid}", url, "tcp", True, "recording", now, now)


def run_loop(app: QCoreApplication, seconds: float) -> None:
    QTimer.singleShot(int(seconds * 1000), lambda: app.exit(0))  # quit() would close the windows (Qt 6)
    app.exec()


def wait_for(app: QCoreApplication, wall: LiveWall, timeout_s: float) -> None:
    """Until every tile has shown a picture."""
    deadline = time.monotonic() + timeout_s
    while not all(t.frames_shown > 0 for t in wall.tiles.values()):
        if time.monotonic() > deadline:
            states = {t.name: (t.live.state.value, t.live.error) for t in wall.tiles.values()}
            raise SystemExit(f"timed out waiting for the tiles to play: {states}")
        run_loop(app, 0.1)


def proc_cpu(path: str) -> float:
    """utime + stime of /proc/<pid>[/task/<tid>]/stat, seconds."""
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def show_wall(wall: LiveWall, grid: str, cams: list[CameraInfo], size: tuple[int, int]) -> None:
    wall.grid_choice.setCurrentText(grid)
    wall.resize(*size)
    wall.set_cameras(cams)
    wall.show()


def stop_wall(app: QCoreApplication, wall: LiveWall) -> None:
    wall.hide()
    wall.stop_all(wait_s=5)
    wall.set_cameras([])
    run_loop(app, 0.2)


class FfmpegGroup:
    """`n` FFmpeg decoding `url` to null, started a quarter second apart (the shared test server can abort when
    clients join at the same instant; it restarts)."""

    def __init__(self, url: str, n: int, output: list[str]) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        for _ in range(n):
            self.procs.append(subprocess.Popen([FFMPEG, "-v", "fatal", "-threads", "1", "-rtsp_transport", "tcp", "-i",
                                                url, *output, "-f", "null", "-"], stdin=subprocess.DEVNULL))
            time.sleep(0.25)

    def cpu(self) -> float:
        return sum(proc_cpu(f"/proc/{p.pid}/stat") for p in self.procs)

    def ended(self) -> bool:
        return any(p.poll() is not None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
            p.wait(10)


def cpu_phase(app: QCoreApplication, server: RtspServer, tiles: int,
              seconds: float) -> tuple[float, float, float, float, float]:
    """(decode threads, whole process, FFmpeg decoding, FFmpeg decoding and converting to 32-bit RGB as a player
    must), CPU % of one core per tile; and the pictures each tile showed per second (a tile converts a picture only
    when the UI has taken the one before: fewer pictures shown would cost less, so the rate is part of the figure).
    The FFmpeg run at the same time as the tiles, over the same seconds: the machine's other load weighs on both
    alike."""
    url = server.url("/cam")
    server.ensure_running()
    wall = LiveWall()
    columns = 1 if tiles == 1 else 2 if tiles <= 4 else 3 if tiles <= 9 else 4
    grid = {1: "1", 2: "2x2", 3: "3x3", 4: "4x4"}[columns]
    # Tiles of at least 640x360: the decoder's frames stay at the stream's size (nothing scaled).
    show_wall(wall, grid, [], (columns * 650, columns * 375 + 40))
    run_loop(app, 0.5)
    idle0 = self_cpu()
    run_loop(app, seconds)
    idle = self_cpu() - idle0
    pid = os.getpid()
    before = set(os.listdir(f"/proc/{pid}/task"))
    wall.set_cameras([camera(i + 1, url) for i in range(tiles)])
    wait_for(app, wall, 20)
    run_loop(app, 1.0)
    threads = sorted(set(os.listdir(f"/proc/{pid}/task")) - before)
    if len(threads) < tiles:
        raise SystemExit(f"{len(threads)} new threads for {tiles} tiles: the decode threads were not found")
    for _attempt in range(3):
        figures = _measure_together(app, server, wall, url, threads, seconds)
        if figures is not None:
            decode, process, ffmpeg, ffmpeg_rgb, shown = figures
            break
        print(f"a stream ended early (server: {server.log_tail(300)!r}); measuring again", flush=True)
    else:
        raise SystemExit("the test stream could not be decoded three times")
    process -= idle / seconds / tiles * 100
    sizes = {(t.image.width(), t.image.height()) for t in wall.tiles.values() if t.image is not None}
    if sizes != {(640, 360)}:
        raise SystemExit(f"tiles decoded at {sizes}, not 640x360: the figures would not be per 640x360 tile")
    stop_wall(app, wall)
    return decode, process, ffmpeg, ffmpeg_rgb, shown


def _measure_together(app: QCoreApplication, server: RtspServer, wall: LiveWall, url: str, threads: list[str],
                      seconds: float) -> tuple[float, float, float, float, float] | None:
    """One window of `seconds` with the tiles and 2 x tiles FFmpeg decoding at once; None when a stream broke."""
    tiles = len(wall.tiles)
    server.ensure_running()
    groups = [FfmpegGroup(url, tiles, []), FfmpegGroup(url, tiles, ["-pix_fmt", "bgra"])]
    try:
        run_loop(app, 2.0)  # every FFmpeg connected and past its first keyframe
        pid = os.getpid()
        t0 = sum(proc_cpu(f"/proc/{pid}/task/{tid}/stat") for tid in threads)
        f0 = [g.cpu() for g in groups]
        p0 = self_cpu()
        decoded0 = sum(d.frames_decoded for d in wall.decoders.values())
        shown0 = sum(t.frames_shown for t in wall.tiles.values())
        run_loop(app, seconds)
        shown = (sum(t.frames_shown for t in wall.tiles.values()) - shown0) / seconds / tiles
        decoded = (sum(d.frames_decoded for d in wall.decoders.values()) - decoded0) / seconds / tiles
        process = (self_cpu() - p0) / seconds / tiles * 100
        decode = (sum(proc_cpu(f"/proc/{pid}/task/{tid}/stat") for tid in threads) - t0) / seconds / tiles * 100
        ffmpeg, ffmpeg_rgb = ((g.cpu() - f) / seconds / tiles * 100 for g, f in zip(groups, f0, strict=True))
        broken = any(g.ended() for g in groups) or decoded < 20  # a tile lost its stream (25 frames/s sent)
    finally:
        for g in groups:
            g.stop()
    return None if broken else (decode, process, ffmpeg, ffmpeg_rgb, shown)


def latency_phase(app: QCoreApplication, server: RtspServer, seconds: float) -> tuple[list[float], list[float]]:
    """Ages (ms) of the pictures: ours when the UI thread takes them, FFmpeg's as they leave its pipe."""
    server.ensure_running()
    url = server.url("/clock")
    ours: list[float] = []
    theirs: list[float] = []
    proc = subprocess.Popen([FFMPEG, "-v", "error", "-threads", "1", "-flags", "low_delay", "-rtsp_transport", "tcp",
                             "-i", url, "-vf", f"crop={WIDTH}:32:0:0", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    reading = True

    def read_ffmpeg() -> None:
        assert proc.stdout is not None
        while reading:
            buf = proc.stdout.read(WIDTH * 32)
            if len(buf) < WIDTH * 32:
                return
            now = time.time() * 1000
            sent = read_ms(memoryview(buf)[WIDTH * 16:WIDTH * 17], 1, WIDTH, int(now))
            if sent is not None and plausible(now - sent):
                theirs.append(now - sent)

    reader = threading.Thread(target=read_ffmpeg, daemon=True)
    reader.start()
    wall = LiveWall()
    show_wall(wall, "1", [camera(1, url)], (660, 420))
    wait_for(app, wall, 20)
    tile = wall.tiles[1]
    shown = tile.show_frame

    def stamped(frame: LiveFrame) -> None:  # UI thread: the picture is handed to the tile to paint
        now = time.time() * 1000
        row = frame.rgb[frame.stride * (16 * frame.height // 360):][:frame.width * 4]
        sent = read_ms(row, 4, frame.width, int(now))
        if sent is not None and plausible(now - sent):
            ours.append(now - sent)
        shown(frame)

    run_loop(app, 1.0)
    theirs.clear()
    tile.show_frame = stamped  # type: ignore[method-assign]
    run_loop(app, seconds)
    reading = False
    proc.terminate()
    proc.wait(10)
    stop_wall(app, wall)
    return ours, theirs


def plausible(age_ms: float) -> bool:
    """A stamp read right: a cell misread by the decoder's blur gives an age of days or of the future."""
    return -5 <= age_ms <= 60_000


class Lateness:
    def __init__(self) -> None:
        self.values: list[float] = []
        self._last = 0.0
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TIMER_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last:
            self.values.append(max(0.0, (now - self._last) * 1000 - TIMER_MS))
        self._last = now

    def measure(self, app: QCoreApplication, seconds: float) -> list[float]:
        self.values, self._last = [], 0.0
        self.timer.start()
        run_loop(app, seconds)
        self.timer.stop()
        return self.values


def ui_phase(app: QCoreApplication, server: RtspServer, seconds: float) -> tuple[list[float], list[float], int]:
    """10 ms timer lateness: the wall hidden (baseline), then 16 tiles playing. And the frames shown."""
    server.ensure_running()
    probe = Lateness()
    idle = probe.measure(app, min(seconds, 5.0))
    wall = LiveWall()
    show_wall(wall, "4x4", [camera(i + 1, server.url("/cam")) for i in range(16)], (1280, 760))
    wait_for(app, wall, 30)
    run_loop(app, 1.0)
    shown0 = sum(t.frames_shown for t in wall.tiles.values())
    busy = probe.measure(app, seconds)
    shown = sum(t.frames_shown for t in wall.tiles.values()) - shown0
    stop_wall(app, wall)
    return idle, busy, shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0, help="per phase")
    ap.add_argument("--tiles", type=int, default=4, help="640x360 tiles in the CPU phase")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication(["nvr-console-bench"])
    QCoreApplication.setOrganizationName("nvr-console-bench")
    import av

    version = subprocess.run([FFMPEG, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; PyAV {av.__version__} (FFmpeg "
          f"{av.ffmpeg_version_info}); baseline {version}")
    cpu: dict[str, list[float]] = {"decode": [], "process": [], "ffmpeg": [], "ffmpeg_rgb": []}
    ours_p95: list[float] = []
    theirs_p95: list[float] = []
    ui_p99: list[float] = []
    idle_p99: list[float] = []
    with RtspServer(auto_restart=True) as server:
        for run in range(1, args.runs + 1):
            decode, process, ffmpeg, ffmpeg_rgb, shown = cpu_phase(app, server, args.tiles, args.seconds)
            for k, v in (("decode", decode), ("process", process), ("ffmpeg", ffmpeg), ("ffmpeg_rgb", ffmpeg_rgb)):
                cpu[k].append(v)
            print(f"run {run} cpu: per 640x360 tile ({args.tiles} tiles) decode threads {decode:.1f}%, whole process "
                  f"{process:.1f}% (idle subtracted); ffmpeg -f null {ffmpeg:.1f}%, with -pix_fmt bgra "
                  f"{ffmpeg_rgb:.1f}% of a core; ratios decode/ffmpeg {decode / ffmpeg:.2f}, "
                  f"decode/ffmpeg-bgra {decode / ffmpeg_rgb:.2f}, process/ffmpeg {process / ffmpeg:.2f}; "
                  f"{shown:.1f} pictures/s shown per tile (the stream has 25)")
            ours, theirs = latency_phase(app, server, args.seconds)
            ours_p95.append(pct(ours, 95))
            theirs_p95.append(pct(theirs, 95))
            print(f"run {run} latency: ours p50 {pct(ours, 50):.0f} p95 {pct(ours, 95):.0f} max {max(ours):.0f} ms "
                  f"({len(ours)} frames); ffmpeg p50 {pct(theirs, 50):.0f} p95 {pct(theirs, 95):.0f} "
                  f"max {max(theirs, default=0):.0f} ms ({len(theirs)} frames)")
            idle, busy, shown = ui_phase(app, server, args.seconds)
            ui_p99.append(pct(busy, 99))
            idle_p99.append(pct(idle, 99))
            print(f"run {run} ui: 10 ms timer late p50 {pct(busy, 50):.1f} p99 {pct(busy, 99):.1f} max "
                  f"{max(busy):.1f} ms with 16 tiles ({shown / args.seconds:.0f} frames/s shown); hidden wall p99 "
                  f"{pct(idle, 99):.1f} ms")
    ratio_decode = [d / f for d, f in zip(cpu["decode"], cpu["ffmpeg"], strict=True)]
    ratio_process = [p / f for p, f in zip(cpu["process"], cpu["ffmpeg"], strict=True)]
    ratio_rgb = [d / f for d, f in zip(cpu["decode"], cpu["ffmpeg_rgb"], strict=True)]
    ratio_process_rgb = [p / f for p, f in zip(cpu["process"], cpu["ffmpeg_rgb"], strict=True)]
    print(f"\nover {args.runs} runs, median (min-max):")
    print(f"  CPU per 640x360 tile: decode threads {spread(cpu['decode'], '{:.1f}')}%, whole process "
          f"{spread(cpu['process'], '{:.1f}')}%, ffmpeg -f null {spread(cpu['ffmpeg'], '{:.1f}')}%, ffmpeg "
          f"-pix_fmt bgra {spread(cpu['ffmpeg_rgb'], '{:.1f}')}% of a core")
    print(f"  ratio to ffmpeg -f null: decode threads {spread(ratio_decode)}, whole process {spread(ratio_process)} "
          "(target <= 1.3)")
    print(f"  ratio to ffmpeg -pix_fmt bgra: decode threads {spread(ratio_rgb)}, whole process "
          f"{spread(ratio_process_rgb)}")
    print(f"  glass-to-glass p95: ours {spread(ours_p95, '{:.0f}')} ms, ffmpeg {spread(theirs_p95, '{:.0f}')} ms "
          "(target < 500 ms)")
    print(f"  UI thread 10 ms timer lateness p99 with 16 tiles: {spread(ui_p99, '{:.1f}')} ms, wall hidden "
          f"{spread(idle_p99, '{:.1f}')} ms (target < 16 ms)")


if __name__ == "__main__":
    main()
