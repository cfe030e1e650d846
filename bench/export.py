"""Export and timeline benchmark: ratios measured in one run against baselines on the same files.

    .venv/bin/python bench/export.py                 # about 4-6 minutes on 2 cores, ~0.9 GB of temp files
    .venv/bin/python bench/export.py --quick         # 4 x 3 minutes of recordings, one run each

Prints (median and spread of --runs runs, wall seconds and CPU seconds of the child processes):
  1. `export` of a 90-minute range across four 30-minute recordings (keyframe start, -c copy) vs plain FFmpeg
     (concat demuxer, -c copy) on the same four local files: with the same in and out points (the same work
     by hand: what the product adds), and the whole files;
  2. `export --exact` vs a full re-encode of the same range (libx264 veryfast CRF 18, sound copied), on a
     --reencode-minutes range (default 10: a full re-encode of 90 minutes takes ~10 minutes here);
  3. timeline paint time for 50 cameras x 48 files (whole day and two-hour zoom) and the hover hit test, with
     painting the same 2,400 rectangles with a bare QPainter as the baseline.
The recordings are a 30 s H.264 640x360 25 fps (GOP 2 s, ~0.8 Mbit/s) + AAC clip copied into 30-minute files
(`-stream_loop`, no re-encoding), as the recorder's finalizer writes them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

from figures import spread
from sample_media import ffmpeg, looped_recordings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its children)."""
    cpu0 = time.process_time() + _children_cpu()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() + _children_cpu() - cpu0


def catalog_of(folder: Path, pieces: list[Path], minutes: float):
    """A database whose recordings are these files, 30 minutes apart from 10:00 Moscow time."""
    import hashlib

    from nvr_console.core import catalog
    from nvr_console.core.config import load_settings
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.models import Recording
    from nvr_console.core.db.session import Database
    from nvr_console.core.recording.mp4_boxes import read_mp4

    settings = load_settings(overrides={"database.url": f"sqlite:///{folder / 'bench.sqlite3'}",
                                        "recording.dir": str(folder / "rec"), "recording.timezone": "Europe/Moscow",
                                        "upload.destination": "none"}, env={}, cwd=folder)
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    t0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    for i, p in enumerate(pieces):
        start = t0 + timedelta(minutes=minutes * i)
        info = read_mp4(p)
        with db.session() as s:
            s.add(Recording(camera_id=cam, room_name="A-101", camera_name="front", slot_start=start,
                            start_time=start, end_time=start + timedelta(seconds=info.duration_s or 0),
                            local_path=str(p), local_path_key=str(p), size=p.stat().st_size,
                            duration=info.duration_s, md5=hashlib.md5(p.read_bytes()).hexdigest(), status="ready"))
    return settings, db, t0


def bench_export(args: argparse.Namespace) -> None:
    from nvr_console.core.export.cut import ListEntry, concat_list
    from nvr_console.core.export.run import export_range

    minutes = 3.0 if args.quick else 30.0
    work = Path(tempfile.mkdtemp(prefix="nvr-bench-export-", dir=args.tmp))
    try:
        print(f"making 4 x {minutes:g}-minute recordings in {work} ...", flush=True)
        pieces = looped_recordings(work, 4, minutes)
        settings, db, t0 = catalog_of(work, pieces, minutes)
        start = t0 + timedelta(minutes=minutes / 2)  # 10:15 .. 11:45 for 30-minute files
        end = start + timedelta(minutes=3 * minutes)
        listed = work / "plain.ffconcat"
        listed.write_text(concat_list([ListEntry(p) for p in pieces]), encoding="utf-8")
        # What one would type by hand for the same range: the same four files, the same in and out points.
        by_hand = work / "by_hand.ffconcat"
        half = minutes * 30
        by_hand.write_text(concat_list([ListEntry(pieces[0], inpoint=half), ListEntry(pieces[1]),
                                        ListEntry(pieces[2]), ListEntry(pieces[3], outpoint=half + 0.1)]),
                           encoding="utf-8")
        ours, hand, whole = [], [], []
        for run in range(args.runs):
            out = work / f"ours{run}.mp4"
            ours.append(timed(partial(export_range, settings, db, "A-101", "front", start, end, out)))
            base = work / f"hand{run}.mp4"
            hand.append(timed(partial(ffmpeg, "-f", "concat", "-safe", "0", "-i", str(by_hand), "-c", "copy",
                                      "-movflags", "+faststart", str(base))))
            whole_out = work / f"whole{run}.mp4"
            whole.append(timed(partial(ffmpeg, "-f", "concat", "-safe", "0", "-i", str(listed), "-c", "copy",
                                       "-movflags", "+faststart", str(whole_out))))
            for f in (out, base, whole_out):
                f.unlink()
        size = sum(p.stat().st_size for p in pieces) * 3 / 4 / 1e6
        print(f"\n1. export of {3 * minutes:g} minutes ({size:.0f} MB) across 4 files, {args.runs} run(s), vs plain "
              "FFmpeg (concat demuxer, -c copy) on the same files:")
        print(f"   export              wall {spread([w for w, _ in ours])} s, CPU {spread([c for _, c in ours])} s")
        print(f"   FFmpeg, same range  wall {spread([w for w, _ in hand])} s, CPU {spread([c for _, c in hand])} s")
        print(f"   FFmpeg, whole files wall {spread([w for w, _ in whole])} s, CPU {spread([c for _, c in whole])} s "
              f"({4 * minutes:g} minutes)")
        print(f"   ratio, same range   wall x{spread([a[0] / b[0] for a, b in zip(ours, hand, strict=True)])}, "
              f"CPU x{spread([a[1] / b[1] for a, b in zip(ours, hand, strict=True)])}")
        print(f"   ratio, whole files  wall x{spread([a[0] / b[0] for a, b in zip(ours, whole, strict=True)])}, "
              f"CPU x{spread([a[1] / b[1] for a, b in zip(ours, whole, strict=True)])}")

        rmin = min(args.reencode_minutes, 3 * minutes)
        r_start = start + timedelta(seconds=0.52)  # not on a keyframe: the exact cut has a partial GOP to encode
        r_end = r_start + timedelta(minutes=rmin)
        exact, full = [], []
        first_in = (r_start - t0).total_seconds()
        for run in range(args.runs):
            out = work / f"exact{run}.mp4"
            exact.append(timed(partial(export_range, settings, db, "A-101", "front", r_start, r_end, out, exact=True)))
            enc = work / f"full{run}.mp4"
            full.append(timed(partial(
                ffmpeg, "-ss", f"{first_in:.3f}", "-f", "concat", "-safe", "0", "-i", str(listed), "-t",
                f"{rmin * 60:.3f}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "copy",
                "-movflags", "+faststart", str(enc))))
            out.unlink()
            enc.unlink()
        print(f"\n2. exact cut vs full re-encode of a {rmin:g}-minute range starting mid-GOP, {args.runs} run(s):")
        print(f"   exact      wall {spread([w for w, _ in exact])} s, CPU {spread([c for _, c in exact])} s")
        print(f"   re-encode  wall {spread([w for w, _ in full])} s, CPU {spread([c for _, c in full])} s")
        print(f"   ratio      wall x{spread([a[0] / b[0] for a, b in zip(exact, full, strict=True)])}, "
              f"CPU x{spread([a[1] / b[1] for a, b in zip(exact, full, strict=True)])}")
        db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def synthetic_day(cameras: int, files: int):
    """cameras x files of one day, with a gap or two per camera and an event for each gap."""
    from zoneinfo import ZoneInfo

    from nvr_console.core.coverage import FileSpan, compute, day_bounds, window_spans
    from nvr_console.core.db.models import CameraEventKind
    from nvr_console.core.events.store import Event
    from nvr_console.core.schedule.window import RecordingWindow

    zone = ZoneInfo("Europe/Moscow")
    day = date(2026, 11, 27)
    start, end = day_bounds(day, zone)
    step = (end - start) / files
    window = window_spans(RecordingWindow.parse("daily 07:00-23:00"), start, end, zone)
    statuses = ["uploaded"] * 6 + ["ready", "uploading", "failed", "lost"]
    rows = []
    for c in range(cameras):
        fs, evs = [], []
        for i in range(files):
            a = start + step * i
            if (i + c) % 17 == 5:  # an outage now and then
                evs.append(Event(a, CameraEventKind.STATE, "reconnecting", c, "R", f"cam{c}", "Connection refused",
                                 "n:1"))
                evs.append(Event(a + step, CameraEventKind.STATE, "recording", c, "R", f"cam{c}", "", "n:1"))
                continue
            fs.append(FileSpan(c * files + i, a, a + step, statuses[(i * 7 + c) % len(statuses)], size=900_000_000,
                               duration=step.total_seconds(), damaged="said 0.3 s" if (i + c) % 29 == 3 else None,
                               web_link="https://drive.google.com/file/d/x/view"))
        rows.append(compute(c, f"R{c // 4}", f"cam{c}", start, end, window, fs, evs, end))
    return rows, zone


def bench_timeline(args: argparse.Namespace) -> None:
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QApplication

    from nvr_console.ui.models.recordings_model import RecordingsModel
    from nvr_console.ui.widgets.timeline_widget import HEADER_H, ROW_H, TimelineWidget

    app = QApplication.instance() or QApplication(["bench"])
    rows, zone = synthetic_day(50, 48)
    model = RecordingsModel(zone=zone)
    widget = TimelineWidget(model)
    widget.resize(1600, HEADER_H + 50 * ROW_H)
    model.set_rows(rows)
    widget.show()
    app.processEvents()
    image = QImage(widget.size(), QImage.Format.Format_ARGB32_Premultiplied)

    def paint_widget() -> None:
        image.fill(0)
        widget.render(image)

    def paint_bare() -> None:
        image.fill(0)
        p = QPainter(image)
        w = 1600 - 200
        for r in range(50):
            for i in range(48):
                p.fillRect(200 + i * w // 48, HEADER_H + r * ROW_H + 4, w // 48 - 1, ROW_H - 8, QColor("#2e7d32"))
        p.end()

    def measure(fn: Callable[[], None], n: int) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
        return out

    n = 20 if args.quick else 100
    day = measure(paint_widget, n)
    noon = rows[0].day_start.timestamp() + 12 * 3600
    widget.zoom_to(2 * 3600, noon)
    zoomed = measure(paint_widget, n)
    # After a zoom or scroll every row is laid out again before it is painted.
    moves = iter(range(10**6))

    def zoom_and_paint() -> None:
        widget.zoom_to(2 * 3600, noon + 60 * next(moves))
        paint_widget()

    def resize_and_paint() -> None:
        widget.resize(1600 - next(moves) % 2, widget.height())
        paint_widget()

    cold = measure(zoom_and_paint, n)
    widget.zoom_to(24 * 3600)
    cold_day = measure(resize_and_paint, n)
    bare = measure(paint_bare, n)
    t0 = time.perf_counter()
    hits = 0
    span0, span1 = rows[0].day_start.timestamp(), rows[0].day_end.timestamp()
    for k in range(10_000):
        hits += model.hit(k % 50, span0 + (k * 8.64) % (span1 - span0)) is not None
    hit_us = (time.perf_counter() - t0) / 10_000 * 1e6

    def q(v: list[float]) -> str:
        v = sorted(v)
        return f"p50 {statistics.median(v):.2f} ms, p95 {v[int(0.95 * (len(v) - 1))]:.2f} ms, max {v[-1]:.2f} ms"

    print(f"\n3. timeline, 50 cameras x 48 files (1600 x {HEADER_H + 50 * ROW_H} px, offscreen), {n} paints each:")
    print(f"   whole day         {q(day)}")
    print(f"   two-hour zoom     {q(zoomed)}")
    print(f"   after a scroll    {q(cold)}  (two-hour view moved, every row laid out again)")
    print(f"   after a resize    {q(cold_day)}  (whole day, every row laid out again)")
    print(f"   bare QPainter     {q(bare)}  (2,400 rectangles: the baseline)")
    print(f"   ratio (day/bare)  x{statistics.median(day) / statistics.median(bare):.2f}")
    print(f"   hover hit test    {hit_us:.1f} us per point ({hits} of 10,000 points on a file or gap)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 x 3-minute recordings, fewer paints")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reencode-minutes", type=float, default=10.0)
    parser.add_argument("--tmp", default=None, help="folder for the temporary recordings")
    parser.add_argument("--only", choices=["export", "timeline"])
    args = parser.parse_args()
    if args.quick:
        args.runs = min(args.runs, 1)
    if args.only != "timeline":
        bench_export(args)
    if args.only != "export":
        bench_timeline(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
