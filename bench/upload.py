"""Upload benchmark: ratios measured in one run against the same loopback Drive server (a subprocess).

    /tmp/venv/bin/python bench/upload.py            # about 2-3 minutes, ~3 GB of temp files
    /tmp/venv/bin/python bench/upload.py --quick    # smaller files, for a smoke run

Prints:
  1. throughput of our Uploader (1 worker, default 16 MiB chunks, MD5 + verification included) vs one plain
     HTTP PUT of the same bytes to the same server (target >= 0.8);
  2. peak RSS of an uploader process for a 64 MB and a 1 GB file (target: the same within about a chunk);
  3. 2 and 4 workers vs 1 on 8 files, raw loopback and with a simulated 40 ms per-chunk latency (WAN-like).
Every measurement runs in its own child process (RSS is per process; the server never shares our GIL).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MB = 1000 * 1000
MIB = 1024 * 1024


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
    """Upload `files` with the real Uploader on a fresh SQLite DB; report seconds, bytes, peak RSS."""
    from PySide6.QtCore import QCoreApplication, Qt

    from nvr_console.core import catalog
    from nvr_console.core.config import load_settings
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.models import Recording
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
                            local_path=f, local_path_key=catalog.path_key(f), status="ready", size=size))
    up = Uploader(settings, db, poll_s=0.05, retention_every_s=3600)
    done = threading.Event()
    uploaded: set[int] = set()

    def on_progress(p: UploadProgress) -> None:  # worker thread (direct connection): no polling in the bench
        if p.state is UploadState.UPLOADED:
            uploaded.add(p.recording_id)
            if len(uploaded) == len(args.files):
                done.set()
        elif p.state is UploadState.PAUSED:
            done.set()

    up.upload_progress.connect(on_progress, Qt.ConnectionType.DirectConnection)
    t0 = time.perf_counter()
    up.start()
    done.wait(600)
    seconds = time.perf_counter() - t0
    assert queue.totals(db)[0] == 0 or up.is_paused()[0]
    paused = up.is_paused()
    up.stop()
    db.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "bytes": total, "rss": rss, "paused": paused[1]}


def child_put(args: argparse.Namespace) -> dict[str, Any]:
    """One resumable session, then ONE plain PUT of the whole file (http.client, 1 MiB blocks)."""
    path = args.files[0]
    size = os.path.getsize(path)
    root = urllib.parse.urlsplit(args.root)
    conn = http.client.HTTPConnection(root.hostname, root.port, timeout=120, blocksize=MIB)
    t0 = time.perf_counter()
    # Same work as ours would do before sending: hash the file.
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while b := fh.read(MIB):
            h.update(b)
    meta = json.dumps({"name": os.path.basename(path)}).encode()
    conn.request("POST", "/upload/drive/v3/files?uploadType=resumable&fields=id,md5Checksum,size", body=meta,
                 headers={"Content-Type": "application/json", "X-Upload-Content-Length": str(size)})
    resp = conn.getresponse()
    resp.read()
    loc = urllib.parse.urlsplit(resp.headers["Location"])
    with open(path, "rb") as fh:
        conn.request("PUT", f"{loc.path}?{loc.query}", body=fh,
                     headers={"Content-Length": str(size), "Content-Range": f"bytes 0-{size - 1}/{size}"})
        resp = conn.getresponse()
        body = json.loads(resp.read())
    seconds = time.perf_counter() - t0
    assert body["md5Checksum"] == h.hexdigest(), body
    return {"seconds": seconds, "bytes": size, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def run_child(kind: str, root: str, files: list[Path], work: Path, workers: int = 1, chunk: str = "16MiB") -> dict:
    work.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", kind, "--root", root, "--work", str(work), "--workers", str(workers),
           "--chunk", chunk, *map(str, files)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result.get("paused"):
        raise RuntimeError(f"uploader paused: {result['paused']}")
    return result


# ------------------------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
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

    big = 128 * MB if args.quick else 512 * MB
    huge = 256 * MB if args.quick else 1000 * MB
    each = 8 * MB if args.quick else 32 * MB
    with tempfile.TemporaryDirectory(prefix="nvr-bench-") as tmp_s:
        tmp = Path(tmp_s)
        print(f"bench/upload.py: files in {tmp}; server = tests.support.drive_server subprocess; "
              f"{os.cpu_count()} CPUs", flush=True)
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
            # 1. throughput: best of 2 each, interleaved so drift hits both alike
            ours, plain = [], []
            for rep in range(2):
                plain.append(run_child("put", root, [big_f], tmp / f"put{rep}"))
                ours.append(run_child("uploader", root, [big_f], tmp / f"ours{rep}"))
            b_ours = max(r["bytes"] / r["seconds"] for r in ours)
            b_plain = max(r["bytes"] / r["seconds"] for r in plain)
            print(f"\n1. throughput, {big // MB} MB file, 1 worker, 16 MiB chunks (MD5 + verify included):")
            print(f"   plain single PUT  {b_plain / MB:8.1f} MB/s")
            print(f"   our uploader      {b_ours / MB:8.1f} MB/s")
            print(f"   ratio ours/plain  {b_ours / b_plain:8.2f}   (target >= 0.8)", flush=True)

            # 2. memory
            r64 = run_child("uploader", root, [small_f], tmp / "rss64")
            rbig = run_child("uploader", root, [huge_f], tmp / "rss1g")
            print("\n2. peak RSS of an uploader process, 16 MiB chunks:")
            print(f"   64 MB file        {r64['rss'] / MIB:8.1f} MiB")
            print(f"   {huge // MB} MB file      {rbig['rss'] / MIB:8.1f} MiB")
            print(f"   difference        {(rbig['rss'] - r64['rss']) / MIB:8.1f} MiB   "
                  f"(target: within about one chunk, 16 MiB); ratio {rbig['rss'] / r64['rss']:.2f}", flush=True)

            # 3. workers
            print(f"\n3. 8 files x {each // MB} MB, 4 MiB chunks; throughput vs 1 worker:")
            for label, delay in (("raw loopback", 0.0), ("40 ms per chunk", 0.04)):
                rates = {}
                for w in (1, 2, 4):
                    if delay:
                        server.delay_next("upload_chunk", delay, times=100000)
                    r = run_child("uploader", root, many, tmp / f"w{w}-{delay}", workers=w, chunk="4MiB")
                    server.clear_faults()
                    rates[w] = r["bytes"] / r["seconds"]
                print(f"   {label:16s} 1: {rates[1] / MB:7.1f} MB/s   2 workers x{rates[2] / rates[1]:.2f}   "
                      f"4 workers x{rates[4] / rates[1]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
