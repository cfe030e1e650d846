from datetime import UTC, datetime, timedelta

from nvr_console.core import catalog
from nvr_console.core.db import migrate
from nvr_console.core.db.models import CameraEventKind, DesiredState
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import (
    ENGINE_STARTED,
    ENGINE_STOPPED,
    Event,
    events_between,
    purge_older_than,
    write_events,
)

T0 = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


def _state(minutes: float, cam: int, state: str, reason: str = "") -> Event:
    return Event(T0 + timedelta(minutes=minutes), CameraEventKind.STATE, state, cam, "A-101", f"cam{cam}", reason,
                 "host-a:1")


def test_a_day_of_events_with_each_cameras_state_before_it(any_db_url: str) -> None:
    db = Database(any_db_url)
    migrate.prepare_database(db)
    write_events(db, [
        _state(-120, 1, "recording"),
        _state(-60, 1, "reconnecting", "Connection refused (FFmpeg: rtsp://admin:hunter2@10.0.0.5/s: refused)"),
        _state(-30, 2, "stopped"),
        _state(10, 1, "recording"),
        _state(30, 2, "recording"),
        _state(20, 3, "recording"),  # another camera: not asked for
        Event(T0 - timedelta(hours=2), CameraEventKind.ENGINE, ENGINE_STARTED, node="host-a:1"),
        Event(T0 + timedelta(hours=2), CameraEventKind.ENGINE, ENGINE_STOPPED, node="host-a:1", actor="op@host-a"),
        Event(T0 + timedelta(hours=30), CameraEventKind.ENGINE, ENGINE_STARTED, node="host-a:2"),  # after the end
    ])
    got = events_between(db, T0, T0 + timedelta(days=1), [1, 2])
    db.dispose()
    summary = [(e.camera_id, e.kind.value, e.state, round((e.at - T0).total_seconds() / 60)) for e in got]
    assert summary == [
        (None, "engine", "started", -120),
        (1, "state", "reconnecting", -60),  # camera 1's state when the day began, not its older ones
        (2, "state", "stopped", -30),
        (1, "state", "recording", 10),
        (2, "state", "recording", 30),
        (None, "engine", "stopped", 120),
    ]
    assert got[1].reason.startswith("Connection refused") and "hunter2" not in got[1].reason
    assert got[1].at.tzinfo is UTC and got[-1].actor == "op@host-a"


def test_operator_commands_are_stored_with_the_change_and_its_actor(db: Database) -> None:
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    before = datetime.now(UTC) - timedelta(seconds=1)
    catalog.set_desired_state(db, cam.id, DesiredState.STOPPED, actor="ann@desk (console)")
    catalog.set_camera_enabled(db, "A-101", "front", False, actor="bob@server (CLI)")
    catalog.set_camera_enabled(db, "A-101", "front", True)
    catalog.set_all_desired_state(db, DesiredState.RECORDING, actor="ann@desk (console)")
    got = events_between(db, before, datetime.now(UTC) + timedelta(seconds=1), [cam.id])
    assert [(e.kind.value, e.state, e.actor) for e in got][:2] == [
        ("command", "stop", "ann@desk (console)"), ("command", "disable", "bob@server (CLI)")]
    assert got[2].state == "enable" and got[2].actor.endswith("(unknown)") and "@" in got[2].actor
    assert got[3].state == "start" and all(e.room == "A-101" and e.camera == "front" for e in got)


def test_purge_deletes_only_older_events_in_batches(db: Database) -> None:
    write_events(db, [_state(-i, 1, "recording") for i in range(1, 26)] + [_state(5, 1, "stopped")])
    assert purge_older_than(db, T0, batch=10) == 25
    assert purge_older_than(db, T0, batch=10) == 0
    left = events_between(db, T0 - timedelta(days=1), T0 + timedelta(days=1), with_previous=False)
    assert [e.state for e in left] == ["stopped"]
