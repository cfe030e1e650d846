"""Upload benchmark: ratios measured in one run against the same loopback Drive server (a subprocess).

    python bench/upload.py               # 5 repetitions, about 5 minutes, ~2 GB of temp files
    python bench/upload.py --reps 9      # more repetitions, a tighter median
    python bench/upload.py --quick       # smaller files, 3 repetitions, for a smoke run

Prints:
  1. throughput of our Uploader (1 worker, 16 MiB chunks, MD5 + verification included) vs one plain HTTP PUT
     of the same bytes to the same server, which also hashes the file and checks Drive's MD5 (target >= 0.8).
     Each repetition runs both, one after the other (the order alternates), so each ratio compares two runs
     under the same load; median, min and max over the repetitions of each rate and of the ratio, where each
     side's time goes, the CPU each side and the server used (less noisy than time on a shared machine), and
     our uploader's peak RSS;
  2. peak RSS of an uploader process for a 64 MB and a 1 GB file (target: the same within about a chunk);
  3. 2 and 4 workers vs 1 on 8 files, raw loopback and with a simulated 40 ms per-chunk latency (WAN-like),
     each ratio from one repetition, median/min/max over the repetitions;
and how loaded the machine was: CPU busy during each section, split into this benchmark's own processes
(clients and server) and everything else.
Every measurement runs in its own child process (RSS is per process; the server never shares our GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from plain_put import plain_put

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MB = 1000 * 1000
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")


def make_file(path: Path, size: int) -> None:
    """Incompressible-ish content, written fast (a random 4 MiB block, varied per block)."""
    block = os.urandom(4 * MIB)
    with open(path, "wb") as fh:
        left, n = size, 0
        while left > 0:
            piece = block if n % 2 == 0 else block[::-1]
            fh.write(piece[: min(left, len(piece))])
            left -= min(left, len(piece))
            n += 1


# ------------------------------------------------------------------------------------------- children


def child_uploader(args: argparse.Namespace) -> dict[str, Any]:
    """Upload `files` with the real Uploader on a fresh SQLite DB; report seconds, phases, bytes, peak RSS."""
    from PySide6.QtCore import QCoreApplication, Qt
    from sqlalchemy import select

    from nvr_console.core import catalog
    from nvr_console.core.config import load_settings
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.models import Recording, RecordingStatus
    from nvr_console.core.db.session import Database
    from nvr_console.core.status import UploadProgress, UploadState
    from nvr_console.core.upload import queue
    from nvr_console.core.upload.uploader import Uploader

    QCoreApplication.instance() or QCoreApplication(["bench"])
    work = Path(args.work)
    settings = load_settings(overrides={
        "database.url": f"sqlite:///{work / 'bench.sqlite3'}", "upload.destination": "drive",
        "drive.api_root": args.root, "drive.credentials": "anonymous", "upload.workers": args.workers,
        "upload.chunk_size": args.chunk, "retention.delete_after": "never", "recording.dir": str(work),
        "log.dir": str(work / "log"), "drive.root_folder": f"bench-{os.getpid()}",
    }, env={"HOME": str(work)})
    db = Database(settings.database.url)
    prepare_database(db)
    slot = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    total = 0
    with db.session() as s:
        for i, f in enumerate(args.files):
            size = os.path.getsize(f)
            total += size
            s.add(Recording(room_name="bench", camera_name=f"cam{i}", slot_start=slot + timedelta(minutes=30 * i),
                            local_path=f, local_path_key=catalog.path_key(f), status=RecordingStatus.READY,
                            size=size))
    up = Uploader(settings, db, poll_s=0.05, retention_every_s=3600)
    done = threading.Event()
    uploaded: set[int] = set()
    marks: dict[str, float] = {}
    threads: set[str] = set()

    def on_progress(p: UploadProgress) -> None:
        # Direct connection: this runs on the upload worker that emits, right after it marked the row
        # uploaded, so the clock stops there (this child runs no event loop: a queued slot would never run).
        threads.add(threading.current_thread().name)
        now = time.perf_counter()
        if p.state is UploadState.UPLOADING:
            marks.setdefault("claimed", now)
            if p.total and p.bytes_sent >= p.total:
                marks["sent"] = now
        elif p.state is UploadState.UPLOADED:
            uploaded.add(p.recording_id)
            if len(uploaded) == len(args.files):
                done.set()
        elif p.state is UploadState.PAUSED:
            done.set()

    up.upload_progress.connect(on_progress, Qt.ConnectionType.DirectConnection)
    t0, cpu0 = time.perf_counter(), time.process_time()
    up.start()
    done.wait(600)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    assert queue.totals(db)[0] == 0 or up.is_paused()[0]
    paused = up.is_paused()
    up.stop()
    assert threads and all(n.startswith("upload-") for n in threads), f"progress seen on {threads}"
    with db.session() as s:
        file_ids = [i for i in s.scalars(select(Recording.drive_file_id)) if i]
    db.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    phases = {}
    if len(args.files) == 1 and "sent" in marks:
        phases = {"start": marks["claimed"] - t0, "send": marks["sent"] - marks["claimed"],
                  "verify": t0 + seconds - marks["sent"]}
    return {"seconds": seconds, "bytes": total, "rss": rss, "paused": paused[1], "file_ids": file_ids,
            "phases": phases, "cpu": cpu}


def child_put(args: argparse.Namespace) -> dict[str, Any]:
    """The baseline (plain_put): hash, one resumable session, ONE plain PUT of the whole file."""
    cpu0 = time.process_time()
    put = plain_put(args.root, Path(args.files[0]), timeout_s=120)
    cpu = time.process_time() - cpu0
    return {"seconds": put.hash_s + put.send_s, "bytes": put.size,
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "file_ids": [put.file_id],
            "phases": {"hash": put.hash_s, "send": put.send_s}, "cpu": cpu}


def run_child(kind: str, root: str, files: list[Path], work: Path, workers: int = 1, chunk: str = "16MiB",
              server_pid: int | None = None) -> dict:
    """Run one measurement in a child process, then delete what it uploaded (outside its clock), so the
    server's files never pile up as dirty pages the kernel writes back during later runs. With
    `server_pid`, also the server's CPU seconds during the run (result["server_cpu"])."""
    server0 = _proc_cpu_s(server_pid) if server_pid else 0.0
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", kind, "--root", root, "--work", str(work), "--workers", str(workers),
           "--chunk", chunk, *map(str, files)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if server_pid:
        result["server_cpu"] = _proc_cpu_s(server_pid) - server0
    if result.get("paused"):
        raise RuntimeError(f"uploader paused: {result['paused']}")
    for file_id in result["file_ids"]:
        req = urllib.request.Request(f"{root}drive/v3/files/{file_id}", method="DELETE")
        urllib.request.urlopen(req, timeout=30).close()
    return result


# ------------------------------------------------------------------------------------------- machine load


def _cpu_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = f
    busy = user + nice + system + irq + softirq + steal
    return busy / CLK_TCK, (busy + idle + iowait) / CLK_TCK


def _proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def _children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@contextmanager
def machine_load(label: str, server_pid: int) -> Iterator[None]:
    """Print how busy the machine was while the block ran: ours (the children and the server) and others."""
    load0 = os.getloadavg()[0]
    busy0, _total0 = _cpu_busy_s()
    ours0 = _children_cpu_s() + _proc_cpu_s(server_pid) + time.process_time()
    t0 = time.monotonic()
    yield
    wall = time.monotonic() - t0
    busy = _cpu_busy_s()[0] - busy0
    ours = _children_cpu_s() + _proc_cpu_s(server_pid) + time.process_time() - ours0
    print(f"   machine during {label}: {busy / wall:.2f} of {os.cpu_count()} cores busy on average, "
          f"{ours / wall:.2f} by this benchmark, {max(busy - ours, 0) / wall:.2f} by other processes; "
          f"load average {load0:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)


# ------------------------------------------------------------------------------------------- main


def spread(values: list[float], fmt: Callable[[float], str]) -> str:
    return f"median {fmt(statistics.median(values))}  min {fmt(min(values))}  max {fmt(max(values))}"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int, default=0, help="repetitions of sections 1 and 3 (default 5, quick 3)")
    p.add_argument("--child")
    p.add_argument("--root")
    p.add_argument("--work")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--chunk", default="16MiB")
    p.add_argument("files", nargs="*")
    args = p.parse_args()
    if args.child:
        result = child_uploader(args) if args.child == "uploader" else child_put(args)
        print(json.dumps(result))
        return 0

    from tests.support.drive_server import DriveServerProcess

    reps = args.reps or (3 if args.quick else 5)
    big = 128 * MB if args.quick else 512 * MB
    huge = 256 * MB if args.quick else 1000 * MB
    each = 8 * MB if args.quick else 32 * MB
    mbs = lambda v: f"{v / MB:6.1f} MB/s"  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="nvr-bench-") as tmp_s:
        tmp = Path(tmp_s)
        print(f"bench/upload.py: files in {tmp}; server = tests.support.drive_server subprocess; "
              f"{os.cpu_count()} CPUs; {reps} repetitions", flush=True)
        big_f, small_f, huge_f = tmp / "big.mp4", tmp / "64mb.mp4", tmp / "huge.mp4"
        make_file(big_f, big)
        make_file(small_f, 64 * MB)
        make_file(huge_f, huge)
        many = []
        for i in range(8):
            f = tmp / f"many{i}.mp4"
            make_file(f, each)
            many.append(f)
        with DriveServerProcess(tmp / "drive-state", max_page_size=100) as server:
            root = server.root_url
            # 1. throughput: each repetition runs both, the order alternating so drift hits both alike
            print(f"\n1. throughput, {big // MB} MB file, 1 worker, 16 MiB chunks (MD5 + verify included):",
                  flush=True)
            ours, plain = [], []
            with machine_load("section 1", server.pid):
                for rep in range(reps):
                    pair = {}
                    for kind in (("put", "uploader") if rep % 2 == 0 else ("uploader", "put")):
                        pair[kind] = run_child(kind, root, [big_f], tmp / f"{kind}{rep}", server_pid=server.pid)
                    plain.append(pair["put"])
                    ours.append(pair["uploader"])
                    print(f"   rep {rep + 1}: plain {mbs(big / pair['put']['seconds'])}  ours "
                          f"{mbs(big / pair['uploader']['seconds'])}  ratio "
                          f"{pair['put']['seconds'] / pair['uploader']['seconds']:.2f}", flush=True)
            ratios = [pl["seconds"] / ou["seconds"] for pl, ou in zip(plain, ours, strict=True)]
            med = lambda rs, key: statistics.median(r["phases"][key] for r in rs)  # noqa: E731
            print(f"   plain single PUT  {spread([big / r['seconds'] for r in plain], mbs)}")
            print(f"   our uploader      {spread([big / r['seconds'] for r in ours], mbs)}")
            print(f"   ratio ours/plain  {spread(ratios, lambda v: f'{v:6.2f}     ')}  (target >= 0.8)")
            print(f"   where the time goes (medians): plain {statistics.median(r['seconds'] for r in plain):.2f} s = "
                  f"hash {med(plain, 'hash'):.2f} + session and PUT {med(plain, 'send'):.2f}; ours "
                  f"{statistics.median(r['seconds'] for r in ours):.2f} s = start and claim {med(ours, 'start'):.2f}"
                  f" + folders, session and chunks {med(ours, 'send'):.2f} + verify and mark "
                  f"{med(ours, 'verify'):.2f}")
            cpu = lambda rs, key: f"{statistics.median(r[key] for r in rs) / (big / 1e9):.2f}"  # noqa: E731
            print(f"   CPU seconds per GB (medians; less sensitive to the load than time): plain client "
                  f"{cpu(plain, 'cpu')} + server {cpu(plain, 'server_cpu')}; ours client {cpu(ours, 'cpu')} + "
                  f"server {cpu(ours, 'server_cpu')}")
            print(f"   our uploader's peak RSS {spread([r['rss'] / MIB for r in ours], lambda v: f'{v:.1f} MiB')}",
                  flush=True)

            # 2. memory
            r64 = run_child("uploader", root, [small_f], tmp / "rss64")
            rbig = run_child("uploader", root, [huge_f], tmp / "rss1g")
            print("\n2. peak RSS of an uploader process, 16 MiB chunks:")
            print(f"   64 MB file        {r64['rss'] / MIB:8.1f} MiB")
            print(f"   {huge // MB} MB file      {rbig['rss'] / MIB:8.1f} MiB")
            print(f"   difference        {(rbig['rss'] - r64['rss']) / MIB:8.1f} MiB   "
                  f"(target: within about one chunk, 16 MiB); ratio {rbig['rss'] / r64['rss']:.2f}", flush=True)

            # 3. workers
            print(f"\n3. 8 files x {each // MB} MB, 4 MiB chunks; throughput vs 1 worker:", flush=True)
            with machine_load("section 3", server.pid):
                for label, delay in (("raw loopback", 0.0), ("40 ms per chunk", 0.04)):
                    runs: dict[int, list[float]] = {1: [], 2: [], 4: []}
                    for rep in range(reps):
                        for w in (1, 2, 4) if rep % 2 == 0 else (4, 2, 1):
                            if delay:
                                server.delay_next("upload_chunk", delay, times=100000)
                            r = run_child("uploader", root, many, tmp / f"w{w}-{delay}-{rep}", workers=w,
                                          chunk="4MiB")
                            server.clear_faults()
                            runs[w].append(r["bytes"] / r["seconds"])
                    x2 = [b / a for a, b in zip(runs[1], runs[2], strict=True)]
                    x4 = [b / a for a, b in zip(runs[1], runs[4], strict=True)]
                    ratio = lambda v: f"x{v:.2f}"  # noqa: E731
                    print(f"   {label:16s} 1 worker {spread(runs[1], mbs)}\n"
                          f"   {'':16s} 2 workers {spread(x2, ratio)}\n"
                          f"   {'':16s} 4 workers {spread(x4, ratio)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
