"""Rotation benchmark: N cameras x K rotations on loopback, the product beside what the original did.

    /tmp/venv/bin/python bench/rotation.py [--cameras 16] [--rotations 3] [--segment 5]

On the same live RTSP streams (tests/support's GStreamer server, one shared H.264 encoder):
  1. product: the Engine (its thread, QProcess recorders, finalizer) records N cameras for K rotations.
     At the same time, in the same wall-clock window (so background load hits both alike), "bare":
     N FFmpeg alone, the CPU reference: the same input options, the same `-c copy`, the same segment
     muxer into the same crash-safe Matroska, but nothing the product adds (no -progress, no segment
     list, stderr at "error" into /dev/null, no engine). Each side's CPU is read from /proc for its own
     FFmpeg processes, plus this process's own CPU (the engine) for the product; the finalizer's FFmpeg
     runs (exited children) are printed apart per file, and in a second ratio.
  2. original: what the original service did: at every boundary stop FFmpeg and start a new one
     (`-c:v copy -an -f mp4`), per camera (coverage only; skip it with --no-original).
Printed: coverage (1 - missing seconds between consecutive files / wall seconds from the first to the
last frame, so the first connect is excluded), the largest gap at a boundary in frames, CPU per camera
(% of one core), the engine's resident memory per camera. All ratios come from this one run; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication  # noqa: E402

from nvr_console.core import catalog  # noqa: E402
from nvr_console.core.config import load_settings  # noqa: E402
from nvr_console.core.db.migrate import prepare_database  # noqa: E402
from nvr_console.core.db.session import Database  # noqa: E402
from nvr_console.core.engine.host import EngineHost  # noqa: E402
from nvr_console.core.recording.ffmpeg_command import build_record_command  # noqa: E402
from nvr_console.core.recording.progress import ProgressParser  # noqa: E402
from nvr_console.core.schedule.boundaries import next_boundary, now_in  # noqa: E402
from nvr_console.core.status import CameraState  # noqa: E402
from tests.support.rtsp_peer import RtspServer  # noqa: E402

FPS = 25.0


def cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ffmpeg_cpu(folder: Path) -> float:
    """CPU seconds used so far by the running FFmpeg processes writing under `folder` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "ffmpeg" in cmd and str(folder) in cmd:
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def coverage_and_gap(spans: list[tuple[float, float]]) -> tuple[float, float]:
    """spans: (first frame, last frame) wall times of consecutive files of one camera."""
    spans = sorted(spans)
    if not spans:
        return 0.0, float("nan")
    wall = spans[-1][1] - spans[0][0]
    # Missing time = the gaps between consecutive files (a file's probed duration counts its last frame,
    # so "sum of durations / wall" overshoots 100 % by a frame per file; gaps do not).
    gaps = [max(0.0, c - b) for (_, b), (c, _) in itertools.pairwise(spans)]
    return 1 - sum(gaps) / wall if wall > 0 else 0.0, max(gaps, default=0.0) * FPS


def wait_for_boundaries(k: int, segment: float) -> float:
    """Sleep until the k-th boundary from now plus a little; returns the wall time then."""
    t = now_in(None)
    for _ in range(k):
        t = next_boundary(t, segment)
    while time.time() < t.timestamp() + 1.0:
        QCoreApplication.processEvents()
        time.sleep(0.05)
    return time.time()


def bare_command(url: str, folder: Path, segment: float) -> list[str]:
    """The product's recorder argv minus what only the product needs: the CPU reference."""
    argv = build_record_command("ffmpeg", url, folder, segment_seconds=round(segment), loglevel="error")
    out: list[str] = []
    skip = {"-progress", "-segment_list", "-segment_list_type", "-stats_period"}
    i = 0
    while i < len(argv):
        if argv[i] in skip:
            i += 2
            continue
        out.append(argv[i])
        i += 1
    return out


def product(url: str, n: int, k: int, segment: float, work: Path) -> dict[str, float]:
    settings = load_settings(overrides={
        "database.url": f"sqlite:///{work / 'bench.sqlite3'}", "recording.dir": str(work / "product"),
        "log.dir": str(work / "log"), "recording.segment_length": str(segment), "upload.destination": "none",
    }, env={})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "bench")
    for i in range(n):
        catalog.add_camera(db, "bench", f"cam{i:02d}", url)
    rss0 = rss_kib()
    host = EngineHost(settings, db)
    finished: list[object] = []
    # A plain callable: it runs on the engine thread that emits (this thread runs no event loop to queue to);
    # it only counts files, list.append is atomic, and nothing here is timed through it.
    host.engine.recording_finished.connect(finished.append)
    recording_at: dict[int, float] = {}  # camera id -> when its status first said RECORDING (engine thread)
    host.engine.camera_status.connect(
        lambda st: recording_at.setdefault(st.camera_id, time.time()) if st.state is CameraState.RECORDING else None)
    bare_procs = []
    for i in range(n):
        d = work / "bare" / f"cam{i:02d}"
        d.mkdir(parents=True)
        bare_procs.append(subprocess.Popen(bare_command(url, d, segment), stdin=subprocess.PIPE,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    c0, ch0, t0 = cpu_self(), cpu_children(), time.time()
    load0 = os.getloadavg()[0]
    host.start()
    wait_for_boundaries(k + 1, segment)  # the first partial file plus K full ones
    # Sample while the recorders still run: their CPU from /proc, the engine's own, and the finalizer's
    # FFmpeg/ffprobe runs (children that already exited) per finished file.
    c1, ch1, t1 = cpu_self(), cpu_children(), time.time()
    recorders = ffmpeg_cpu(work / "product")
    bare_cpu = ffmpeg_cpu(work / "bare")
    bare_alive = sum(bp.poll() is None for bp in bare_procs)  # /proc counts only the running ones
    files_done = len(finished)
    rss1 = rss_kib()
    up = sorted(recording_at.values())
    for bp in bare_procs:
        assert bp.stdin is not None
        try:
            bp.stdin.write(b"q")
            bp.stdin.flush()
        except BrokenPipeError:  # it ended by itself (lost its stream on an overloaded machine): said below
            pass
    assert host.stop(120)
    spans: dict[str, list[tuple[float, float]]] = {}
    for r in catalog.list_recordings(db):
        if r.status == "ready" and r.start_time and r.end_time:
            spans.setdefault(r.camera, []).append((r.start_time.timestamp(), r.end_time.timestamp()))
    db.dispose()
    for bp in bare_procs:
        bp.wait(30)
    results = [coverage_and_gap(s) for s in spans.values()]
    if not results:
        raise SystemExit("the product recorded nothing: is the RTSP server up? (see the log lines above)")
    return {
        "coverage": min(c for c, _ in results), "max_gap_frames": max(g for _, g in results),
        "cpu_pct_per_cam": 100 * ((c1 - c0) + recorders) / (t1 - t0) / n,
        "engine_cpu_pct_per_cam": 100 * (c1 - c0) / (t1 - t0) / n,
        "recorder_cpu_pct_per_cam": 100 * recorders / (t1 - t0) / n,
        "bare_cpu_pct_per_cam": 100 * bare_cpu / (t1 - t0) / n,
        "finalize_cpu_s_per_file": (ch1 - ch0) / max(1, files_done),
        "rss_kib_per_cam": (rss1 - rss0) / n, "files": sum(len(s) for s in spans.values()),
        "recording": len(up), "all_recording_s": (up[-1] - t0) if len(up) >= n else float("nan"),
        "load": (load0 + os.getloadavg()[0]) / 2, "bare_alive": bare_alive,
    }


class _Proc:
    """One FFmpeg with its -progress output parsed on a thread (for the first/last frame wall times)."""

    def __init__(self, argv: list[str]) -> None:
        self.parser = ProgressParser()
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        while data := os.read(self.p.stdout.fileno(), 65536):
            self.parser.feed(data, time.time())

    def quit(self) -> None:
        try:
            assert self.p.stdin is not None
            self.p.stdin.write(b"q")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            self.p.send_signal(signal.SIGTERM)

    def span(self, path: Path) -> tuple[float, float] | None:
        """Wall times of the first and last frame in `path`, on this process's own timeline.

        FFmpeg's output timeline starts at the first packet it received, but stream copy starts the file
        at the first keyframe: the file's start_time says how much later that was.
        """
        self.p.wait(30)
        self.t.join(5)
        last = self.parser.last
        origin = self.parser.timeline_origin
        if origin is None or last is None or not last.out_time_us:
            return None
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=start_time", "-of", "csv=p=0",
                                str(path)], capture_output=True, text=True, check=False)
        try:
            first = float(probe.stdout.strip())
        except ValueError:
            return None
        return origin + first, origin + last.out_time_us / 1e6


def baseline(url: str, n: int, k: int, segment: float, work: Path) -> dict[str, float]:
    out = work / "baseline"
    out.mkdir()

    def start(i: int, j: int) -> _Proc:
        return _Proc(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostats", "-rtsp_transport", "tcp",
                      "-i", url, "-c:v", "copy", "-an", "-progress", "pipe:1", "-f", "mp4",
                      str(out / f"cam{i:02d}-{j}.mp4")])

    runs: dict[int, list[_Proc]] = {i: [start(i, 0)] for i in range(n)}
    for j in range(1, k + 1):
        t = next_boundary(now_in(None), segment).timestamp()
        while time.time() < t:
            time.sleep(0.005)
        for i in range(n):  # the original: stop the running FFmpeg, start a new one
            runs[i][-1].quit()
            runs[i].append(start(i, j))
    wait_for_boundaries(1, segment)
    for procs in runs.values():
        procs[-1].quit()
    results = []
    for i, procs in runs.items():
        spans = [s for s in (p.span(out / f"cam{i:02d}-{j}.mp4") for j, p in enumerate(procs)) if s is not None]
        results.append(coverage_and_gap(spans))
    return {"coverage": min(c for c, _ in results), "max_gap_frames": max(g for _, g in results)}


def _ratio(product_cpu: float, bare_cpu: float) -> str:
    return f"{product_cpu / bare_cpu:.2f}" if bare_cpu > 0 else "n/a (no bare FFmpeg ran)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--rotations", type=int, default=3)
    ap.add_argument("--segment", type=float, default=5.0, help="segment length in seconds")
    ap.add_argument("--no-original", action="store_true", help="skip the original's stop/restart phase")
    args = ap.parse_args()
    app = QCoreApplication.instance() or QCoreApplication([])
    assert app is not None
    with tempfile.TemporaryDirectory(prefix="nvr-bench-") as tmp, RtspServer() as server:
        work = Path(tmp)
        url = server.url("/cam")
        print(f"{args.cameras} cameras x {args.rotations} rotations of {args.segment:g} s, H.264 640x360 25 fps "
              f"(GOP 2 s) from a loopback RTSP server; {os.cpu_count()} CPUs", flush=True)
        p = product(url, args.cameras, args.rotations, args.segment, work)
        print(f"product : coverage {p['coverage']:.4%}  largest boundary gap {p['max_gap_frames']:.1f} frames  "
              f"({p['files']:.0f} files)", flush=True)
        print(f"start: {p['recording']:.0f} of {args.cameras} cameras recording, the last "
              f"{p['all_recording_s']:.1f} s after the engine's start; load average {p['load']:.1f} "
              "(mean of start and end)", flush=True)
        if p["bare_alive"] < args.cameras:
            print(f"only {p['bare_alive']:.0f} of {args.cameras} bare FFmpeg were still running at the end of the "
                  "window (the others lost their stream): the CPU ratio below is not valid", flush=True)
        print(f"CPU per camera while recording: engine + its FFmpeg {p['cpu_pct_per_cam']:.3f} % of a core "
              f"(FFmpeg {p['recorder_cpu_pct_per_cam']:.3f} % + engine process {p['engine_cpu_pct_per_cam']:.3f} %), "
              f"bare FFmpeg in the same window {p['bare_cpu_pct_per_cam']:.3f} %: "
              f"product/bare = {_ratio(p['cpu_pct_per_cam'], p['bare_cpu_pct_per_cam'])}", flush=True)
        if not args.no_original:
            b = baseline(url, args.cameras, args.rotations, args.segment, work)
            print(f"original: coverage {b['coverage']:.4%}  largest boundary gap {b['max_gap_frames']:.1f} frames "
                  "(stop + restart FFmpeg at each boundary)", flush=True)
        fin = p["finalize_cpu_s_per_file"]
        print(f"finalizing: {fin:.2f} CPU s per file (the finalizer's FFmpeg/ffprobe runs): "
              f"{100 * fin / args.segment:.2f} % of a core per camera at {args.segment:g} s segments, "
              f"{100 * fin / 1800:.3f} % at 30 min")
        # The ratio above leaves the finalizer's own processes out (bare FFmpeg writes no MP4); with them:
        all_in = p["cpu_pct_per_cam"] + 100 * fin / args.segment
        print(f"CPU per camera with the finalizer's processes: {all_in:.3f} % of a core, "
              f"product/bare = {_ratio(all_in, p['bare_cpu_pct_per_cam'])}", flush=True)
        print(f"engine resident memory per camera: {p['rss_kib_per_cam'] / 1024:.3f} MiB "
              "(this process's growth from before the engine to the end of the window)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
