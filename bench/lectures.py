"""Lectures benchmark: ratios measured in one run against baselines on the same bytes.

    .venv/bin/python bench/lectures.py            # a 30-minute lecture over 10-minute segments, 3 runs (~2 min)
    .venv/bin/python bench/lectures.py --quick    # a 6-minute lecture over 2-minute segments, 3 runs

Prints (median and spread of --runs runs):
  1. delivery: from a lecture's end (+ post-roll, all pieces finalized) to its verified file on the Drive test
     server (tests.support.drive_server in its own process, the real google-api-python-client), through
     Deliverer.run_once (plan, export with -c copy, name, resumable upload, MD5 verify, rows), against the same
     work by hand in the same run: a plain FFmpeg concat (-c copy, the same in and out points) plus one plain
     resumable PUT of the same bytes (http.client, MD5 checked). Target: ratio ours/baseline <= 1.2.
  2. calendar: one refresh of 300 rooms, each with its own weekly timetable (a local .ics of 10 weekly
     lectures, RRULE + EXDATE + a moved occurrence, Europe/Berlin), expanded 14 days ahead and diffed against
     the lecture rows (SQLite): CPU seconds of the steady-state refresh (nothing changed), and of a refresh after
     every room's calendar changed (one course's title: one series of each calendar); baseline: parsing the same
     300 files with icalendar alone (the ratios carry across loaded machines). Target < 1 s CPU.
The recordings are a 30 s H.264 640x360 25 fps (GOP 2 s, ~0.8 Mbit/s) + AAC clip looped into segment files
(no re-encoding), as the recorder's finalizer writes them.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from figures import spread
from plain_put import plain_put
from sample_media import ffmpeg, looped_recordings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
MIB = 1024 * 1024


def bench_delivery(args: argparse.Namespace, tmp: Path) -> None:
    from nvr_console.core import catalog
    from nvr_console.core.config import load_settings
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.models import Recording
    from nvr_console.core.db.session import Database
    from nvr_console.core.export.cut import ListEntry, concat_list
    from nvr_console.core.lectures import lecture_store
    from nvr_console.core.lectures.delivery import Deliverer
    from nvr_console.core.lectures.timetable_parse import Occurrence
    from nvr_console.core.recording.mp4_boxes import read_mp4
    from tests.support.drive_server import DriveServerProcess

    seg_min, lecture_min = (2.0, 6.0) if args.quick else (10.0, 30.0)
    offset = seg_min / 2
    count = math.ceil((offset + lecture_min) / seg_min) + 2
    print(f"\n1. delivery of a {lecture_min:g}-minute lecture (starting {offset:g} minutes into a segment) over "
          f"{seg_min:g}-minute segments, {args.runs} runs:", flush=True)
    segs = looped_recordings(tmp, count, seg_min, stem="seg")
    with DriveServerProcess(tmp / "drive-state", max_page_size=100) as server:
        settings = load_settings(overrides={
            "database.url": f"sqlite:///{tmp / 'bench.sqlite3'}", "recording.dir": str(tmp / "rec"),
            "recording.timezone": "Europe/Berlin", "recording.segment_length": str(int(seg_min * 60)),
            "drive.api_root": server.root_url, "drive.credentials": "anonymous", "upload.destination": "drive",
            "lectures.post_roll": "0s"}, env={}, cwd=tmp)
        db = Database(settings.database.url)
        prepare_database(db)
        room = catalog.add_room(db, "A-101")
        cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s", enabled=False).id
        t0 = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
        for i, p in enumerate(segs):
            start = t0 + timedelta(minutes=seg_min * i)
            info = read_mp4(p)
            with db.session() as s:
                s.add(Recording(camera_id=cam, room_name="A-101", camera_name="front", slot_start=start,
                                start_time=start, end_time=start + timedelta(seconds=info.duration_s or 0),
                                local_path=str(p), local_path_key=str(p), size=p.stat().st_size,
                                duration=info.duration_s, md5=hashlib.md5(p.read_bytes()).hexdigest(), status="ready"))
        a = t0 + timedelta(minutes=seg_min + offset)
        b = a + timedelta(minutes=lecture_min)
        lecture_store.sync(db, room.id, "A-101", [Occurrence("bench@uni", "", "Bench lecture", "", "", a, b)],
                           t0 - timedelta(days=1), t0 + timedelta(days=1))
        [lec] = lecture_store.between(db, t0 - timedelta(days=1), t0 + timedelta(days=1))
        deliverer = Deliverer(settings, db, "bench", clock=lambda: b + timedelta(seconds=1))
        ours, base, ratios, sizes = [], [], [], []
        for run in range(args.runs):
            if run:
                lecture_store.redo(db, lec.id)
            order = ("ours", "base") if run % 2 == 0 else ("base", "ours")
            got: dict[str, float] = {}
            for kind in order:
                t = time.perf_counter()
                if kind == "ours":
                    [done] = deliverer.run_once()
                    assert done.lecture.state == "delivered", done
                else:
                    # The same in and out points, by hand: concat demuxer -c copy, then a plain upload.
                    first = int((a - t0).total_seconds() // (seg_min * 60))
                    last = int(((b - t0).total_seconds() - 0.001) // (seg_min * 60))
                    entries = [ListEntry(segs[i], inpoint=(a - t0).total_seconds() - first * seg_min * 60
                                         if i == first else None,
                                         outpoint=(b - t0).total_seconds() - last * seg_min * 60 if i == last else None)
                               for i in range(first, last + 1)]
                    lst = tmp / "plain.ffconcat"
                    lst.write_text(concat_list(entries), encoding="utf-8")
                    out = tmp / "plain.mp4"
                    ffmpeg("-f", "concat", "-safe", "0", "-i", str(lst), "-map", "0", "-c", "copy", "-movflags",
                           "+faststart", str(out))
                    plain_put(server.root_url, out)
                    sizes.append(out.stat().st_size)
                got[kind] = time.perf_counter() - t
            ours.append(got["ours"])
            base.append(got["base"])
            ratios.append(got["ours"] / got["base"])
            print(f"   run {run + 1}: ours {got['ours']:.2f} s, plain concat + PUT {got['base']:.2f} s, ratio "
                  f"{ratios[-1]:.2f}", flush=True)
        files = lecture_store.files_of(db, lec.id)
        plain_mib = statistics.median(sizes) / MIB
        print(f"   lecture file {(files[0].size or 0) / MIB:.1f} MiB (plain concat {plain_mib:.1f} MiB)")
        print(f"   ours (end -> verified on Drive) {spread(ours)} s; baseline {spread(base)} s")
        print(f"   ratio ours/baseline {spread(ratios)}  (target <= 1.2)", flush=True)
        db.dispose()


def weekly_timetable(room: int) -> bytes:
    from tests.core.lectures.ics_samples import calendar, event

    events = []
    for i in range(10):
        day = 2 + (i % 5)  # Monday 2 March 2026 ... Friday
        hour = 8 + 2 * (i // 5) + (room % 3)
        uid = f"r{room}-c{i}@uni"
        events.append(event(uid, f"202603{day:02d}T{hour:02d}1500", f"202603{day:02d}T{hour + 1:02d}4500",
                            f"Course {i} of room {room}", "RRULE:FREQ=WEEKLY;COUNT=30",
                            f"EXDATE;TZID=Europe/Berlin:202603{day + 7:02d}T{hour:02d}1500",
                            "ORGANIZER;CN=Lecturer:mailto:l@uni.example"))
        if i == 0:
            moved = f"202603{day + 14:02d}"
            events.append(event(uid, f"{moved}T{hour + 1:02d}1500", f"{moved}T{hour + 2:02d}4500",
                                f"Course {i} of room {room} (moved)",
                                f"RECURRENCE-ID;TZID=Europe/Berlin:202603{day + 14:02d}T{hour:02d}1500"))
    return calendar(*events)


def bench_calendar(args: argparse.Namespace, tmp: Path) -> None:
    from icalendar import Calendar

    from nvr_console.core import catalog
    from nvr_console.core.config import load_settings
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.session import Database
    from nvr_console.core.lectures import refresh, timetable_store

    rooms = args.rooms
    print(f"\n2. calendar: one refresh of {rooms} rooms with a weekly timetable each (10 lectures a week), "
          f"{args.runs} runs:", flush=True)
    settings = load_settings(overrides={"database.url": f"sqlite:///{tmp / 'cal.sqlite3'}",
                                        "recording.dir": str(tmp / "rec"), "recording.timezone": "Europe/Berlin"},
                             env={}, cwd=tmp)
    db = Database(settings.database.url)
    prepare_database(db)
    files = []
    for r in range(rooms):
        catalog.add_room(db, f"R-{r:03d}")
        f = tmp / "cal" / f"R-{r:03d}.ics"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(weekly_timetable(r))
        files.append(f)
        timetable_store.configure(db, f"R-{r:03d}", source=str(f))
    now = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
    cache = refresh.TimetableCache()  # as the lecture worker keeps it between refreshes
    first = time.process_time()
    out = refresh.refresh_all(db, settings, "bench", now, cache)
    first = time.process_time() - first
    added = sum(r.sync.added for r in out if r.sync)
    print(f"   first refresh (every lecture row added: {added}): {first:.2f} s CPU")
    steady, changed, parse_only = [], [], []
    for run in range(args.runs):
        t = time.process_time()
        out = refresh.refresh_all(db, settings, "bench", now + timedelta(minutes=2 * (run + 1)), cache)
        steady.append(time.process_time() - t)
        assert all(not r.error for r in out)
        for r, f in enumerate(files):  # every calendar edited: a lecture title changes
            f.write_bytes(weekly_timetable(r).replace(b"Course 1 ", f"Course 1 ({run}) ".encode()))
        t = time.process_time()
        out = refresh.refresh_all(db, settings, "bench", now + timedelta(minutes=2 * (run + 1) + 1), cache)
        changed.append(time.process_time() - t)
        assert sum(r.sync.changed for r in out if r.sync) >= rooms
        t = time.process_time()
        for f in files:
            Calendar.from_ical(f.read_bytes())
        parse_only.append(time.process_time() - t)
    print(f"   steady refresh (unchanged files: stored copies expanded and diffed) {spread(steady)} s CPU "
          "(target < 1 s)")
    print(f"   refresh after every calendar changed (read, parse, store, expand, diff, update) {spread(changed)} s CPU")
    print(f"   baseline: icalendar parse of the same {rooms} files {spread(parse_only)} s CPU; ratio steady/parse "
          f"{spread([s / p for s, p in zip(steady, parse_only, strict=True)])}, changed/parse "
          f"{spread([c / p for c, p in zip(changed, parse_only, strict=True)])}", flush=True)
    db.dispose()


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--rooms", type=int, default=300)
    p.add_argument("--only", choices=["delivery", "calendar"])
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="nvr-bench-lectures-") as tmp_s:
        tmp = Path(tmp_s)
        print(f"bench/lectures.py: files in {tmp}; {os.cpu_count()} CPUs", flush=True)
        if args.only in (None, "delivery"):
            bench_delivery(args, tmp)
        if args.only in (None, "calendar"):
            bench_calendar(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
