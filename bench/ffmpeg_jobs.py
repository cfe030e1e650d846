"""FFmpeg job runner benchmark: what core/ffmpeg/job.run_job costs over a bare subprocess.run of the same job.

    .venv/bin/python bench/ffmpeg_jobs.py            # 5 runs of 40 jobs each way (~1 minute)
    .venv/bin/python bench/ffmpeg_jobs.py --jobs 10  # quicker

The job is a short real one, as the finalizer and the probes start them by the hundred: FFmpeg remuxing a
2-second MKV to MP4 (-c copy). Each run does the jobs both ways, the order alternating, and prints wall and CPU
seconds per job (this process and its children: the setpriv exec, the reader threads and FFmpeg itself);
then the median and spread of the ratios run_job / subprocess.run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import spread
from sample_media import ffmpeg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    from nvr_console.core.ffmpeg.job import run_job

    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=40)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="nvr-bench-jobs-") as tmp_s:
        tmp = Path(tmp_s)
        src = tmp / "seg.mkv"
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-c:v", "libx264", "-preset",
               "veryfast", "-g", "25", "-f", "matroska", str(src))
        out = tmp / "seg.mp4"
        argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-map", "0",
                "-c", "copy", "-movflags", "+faststart", str(out)]

        def bare() -> None:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False,
                                  start_new_session=True)
            assert proc.returncode == 0, proc.stderr

        def ours() -> None:
            assert run_job(argv, timeout_s=60).ok

        print(f"bench/ffmpeg_jobs.py: {args.runs} runs of {args.jobs} remuxes each way; {os.cpu_count()} CPUs",
              flush=True)
        walls: list[float] = []
        cpus: list[float] = []
        for run in range(args.runs):
            got: dict[str, tuple[float, float]] = {}
            for name, fn in (("bare", bare), ("ours", ours)) if run % 2 == 0 else (("ours", ours), ("bare", bare)):
                t, c = time.perf_counter(), _cpu()
                for _ in range(args.jobs):
                    fn()
                got[name] = ((time.perf_counter() - t) / args.jobs, (_cpu() - c) / args.jobs)
            walls.append(got["ours"][0] / got["bare"][0])
            cpus.append(got["ours"][1] / got["bare"][1])
            print(f"   run {run + 1}: per job, subprocess.run {got['bare'][0] * 1000:.1f} ms wall "
                  f"{got['bare'][1] * 1000:.1f} ms CPU; run_job {got['ours'][0] * 1000:.1f} ms wall "
                  f"{got['ours'][1] * 1000:.1f} ms CPU", flush=True)
        print(f"   ratio run_job / subprocess.run: wall {spread(walls)}, CPU {spread(cpus)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
