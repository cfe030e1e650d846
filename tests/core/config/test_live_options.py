"""Every option the option table marks live takes effect in a running engine without a restart.

Parametrized over config.LIVE_OPTIONS: an option marked live without a check here fails. Each check runs a
real engine in its thread, sends it new settings the way the console does (a queued signal carrying them to
Engine.apply_settings) and watches what the change must do: files cut on the new length, a camera outside
the new window, more upload workers, a verified copy deleted, the disk guard's new line.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from nvr_console.core import catalog
from nvr_console.core.config import LIVE_OPTIONS, Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.recording.segment_names import raw_name_time
from nvr_console.core.schedule.boundaries import now_in
from nvr_console.core.status import CameraState, UploadProgress, UploadState
from tests.core.engine_support import Collected, wait_until
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer

NOWHERE = "rtsp://127.0.0.1:9/never-contacted"


class _Console(QObject):
    settings_changed = Signal(object)


@dataclass
class Running:
    """An engine in its thread, started with `base` settings; `apply(**changes)` sends it new ones."""

    make: Callable[..., Settings]
    base: dict[str, Any]
    db: Database
    host: EngineHost[Engine]
    got: Collected
    uploads: list[UploadProgress]
    console: _Console

    def apply(self, **changes: Any) -> Settings:
        settings = self.make(**{**self.base, **changes})
        self.console.settings_changed.emit(settings)
        return settings


@pytest.fixture
def running(settings_factory: Callable[..., Settings], qapp: object,
            request: pytest.FixtureRequest) -> Iterator[Callable[..., Running]]:
    made: list[Running] = []

    def start(cameras: Callable[[Database], None] = lambda _db: None, **base: Any) -> Running:
        settings = settings_factory(**base)
        db = Database(settings.database.url)
        prepare_database(db)
        cameras(db)
        host = EngineHost(settings, db)
        got = Collected()
        got.attach(host.engine)
        uploads: list[UploadProgress] = []
        lock = threading.Lock()

        def add(p: UploadProgress) -> None:
            with lock:
                uploads.append(p)

        host.engine.upload_progress.connect(add, Qt.ConnectionType.DirectConnection)
        console = _Console()
        console.settings_changed.connect(host.engine.apply_settings, Qt.ConnectionType.QueuedConnection)
        host.start()
        r = Running(settings_factory, base, db, host, got, uploads, console)
        made.append(r)
        assert wait_until(lambda: bool(host.engine.settings) and host.engine._running, 10)
        return r

    yield start
    for r in made:
        assert r.host.stop(30)
        r.db.dispose()


def _one_camera(url: str) -> Callable[[Database], None]:
    def add(db: Database) -> None:
        catalog.add_room(db, "R")
        catalog.add_camera(db, "R", "cam", url)

    return add


def _camera_id(r: Running) -> int:
    return catalog.list_cameras(r.db)[0].id


def _window_excluding_now() -> str:
    t = now_in(None) + timedelta(hours=2)
    return f"daily {t:%H:%M}-{t + timedelta(minutes=1):%H:%M}"


def _files_opened(folder: Path) -> list[float]:
    """When FFmpeg opened each raw (DATE_TIME.mkv) or finished (DATE/TIME.mp4) file of a camera, sorted."""
    times: set[datetime | None] = set()
    for p in folder.rglob("*"):
        if p.suffix == ".mkv":
            times.add(raw_name_time(p, None))
        elif p.suffix == ".mp4":
            times.add(datetime.strptime(f"{p.parent.name} {p.stem}", "%Y-%m-%d %H-%M-%S").astimezone())
    return sorted(t.timestamp() for t in times if t is not None)


# --- one check per live option ---------------------------------------------------------------------------


def check_segment_length(running: Callable[..., Running], rtsp: RtspServer) -> None:
    r = running(_one_camera(rtsp.url("/cam")), **{"recording.segment_length": "1h", "upload.destination": "none"})
    cam = _camera_id(r)
    assert wait_until(lambda: r.got.latest(cam) is not None and r.got.latest(cam).state is CameraState.RECORDING, 30)
    applied = r.apply(**{"recording.segment_length": "2s"})
    folder = applied.recording.dir / "R" / "cam"
    # The recorder restarts on the new grid: a file every 2 s (each opens at the first keyframe after its cut,
    # so the names are the cuts plus the same fraction of the stream's keyframe interval).

    def spaced_by_two() -> bool:
        opened = _files_opened(folder)
        return len(opened) >= 4 and {b - a for a, b in zip(opened[-4:-1], opened[-3:], strict=True)} == {2.0}

    assert wait_until(spaced_by_two, 30), _files_opened(folder)
    # And the other parts that use the length: the fleet member's handover cuts (test_settings_handover.py
    # proves them across two nodes), the finalizer's slots and the disk guard's reserve.
    engine = r.host.engine
    assert engine._fleet.member.cfg.segment_length == 2.0
    assert engine._finalizing.pairing.segment_length == 2.0
    assert engine._disk._segment_s == 2.0


def check_window(running: Callable[..., Running], _rtsp: RtspServer) -> None:
    r = running(_one_camera(NOWHERE), **{"upload.destination": "none"})
    cam = _camera_id(r)
    assert wait_until(lambda: r.got.latest(cam) is not None
                      and r.got.latest(cam).state in (CameraState.STARTING, CameraState.RECONNECTING), 10)
    r.apply(**{"recording.window": _window_excluding_now()})
    assert wait_until(lambda: r.got.latest(cam).state is CameraState.SCHEDULED, 10)


def check_stall_timeout(running: Callable[..., Running], rtsp: RtspServer) -> None:
    r = running(_one_camera(rtsp.url("/cam")), **{"upload.destination": "none", "recording.stall_timeout": "20s"})
    cam = _camera_id(r)
    assert wait_until(lambda: r.got.latest(cam) is not None and r.got.latest(cam).state is CameraState.RECORDING, 30)
    before = len(r.got.logs)
    r.apply(**{"recording.stall_timeout": "7s"})
    # The recorder is replaced by one with the new watchdog (a cut, then recording again).
    assert wait_until(lambda: any("starting" in x.text for x in r.got.logs[before:]), 10)
    assert wait_until(lambda: r.got.latest(cam).state is CameraState.RECORDING, 30)
    recorders = list(r.host.engine._recorders.active.values())
    assert [rec.cfg.stall_timeout_s for rec in recorders] == [7.0]


def check_workers(running: Callable[..., Running], _rtsp: RtspServer) -> None:
    def workers() -> set[str]:
        return {t.name for t in threading.enumerate() if t.name.startswith("upload-") and t.name[7:].isdigit()}

    running(**{"upload.destination": "local", "upload.workers": 1}).apply(**{"upload.workers": 3})
    assert wait_until(lambda: workers() == {"upload-1", "upload-2", "upload-3"}, 15), workers()


def check_delete_after(running: Callable[..., Running], rtsp: RtspServer) -> None:
    r = running(_one_camera(rtsp.url("/cam")), **{"recording.segment_length": "2s", "upload.destination": "local",
                                                  "retention.delete_after": "never"})

    def uploaded() -> list[int]:
        return [p.recording_id for p in list(r.uploads) if p.state is UploadState.UPLOADED]

    def local_copy(recording_id: int) -> Path | None:
        row = next(x for x in catalog.list_recordings(r.db) if x.id == recording_id)
        return Path(row.local_path) if row.local_path else None

    assert wait_until(lambda: bool(uploaded()), 40)
    kept = uploaded()[0]
    assert local_copy(kept) is not None and local_copy(kept).exists()  # 'never': the copy stays
    r.apply(**{"retention.delete_after": "0"})
    wait_until(lambda: False, 1.0)  # the queued settings reach the engine thread
    seen = set(uploaded())
    assert wait_until(lambda: bool(set(uploaded()) - seen), 40)
    later = min(set(uploaded()) - seen)
    path = local_copy(later)
    assert path is None or not path.exists()  # deleted at once after its verified upload


def check_min_free_space(running: Callable[..., Running], _rtsp: RtspServer) -> None:
    r = running(**{"upload.destination": "none", "retention.min_free_space": "1GiB"})
    assert wait_until(lambda: bool(r.got.disk) and r.got.disk[-1].keep == 1024**3, 15)
    r.apply(**{"retention.min_free_space": "123MiB"})
    assert wait_until(lambda: r.got.disk[-1].keep == 123 * 1024**2, 15), r.got.disk[-1]


CHECKS: dict[str, Callable[[Callable[..., Running], RtspServer], None]] = {
    "recording.segment_length": check_segment_length,
    "recording.window": check_window,
    "recording.stall_timeout": check_stall_timeout,
    "upload.workers": check_workers,
    "retention.delete_after": check_delete_after,
    "retention.min_free_space": check_min_free_space,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", [o.name for o in LIVE_OPTIONS])
def test_a_live_option_takes_effect_without_a_restart(
        name: str, running: Callable[..., Running], rtsp_server: RtspServer) -> None:  # noqa: F811
    check = CHECKS.get(name)
    if check is None:
        pytest.fail(f"{name} is marked live in config.OPTIONS but has no check in {__name__}: add one (or unmark it)")
    check(running, rtsp_server)


def test_every_check_is_for_a_live_option() -> None:
    assert set(CHECKS) == {o.name for o in LIVE_OPTIONS}
