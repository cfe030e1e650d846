"""A database that stops answering (a real MariaDB paused with SIGSTOP for 20 s) while the real console and the
real engine record a camera: the console's event loop keeps answering, recording goes on, and both work again
once the server is continued."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import CONNECT_TIMEOUT_S, Database
from nvr_console.ui.app import Console, build_console
from nvr_console.ui.models.camera_table_model import Column
from tests.support.mariadb import MariaDBServer

STOP_S = 20.0
TIMER_MS = 10
SEGMENT_S = 4


class LoopLatency(QObject):
    """A 10 ms timer on the UI thread; how late each timeout comes is how long the event loop was busy.

    A stall of L ms delays one timeout but every event that arrived during it: it counts as the timeouts it
    swallowed, late by L, L - 10, L - 20 ... ms (else one 20 s freeze would be a single sample and hide
    below any percentile)."""

    def __init__(self) -> None:
        super().__init__()
        self.late_ms: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TIMER_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, (now - self._last) * 1000 - TIMER_MS)
        self.late_ms.append(late)
        while late > TIMER_MS:
            late -= TIMER_MS
            self.late_ms.append(late)
        self._last = now

    def start(self) -> None:
        self.late_ms, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self) -> tuple[float, float, float]:
        """(p50, p99, max) lateness in ms, counting the wait since the last timeout (a loop blocked at the end
        would otherwise go unseen)."""
        self._tick()
        self.timer.stop()
        q = statistics.quantiles(self.late_ms, n=100)
        return q[49], q[98], max(self.late_ms)


def cell(c: Console, camera_id: int, column: Column) -> QModelIndex:
    row = c.window.model.row_of(camera_id)
    if row is None:
        return QModelIndex()
    return c.window.proxy.mapFromSource(c.window.model.index(row, column))


def click(qtbot, c: Console, camera_id: int, column: Column) -> None:  # type: ignore[no-untyped-def]
    rect = c.window.table.visualRect(cell(c, camera_id, column))
    qtbot.mouseClick(c.window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def segments(folder: Path) -> dict[str, int]:
    """Raw segment files being or just written (FFmpeg's own), name -> size."""
    out = {}
    for p in folder.rglob("*.mkv"):
        with contextlib.suppress(FileNotFoundError):  # finalized and removed meanwhile
            out[p.name] = p.stat().st_size
    return out


@pytest.mark.mariadb
@pytest.mark.slow
def test_a_stopped_database_never_freezes_the_console_and_recording_goes_on(
    qtbot, mariadb_server: MariaDBServer, mariadb_url: str, settings_factory: Callable[..., Settings]
) -> None:
    from nvr_console.core.engine.host import EngineHost

    settings = settings_factory(**{"database.url": mariadb_url, "recording.segment_length": str(SEGMENT_S),
                                   "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "Lab")
    cam = catalog.add_camera(db, "Lab", "demo", "lavfi:testsrc2=size=320x180:rate=10")
    host = EngineHost(settings, db)
    c = build_console(settings, db, host.engine)
    c.window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(c.window)
    c.window.show()
    host.start()
    assert mariadb_server.proc is not None
    server = mariadb_server.proc.pid
    folder = settings.recording.dir / "Lab" / "demo"
    try:
        qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "recording", timeout=30_000)
        qtbot.waitUntil(lambda: len(segments(folder)) >= 1, timeout=15_000)

        states: list[str] = []  # what the engine reports for the camera from here to the operator's Stop
        c.events.camera_status.connect(lambda st: states.append(st.state.value) if st.camera_id == cam.id else None)
        latency = LoopLatency()
        latency.start()
        os.kill(server, signal.SIGSTOP)  # the server stops answering; its sockets stay open
        try:
            seen_during: dict[str, int] = {}
            first = segments(folder)
            # What an operator does meanwhile: each of these asks the database (on the console's database
            # thread), and the engine keeps asking it on its own.
            c.window.status.check_database()
            c.window.reload_cameras()
            c.window.uploads.load_history(db)
            deadline = time.monotonic() + STOP_S
            while time.monotonic() < deadline:
                qtbot.wait(250)
                seen_during.update(segments(folder))
        finally:
            os.kill(server, signal.SIGCONT)
        p50, p99, worst = latency.stop()
        print(f"\nUI event loop while the database was stopped {STOP_S:.0f} s: lateness of a {TIMER_MS} ms timer "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms ({len(latency.late_ms)} samples)")
        # Never waited on the stopped server: a UI call on it would stall the loop for a whole connect or read
        # timeout (5 or 10 s). How smooth the loop is under load is a speed figure, measured by bench/console.py
        # (a p99 bound here failed at 113 ms with 4 test workers on 2 cores, with no call on the UI thread).
        assert worst < CONNECT_TIMEOUT_S * 1000 / 2, (p50, p99, worst)

        # Recording went on: FFmpeg kept cutting segments on the clock, with data in them.
        new = {name: size for name, size in seen_during.items() if name not in first}
        assert len(new) >= STOP_S / SEGMENT_S - 2, (sorted(first), sorted(seen_during))
        assert sum(1 for size in new.values() if size > 10_000) >= len(new) - 1, new

        # Both recover: the console's check answers, a Stop and a Start issued now take effect, the table
        # refreshes from the catalog.
        c.window.status.check_database()
        qtbot.waitUntil(lambda: c.window.status.db_label.text() == "Database: OK", timeout=30_000)
        qtbot.wait(3000)  # the engine catches up with what queued while it waited on the database
        print(f"camera states reported during and after the stop: {sorted(set(states))}")
        assert set(states) <= {"recording"}, states  # never stalled or restarted: no gap in the recording
        click(qtbot, c, cam.id, Column.ACTION)
        qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "stopped", timeout=30_000)
        assert catalog.get_camera_by_id(db, cam.id).desired_state == "stopped"  # type: ignore[union-attr]
        click(qtbot, c, cam.id, Column.ACTION)
        qtbot.waitUntil(lambda: cell(c, cam.id, Column.STATE).data() == "recording", timeout=30_000)
        added = catalog.add_camera(db, "Lab", "door", "lavfi:testsrc2=size=320x180:rate=10")
        c.window.reload_cameras()
        qtbot.waitUntil(lambda: c.window.model.row_of(added.id) is not None, timeout=10_000)
    finally:
        if mariadb_server.proc is not None:
            os.kill(mariadb_server.proc.pid, signal.SIGCONT)
        assert host.stop(60)
        db.dispose()
