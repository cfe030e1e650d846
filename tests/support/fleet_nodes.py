"""Several nvr-console nodes as separate OS processes on one database, for the fleet tests and bench/fleet.py.

    with NodeFleet(tmp_path, db_url) as fleet:
        a = fleet.start("a", segment_length=3, lease_ttl=4)
        b = fleet.start("b", ...)
        a.kill()          # SIGKILL, and its FFmpeg with it: what a power cut does to a machine
        b.terminate()     # SIGTERM: a clean stop (hands its cameras over)
        a.pause(); a.resume()   # SIGSTOP / SIGCONT
Each node runs `python -m nvr_console.cli.main --no-gui` with its own recordings, log and state folders
(its "machine"), settings from NVR_* variables; everything is killed at the end of the block.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from nvr_console.core.recording.segment_names import RUN_DIR
from nvr_console.core.system.process_group import pid_alive


class NodeProcess:
    def __init__(self, name: str, db_url: str, home: Path, env: dict[str, str], args: tuple[str, ...] = ()) -> None:
        self.name = name
        self.db_url = db_url
        self.home = home
        self.recordings = home / "recordings"
        self.log_path = home / "node.log"
        self.env = env
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        self.home.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A session of its own: a Ctrl-C for pytest must not reach the nodes (they are stopped here).
            self.proc = subprocess.Popen([sys.executable, "-m", "nvr_console.cli.main", "--no-gui", *self.args],
                                         env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=log, start_new_session=True, cwd=self.home)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ffmpeg_pids(self) -> list[int]:
        """FFmpeg processes this node started that are still alive (from its pid files)."""
        run = self.recordings / RUN_DIR
        pids = []
        for f in run.glob("*.pid") if run.is_dir() else []:
            with contextlib.suppress(ValueError):
                pid = int(f.stem)
                if pid_alive(pid):
                    pids.append(pid)
        return pids

    def kill(self, with_ffmpeg: bool = True) -> float:
        """SIGKILL (and, as a power cut would, its FFmpeg); returns the time of death."""
        pids = self.ffmpeg_pids() if with_ffmpeg else []
        at = time.time()
        if self.running:
            os.kill(self.pid, signal.SIGKILL)
        for pid in pids:  # each leads the group of its guard and FFmpeg (process_group.parent_death_prefix)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)
        return at

    def terminate(self) -> None:
        if self.running:
            os.kill(self.pid, signal.SIGTERM)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


class NodeFleet:
    """Starts nodes and guarantees none (nor their FFmpeg) outlives the block."""

    def __init__(self, root: Path, db_url: str, **defaults: object) -> None:
        self.root = root
        self.db_url = db_url
        self.defaults = defaults
        self.nodes: dict[str, NodeProcess] = {}

    def node(self, name: str, *, db_url: str | None = None, record: bool = True, args: tuple[str, ...] = (),
             **settings: object) -> NodeProcess:
        """A node not yet started. `settings`: `segment_length=3` -> NVR_RECORDING_SEGMENT_LENGTH=3 and so on
        (`lease_ttl`, `handover_wait`, `max_cameras` are node settings; `destination` and `local_dir` are upload.*)."""
        home = self.root / name
        opts = {**self.defaults, **settings}
        keys = {"segment_length": "NVR_RECORDING_SEGMENT_LENGTH", "lease_ttl": "NVR_NODE_LEASE_TTL",
                "handover_wait": "NVR_NODE_HANDOVER_WAIT", "max_cameras": "NVR_NODE_MAX_CAMERAS",
                "destination": "NVR_UPLOAD_DESTINATION", "stall_timeout": "NVR_RECORDING_STALL_TIMEOUT",
                "local_dir": "NVR_UPLOAD_LOCAL_DIR"}
        env = {k: v for k, v in os.environ.items() if not k.startswith("NVR_") and k != "SQLALCHEMY_DATABASE_URI"}
        env.update({
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"), "XDG_CACHE_HOME": str(home / ".cache"),
            "NVR_DATABASE_URL": db_url or self.db_url, "NVR_NODE_NAME": name,
            "NVR_NODE_RECORD": "true" if record else "false",
            "NVR_RECORDING_DIR": str(home / "recordings"), "NVR_LOG_DIR": str(home / "log"),
            "NVR_UPLOAD_LOCAL_DIR": str(home / "archive"), "NVR_UPLOAD_DESTINATION": "none",
        })
        for key, value in opts.items():
            env[keys[key]] = str(value)
        node = NodeProcess(name, db_url or self.db_url, home, env, args)
        self.nodes[name] = node
        return node

    def start(self, name: str, **kw: object) -> NodeProcess:
        return self.node(name, **kw).start()  # type: ignore[arg-type]

    def close(self) -> None:
        for node in self.nodes.values():
            if node.running:
                with contextlib.suppress(ProcessLookupError):
                    node.resume()
            node.kill(with_ffmpeg=True)

    def __enter__(self) -> NodeFleet:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
