"""The one POSIX-only corner: FFmpeg in its own session, and cleanup of FFmpeg left by a crashed engine.

Used by both ways FFmpeg runs: the recorder's long-running QProcess and the short jobs (ffmpeg.job).

Why a session of its own: a Ctrl-C or SIGTERM sent to the console's process group must not also reach
FFmpeg (two signals break the MP4/MKV trailer about half the time); the engine stops each FFmpeg itself
with `q` on stdin. The price: if the engine is SIGKILLed its FFmpeg keeps running. So every recorder
leaves a pid file naming its output folder, and the next engine start stops any such leftover (one
SIGINT, which finishes the file cleanly, then SIGKILL) before recovery repairs its files.
On Windows QProcess has no sessions; the functions degrade to no-ops there.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from PySide6.QtCore import QProcess

log = logging.getLogger(__name__)


def use_own_session(process: QProcess) -> None:
    """Ask QProcess to start the child with setsid() (POSIX only). Call before start(); engine thread."""
    if sys.platform == "win32":
        return
    params = QProcess.UnixProcessParameters()
    params.flags = QProcess.UnixProcessFlag.CreateNewSession | QProcess.UnixProcessFlag.IgnoreSigPipe
    process.setUnixProcessParameters(params)


def parent_death_prefix() -> list[str]:
    """Arguments to put before FFmpeg's so it gets one SIGINT (and finishes its file) when the engine dies.

    A session of its own keeps FFmpeg alive when its engine is SIGKILLed (the OOM killer, a crash): on a
    machine that stays up, it would go on recording a camera that another node has taken over by then.
    Linux: util-linux `setpriv --pdeathsig` (PR_SET_PDEATHSIG survives the exec). The signal comes when
    the thread that started FFmpeg ends, so recorders are started on the engine thread only, which lives
    as long as the engine. Elsewhere (or without setpriv): nothing, and the next start stops leftovers.

    Why the guard in between (coreutils `timeout --foreground 0`: no time limit, forwards INT/TERM to its
    child once each, exits with its status): the kernel sends the parent-death signal again at every
    reparenting, and a child whose parent thread dies is first handed to a sibling thread that is still
    alive. When a many-threaded engine is SIGKILLed, FFmpeg then got SIGINT twice in about 1 of 4 runs
    under load, and a second signal makes it abort its trailer ("Immediate exit requested"). The guard is
    single-threaded, so FFmpeg (its child) gets its SIGINT exactly once; the guard itself dies by SIGKILL,
    which may come twice harmlessly. The process started is the guard: its pid leads FFmpeg's process group.
    """
    if not sys.platform.startswith("linux"):
        return []
    setpriv, guard = shutil.which("setpriv"), shutil.which("timeout")
    if not setpriv or not guard:
        return []
    return [setpriv, "--pdeathsig", "KILL", "--", guard, "--foreground", "0", setpriv, "--pdeathsig", "INT", "--"]


def kill_on_parent_death_prefix() -> list[str]:
    """Arguments to put before a short job's (ffmpeg.job) so the kernel SIGKILLs it when its starter dies.

    A short job (a remux, a probe, a thumbnail) left behind by a dead engine only writes a partial file that
    nobody will use, so SIGKILL is its right end; and since SIGKILL may come twice harmlessly, no guard is
    needed (parent_death_prefix explains why a recorder needs one). The signal comes when the thread that
    started the job ends: ffmpeg.job starts and waits on the same thread. Linux only; elsewhere nothing.
    """
    if not sys.platform.startswith("linux"):
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def kill_session(pid: int) -> bool:
    """SIGKILL the process group led by `pid` (a child started in a session of its own); False when that is
    not possible here (Windows, no such group), so the caller kills the child alone. Any thread."""
    if sys.platform == "win32" or not pid:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(process: QProcess) -> None:
    """SIGKILL a recorder and everything in its process group (the guard and FFmpeg: parent_death_prefix).

    Last resort, when FFmpeg ignored 'q' and SIGTERM or at engine exit. Killing only the guard would leave
    FFmpeg to its SIGINT, which a hung FFmpeg may not obey. Engine thread."""
    if not kill_session(int(process.processId() or 0)):  # use_own_session: the pid leads its own group
        process.kill()


def remember(run_dir: Path, pid: int, marker: str) -> Path:
    """Write `<run_dir>/<pid>.pid` holding `marker` (the output folder), so a leftover can be recognised."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"{pid}.pid"
    path.write_text(marker, encoding="utf-8")
    return path


def forget(run_dir: Path, pid: int) -> None:
    (run_dir / f"{pid}.pid").unlink(missing_ok=True)


def _command_line(pid: int) -> str | None:
    """The process's command line, or None if it is gone (Linux /proc; `ps` elsewhere)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if proc.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return proc.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            return None
    try:
        import subprocess

        out = subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (POSIX)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reap_leftovers(run_dir: Path, grace_s: float = 5.0) -> list[int]:
    """Stop FFmpeg processes a previous engine left running; returns their pids. Any thread, blocking."""
    if sys.platform == "win32" or not run_dir.is_dir():
        return []
    stopped: list[int] = []
    for pidfile in sorted(run_dir.glob("*.pid")):
        if pidfile.is_symlink() or not pidfile.is_file():
            # Not written by remember(): older versions let a room named '.nvr-run' record a camera named
            # '1.pid' into this folder. Leave it (it may hold recordings) and go on with the real ones.
            log.warning("ignoring %s: not a pid file of nvr-console", pidfile)
            continue
        try:
            pid = int(pidfile.stem)
            marker = pidfile.read_text(encoding="utf-8").strip()
        except (ValueError, OSError):
            _discard(pidfile)
            continue
        cmd = _command_line(pid)
        # Pid reuse: only a process that is still an ffmpeg writing to that folder is ours.
        if cmd and "ffmpeg" in cmd and marker and marker in cmd:
            log.warning("stopping FFmpeg (pid %d) left running by a previous engine for %s", pid, marker)
            try:
                os.kill(pid, signal.SIGINT)  # once: FFmpeg finishes the file it is writing
                deadline = time.monotonic() + grace_s
                while pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if pid_alive(pid):
                    os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            stopped.append(pid)
        _discard(pidfile)
    return stopped


def _discard(pidfile: Path) -> None:
    try:
        pidfile.unlink(missing_ok=True)
    except OSError as exc:  # one unreadable leftover must not stop the recovery of every camera
        log.warning("cannot remove %s: %s", pidfile, exc.strerror or exc)
