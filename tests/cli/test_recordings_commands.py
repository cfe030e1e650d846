"""`nvr-console recordings coverage` through main()."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import CameraEventKind, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import Event, events_between, write_events
from tests.support.cli_run import run

MSK = ZoneInfo("Europe/Moscow")
REFUSED = "Connection refused: nothing listens on that host and port. (FFmpeg: Connection refused)"


def at(hhmm: str) -> datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, 27, h, m, tzinfo=MSK).astimezone(UTC)


@pytest.fixture
def day_db(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    monkeypatch.setenv("NVR_RECORDING_TIMEZONE", "Europe/Moscow")
    monkeypatch.setenv("NVR_RECORDING_WINDOW", "Mon-Sat 09:00-12:00")
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://admin:pw@10.0.0.5/s").id
    with db.session() as s:
        for i, (a, b, damaged) in enumerate([("09:00", "10:00", None), ("10:20", "11:00", "its media said 0.29 s"),
                                             ("11:00", "11:30", None)]):
            s.add(Recording(camera_id=cam, room_name="A-101", camera_name="front", slot_start=at(a), start_time=at(a),
                            end_time=at(b), local_path=f"/r/{i}.mp4", local_path_key=str(i), status="uploaded",
                            damaged=damaged, web_link=f"https://drive.google.com/file/d/{i}/view"))
    write_events(db, [
        Event(at("08:59"), CameraEventKind.STATE, "recording", cam, "A-101", "front", "", "rec1:5"),
        Event(at("10:00"), CameraEventKind.STATE, "reconnecting", cam, "A-101", "front", REFUSED, "rec1:5"),
        Event(at("10:20"), CameraEventKind.STATE, "recording", cam, "A-101", "front", "", "rec1:5"),
        Event(at("11:30"), CameraEventKind.COMMAND, "disable", cam, "A-101", "front", "", "srv", "bob@srv (CLI)"),
        Event(at("11:30"), CameraEventKind.STATE, "stopped", cam, "A-101", "front", "", "rec1:5"),
    ])
    return ("--database-url", settings.database.url)


def test_coverage_names_every_gap_and_its_reason(capsys: pytest.CaptureFixture[str], day_db: tuple[str, ...]) -> None:
    code, out, err = run(capsys, "recordings", "coverage", "--day", "2026-11-27", "--room", "A-101", *day_db)
    assert code == 0, err
    assert "coverage of 2026-11-27 (Europe/Moscow time), recording window Mon-Sat 09:00-12:00" in out
    assert "A-101 / front: recorded 2h10m of 3h in the window (72.2 %); 3 file(s), 1 damaged" in out
    assert f"gap  10:00:00-10:20:00       20m  camera unreachable: {REFUSED}" in out
    assert "gap  11:30:00-12:00:00       30m  camera disabled by bob@srv (CLI)" in out
    assert "damaged file 10:20:00-11:00:00 (uploaded): its media said 0.29 s" in out


def test_coverage_json(capsys: pytest.CaptureFixture[str], day_db: tuple[str, ...]) -> None:
    code, out, _ = run(capsys, "recordings", "coverage", "--day", "2026-11-27", "--camera", "front", "--json",
                       *day_db)
    data = json.loads(out)
    assert code == 0 and data["day"] == "2026-11-27" and data["timezone"] == "Europe/Moscow"
    (cam,) = data["cameras"]
    assert (cam["room"], cam["camera"], cam["window_seconds"], cam["recorded_seconds"]) == \
        ("A-101", "front", 10800, 7800)
    assert [(g["start"], g["seconds"], g["cause"]) for g in cam["gaps"]] == [
        ("2026-11-27T10:00:00+03:00", 1200, "camera_unreachable"),
        ("2026-11-27T11:30:00+03:00", 1800, "stopped_by_operator")]
    assert [f["damaged"] for f in cam["files"]] == [None, "its media said 0.29 s", None]
    assert "pw" not in out


def test_coverage_refuses_a_bad_day_and_an_unknown_camera(capsys: pytest.CaptureFixture[str],
                                                        day_db: tuple[str, ...]) -> None:
    code, _, err = run(capsys, "recordings", "coverage", "--day", "27/11/2026", *day_db)
    assert code == 2 and err.splitlines()[-1].startswith("nvr-console: error: day '27/11/2026' is not a date; give it")
    code, _, err = run(capsys, "recordings", "coverage", "--day", "2026-11-27", "--room", "A-101", "--camera", "x",
                       *day_db)
    assert code == 2 and "no camera named 'x' in room 'A-101'" in err


def test_cli_enable_and_disable_are_stored_with_the_cli_as_actor(capsys: pytest.CaptureFixture[str],
                                                                db: Database, settings: Settings) -> None:
    catalog.add_room(db, "A-101")
    catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert run(capsys, "cameras", "disable", "--room", "A-101", "--name", "front",
               "--database-url", settings.database.url)[0] == 0
    (event,) = events_between(db, before, datetime.now(UTC) + timedelta(seconds=1))
    assert event.state == "disable" and event.actor.endswith(" (CLI)") and "@" in event.actor
