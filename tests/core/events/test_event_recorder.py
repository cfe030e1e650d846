import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from nvr_console.core.db import migrate
from nvr_console.core.db.session import Database
from nvr_console.core.events.event_recorder import EventRecorder
from nvr_console.core.events.store import events_between
from nvr_console.core.status import CameraState, CameraStatus

REFUSED = "Connection refused: nothing listens on that host and port. (FFmpeg: rtsp://admin:pw9@10.0.0.5/s: refused)"


class FakeEngine(QObject):
    """The three signals the recorder listens to, emitted from a thread of its own like the engine's."""

    camera_status = Signal(object)
    started = Signal()
    stopped = Signal()


def _status(cam: int, state: CameraState, error: str = "", at: float | None = None) -> CameraStatus:
    return CameraStatus(cam, "A-101", f"cam{cam}", state, at or time.time(), last_error=error, file_size=123)


def _all(db: Database) -> list:
    now = datetime.now(UTC)
    return events_between(db, now - timedelta(hours=1), now + timedelta(hours=1), with_previous=False)


def test_state_changes_are_stored_once_per_change_from_the_engine_thread(db: Database) -> None:
    rec = EventRecorder(db, 90 * 86400, node="host-a:42", actor="ann@desk (console)", flush_s=0.05)
    engine = FakeEngine()
    rec.attach(engine)
    t = time.time()
    sequence = [
        _status(1, CameraState.STARTING, at=t),
        _status(1, CameraState.RECORDING, at=t + 1),
        _status(1, CameraState.RECORDING, at=t + 1),  # only the file size changed: not news
        _status(1, CameraState.RECONNECTING, REFUSED, at=t + 5),
        _status(1, CameraState.STARTING, at=t + 6),  # retries during one outage...
        _status(1, CameraState.RECONNECTING, REFUSED, at=t + 7),
        _status(1, CameraState.FAILED, REFUSED, at=t + 8),  # ...with the same error: one event
        _status(1, CameraState.RECONNECTING, "The camera stopped answering (timeout).", at=t + 9),  # a new error
        _status(1, CameraState.STARTING, at=t + 10),
        _status(1, CameraState.RECORDING, at=t + 11),
        _status(2, CameraState.SCHEDULED, at=t + 2),
    ]

    def run() -> None:
        engine.started.emit()
        for s in sequence:
            engine.camera_status.emit(s)
        engine.stopped.emit()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert rec.close(5)
    got = _all(db)
    cam1 = [(e.state, round(e.at.timestamp() - t)) for e in got if e.camera_id == 1]
    assert cam1 == [("starting", 0), ("recording", 1), ("reconnecting", 5), ("reconnecting", 9), ("recording", 11)]
    reconnect = next(e for e in got if e.state == "reconnecting")
    assert "Connection refused" in reconnect.reason and "pw9" not in reconnect.reason
    assert reconnect.node == "host-a:42" and reconnect.room == "A-101" and reconnect.camera == "cam1"
    assert [(e.kind.value, e.state, e.actor) for e in got if e.camera_id is None] == [
        ("engine", "started", "ann@desk (console)"), ("engine", "stopped", "ann@desk (console)")]
    assert [e.state for e in got if e.camera_id == 2] == ["scheduled"]


def test_a_database_that_refuses_costs_the_engine_nothing_and_events_arrive_later(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'later.sqlite3'}")  # no tables yet: every insert fails
    rec = EventRecorder(db, 90 * 86400, node="n", flush_s=0.05, max_queue=3)
    for i in range(5):
        rec.note_status(_status(i, CameraState.RECORDING))
    assert rec.dropped == 2  # bounded: the oldest went
    deadline = time.monotonic() + 5
    while rec.pending() < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    migrate.prepare_database(db)  # the database comes back
    deadline = time.monotonic() + 40
    while rec.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rec.close(5)
    assert sorted(e.camera_id for e in _all(db)) == [2, 3, 4]
    db.dispose()


def test_close_reports_events_that_could_not_be_written(tmp_path: Path) -> None:
    db = Database("mysql+pymysql://nvr:pw@127.0.0.1:1/nvr")  # nothing listens
    rec = EventRecorder(db, 90 * 86400, node="n", flush_s=0.05)
    rec.note_status(_status(1, CameraState.RECORDING))
    assert rec.close(3) is False
    db.dispose()


def test_old_events_are_purged_by_the_writer(db: Database) -> None:
    from nvr_console.core.db.models import CameraEventKind
    from nvr_console.core.events.store import Event, write_events

    old = datetime.now(UTC) - timedelta(days=3)
    write_events(db, [Event(old, CameraEventKind.STATE, "recording", 1), Event(old, CameraEventKind.STATE, "x", 2)])
    rec = EventRecorder(db, 2 * 86400, node="n", flush_s=0.05)
    rec.note_status(_status(1, CameraState.STOPPED))
    assert rec.close(5)
    got = events_between(db, old - timedelta(days=1), datetime.now(UTC) + timedelta(hours=1), with_previous=False)
    assert [e.state for e in got] == ["stopped"]
