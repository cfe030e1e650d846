"""The one runner of short FFmpeg jobs: results, time limit and cancellation (the whole process group goes),
stderr summarised and masked, and no job outliving the process that started it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from nvr_console.core.ffmpeg.job import (
    STDERR_HEAD_BYTES,
    JobCancelled,
    JobNotStarted,
    JobTimedOut,
    run_job,
)
from nvr_console.core.system import process_group

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX sessions")

# A job that starts a grandchild (as FFmpeg's helpers or a shell would), prints both pids, then waits.
FAMILY = textwrap.dedent("""
    import os, subprocess, sys, time
    child = subprocess.Popen(["sleep", "60"])
    print(os.getpid(), child.pid, flush=True)
    time.sleep(60)
""")


def _gone(pids: list[int], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while any(process_group.pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not any(process_group.pid_alive(p) for p in pids)


def test_a_real_ffmpeg_job_gives_its_output_and_exit_code() -> None:
    result = run_job(["ffmpeg", "-hide_banner", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=1",
                      "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"], timeout_s=30)
    assert result.ok and result.returncode == 0
    assert result.stdout.startswith(b"\x89PNG")
    assert "Stream #0:0" in result.stderr  # the header FFmpeg prints stays readable for parsing


def test_input_is_fed_to_stdin_and_stdout_lines_come_one_by_one() -> None:
    lines: list[bytes] = []
    result = run_job([sys.executable, "-c", "import sys\nfor l in sys.stdin: print(l.strip().upper(), flush=True)"],
                     timeout_s=30, input=b"a\nb\n", stdout_lines=lines.append)
    assert result.ok and result.stdout == b""
    assert lines == [b"A\n", b"B\n"]


def test_a_failed_job_is_summarised_by_its_last_error_line_with_the_password_masked() -> None:
    said = ("print('Input #0, rtsp, from rtsp://admin:s3cret@10.0.0.5/stream:', file=sys.stderr)\n"
            "print('[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', file=sys.stderr)\n"
            "print('rtsp://admin:s3cret@10.0.0.5/stream: Server returned 401 Unauthorized', file=sys.stderr)\n"
            "print('Conversion failed!', file=sys.stderr)\n"
            "sys.exit(1)\n")
    result = run_job([sys.executable, "-c", "import sys\n" + said], timeout_s=30)
    assert result.returncode == 1 and not result.ok
    assert result.summary() == "rtsp://admin:***@10.0.0.5/stream: Server returned 401 Unauthorized"
    assert result.summary(2) == ("[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized / "
                                 "rtsp://admin:***@10.0.0.5/stream: Server returned 401 Unauthorized")
    assert "s3cret" not in result.summary(10)


def test_a_job_that_says_nothing_is_summarised_by_its_exit_code() -> None:
    assert run_job([sys.executable, "-c", "raise SystemExit(3)"], timeout_s=30).summary() == "exit code 3"


def test_endless_stderr_keeps_its_start_and_its_last_lines() -> None:
    code = ("import sys\nsys.stderr.write('Input #0 header\\n')\n"
            f"for i in range({STDERR_HEAD_BYTES // 10 + 5000}): sys.stderr.write(f'line {{i:05}}\\n')\n"
            "sys.stderr.write('the real error: failed\\n')\n")
    result = run_job([sys.executable, "-c", code], timeout_s=60)
    assert result.stderr.startswith("Input #0 header\n")
    assert "lines of stderr left out]" in result.stderr
    assert len(result.stderr) < STDERR_HEAD_BYTES + 10_000
    assert result.summary() == "the real error: failed"


def test_a_missing_program_is_a_clear_error() -> None:
    with pytest.raises(JobNotStarted, match=r"cannot run /nonexistent/ffmpeg: no such program; check the FFmpeg "
                                            r"setting \(recording.ffmpeg\)"):
        run_job(["/nonexistent/ffmpeg", "-version"], timeout_s=5)


@posix
def test_the_time_limit_kills_the_whole_process_group() -> None:
    pids: list[int] = []
    start = time.monotonic()
    with pytest.raises(JobTimedOut, match=r"stopped after 1 s, its time limit") as caught:
        run_job([sys.executable, "-c", FAMILY], timeout_s=1,
                stdout_lines=lambda line: pids.extend(int(p) for p in line.split()))
    assert time.monotonic() - start < 10
    assert len(pids) == 2
    assert _gone(pids, 5), "the job's grandchild outlived the time limit"
    assert caught.value.result.returncode < 0


@posix
def test_cancelling_kills_the_whole_process_group_at_once() -> None:
    pids: list[int] = []
    cancel = threading.Event()

    def seen(line: bytes) -> None:
        pids.extend(int(p) for p in line.split())
        cancel.set()  # as the operator's Cancel button, while the job runs

    start = time.monotonic()
    with pytest.raises(JobCancelled):
        run_job([sys.executable, "-c", FAMILY], timeout_s=None, cancel=cancel, stdout_lines=seen)
    assert time.monotonic() - start < 10
    assert _gone(pids, 5)


@posix
def test_a_job_has_a_session_of_its_own() -> None:
    # A Ctrl-C for the console (its process group) must not reach the job.
    result = run_job([sys.executable, "-c", "import os; print(os.getsid(0), os.getpid())"], timeout_s=30)
    sid, pid = (int(x) for x in result.stdout.split())
    assert sid == pid


def _children_of(ppid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live children of `ppid` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == ppid:
            found.append((int(stat.parent.name), cmdline))
    return found


@pytest.mark.skipif(not process_group.kill_on_parent_death_prefix(), reason="setpriv --pdeathsig is Linux only")
def test_a_job_does_not_outlive_the_process_that_started_it() -> None:
    """The engine SIGKILLed (OOM killer) mid-remux: its FFmpeg goes too, not on writing a file nobody reads."""
    starter = textwrap.dedent("""
        from nvr_console.core.ffmpeg.job import run_job
        print("starting", flush=True)
        run_job(["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5",
                 "-f", "null", "-"], timeout_s=None)
    """)
    parent = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "starting\n"
        deadline = time.monotonic() + 30
        jobs: list[int] = []
        while not jobs and time.monotonic() < deadline:
            jobs = [pid for pid, cmd in _children_of(parent.pid) if cmd.startswith(("ffmpeg", "/")) and "lavfi" in cmd
                    and "setpriv" not in cmd]
            time.sleep(0.02)  # the pid runs setpriv first, then is FFmpeg (exec keeps the pid)
        assert len(jobs) == 1 and process_group.pid_alive(jobs[0])
        parent.kill()
        parent.wait(5)
        assert _gone(jobs, 5), "FFmpeg outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
