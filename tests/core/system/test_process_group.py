"""Leftover FFmpeg from a dead engine is stopped at the next start; unrelated processes never are."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from nvr_console.core.system import process_group

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX sessions")


def test_leftover_ffmpeg_is_stopped_and_its_file_finished(tmp_path: Path) -> None:
    out = tmp_path / "rec" / "R" / "cam"
    out.mkdir(parents=True)
    ffmpeg = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-c:v", "libx264",
         "-preset", "ultrafast", "-f", "matroska", str(out / "x.mkv")],
        stdin=subprocess.PIPE, start_new_session=True)
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    run = tmp_path / "run"
    try:
        process_group.remember(run, ffmpeg.pid, str(out))
        # A pid file whose pid now belongs to something else (pid reuse) must not kill it.
        process_group.remember(run, sleeper.pid, str(out))
        process_group.remember(run, 999_999_999 % 4_000_000 + 1, str(out))  # long gone
        time.sleep(1.5)
        stopped = process_group.reap_leftovers(run, grace_s=5)
        assert stopped == [ffmpeg.pid]
        assert ffmpeg.wait(5) is not None
        assert sleeper.poll() is None
        assert not list(run.glob("*.pid"))
        # SIGINT once: FFmpeg wrote its trailer, the file is whole.
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                                str(out / "x.mkv")], capture_output=True, text=True, check=True)
        assert float(probe.stdout) > 0.5
    finally:
        for p in (ffmpeg, sleeper):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_folder_among_the_pid_files_is_left_alone(tmp_path: Path) -> None:
    # What a room '.nvr-run' with a camera '1.pid' left in older versions: a folder of recordings named like a
    # pid file. The real leftover beside it is still stopped; the folder and its files stay.
    run = tmp_path / "rec" / ".nvr-run"
    odd = run / "1.pid"
    odd.mkdir(parents=True)
    (odd / "2026-11-24_09-30-00.mkv").write_bytes(b"video")
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        process_group.remember(run, 999_999_999 % 4_000_000 + 2, "elsewhere")  # long gone
        process_group.remember(run, sleeper.pid, "not-ffmpeg")
        assert process_group.reap_leftovers(run, grace_s=1) == []
        assert sleeper.poll() is None
        assert sorted(p.name for p in run.iterdir()) == ["1.pid"]
        assert (odd / "2026-11-24_09-30-00.mkv").read_bytes() == b"video"
    finally:
        sleeper.kill()
        sleeper.wait()


def _session_members(sid: int) -> list[int]:
    """Live (not zombie) processes of session `sid` (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(stat.parent.name))
    return members


@pytest.mark.skipif(not sys.platform.startswith("linux") or not process_group.parent_death_prefix(),
                    reason="setpriv --pdeathsig is Linux (util-linux) only")
def test_ffmpeg_started_with_the_prefix_finishes_its_file_when_its_parent_is_killed(tmp_path: Path) -> None:
    """The engine SIGKILLed (OOM killer): its FFmpeg, in a session of its own, stops too, with a whole file."""
    out = tmp_path / "x.mkv"
    code = (
        "import subprocess, sys, threading, time\n"
        "def run():\n"
        f"    p = subprocess.Popen({process_group.parent_death_prefix()!r} + ['ffmpeg', '-v', 'error', '-re', '-f', "
        "'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-c:v', 'libx264', '-preset', 'ultrafast', "
        f"'-flush_packets', '1', '-f', 'matroska', {str(out)!r}], stdin=subprocess.PIPE, start_new_session=True)\n"
        "    print(p.pid, flush=True)\n"
        "    time.sleep(60)\n"
        "threading.Thread(target=run).start()\n"  # started from a thread that lives on, as the engine's
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 30
    while (not out.exists() or out.stat().st_size < 10_000) and time.monotonic() < deadline:
        time.sleep(0.1)  # recording for a while (however loaded the machine), written as it goes
    parent.kill()
    parent.wait(5)
    deadline = time.monotonic() + 10
    # The pid is the guard's (parent_death_prefix); FFmpeg is its child in the session it leads.
    while _session_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _session_members(pid)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
                            str(out)], capture_output=True, text=True, check=True)
    assert float(probe.stdout) > 0.5  # SIGINT: FFmpeg wrote its trailer (a duration)
