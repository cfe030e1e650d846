from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.coverage import (
    Cause,
    FileSpan,
    compute,
    day_bounds,
    load_day,
    parse_day,
    window_spans,
)
from nvr_console.core.db.models import CameraEventKind, Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import Event, write_events
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.stream_url import InvalidInput

MSK = ZoneInfo("Europe/Moscow")
DAY = date(2026, 11, 27)
REFUSED = ("Connection refused: nothing listens on that host and port. Check the port in the URL and that the "
           "camera's RTSP service is on. (FFmpeg: Connection to tcp://10.0.0.5:554?timeout=0 failed: Connection "
           "refused)")
DISK = ("The recordings disk is full. Free space or choose another recordings folder; uploads and retention free "
        "space as files are verified. (FFmpeg: /srv/rec/x.mkv: No space left on device)")


def at(hhmm: str) -> datetime:
    h, m, *s = (int(x) for x in hhmm.split(":"))
    return datetime(2026, 11, 27, h, m, s[0] if s else 0, tzinfo=MSK).astimezone(UTC)


def state(hhmm: str, st: str, reason: str = "", node: str = "rec1:100") -> Event:
    return Event(at(hhmm), CameraEventKind.STATE, st, 1, "A-101", "front", reason, node)


def command(hhmm: str, what: str, actor: str) -> Event:
    return Event(at(hhmm), CameraEventKind.COMMAND, what, 1, "A-101", "front", "", "desk", actor)


def engine(hhmm: str, what: str, node: str = "rec1:100", actor: str = "") -> Event:
    return Event(at(hhmm), CameraEventKind.ENGINE, what, node=node, actor=actor)


def file(a: str, b: str, status: str = "uploaded", **kw: object) -> FileSpan:
    return FileSpan(hash((a, b)) % 10_000, at(a), at(b), status, **kw)  # type: ignore[arg-type]


WINDOW = RecordingWindow.parse("daily 09:00-21:00")


def _coverage(files: list[FileSpan], events: list[Event], now: str = "23:00") -> list[tuple[str, str, str, str]]:
    start, end = day_bounds(DAY, MSK)
    cov = compute(1, "A-101", "front", start, end, window_spans(WINDOW, start, end, MSK), files, events, at(now))
    return [(g.start.astimezone(MSK).strftime("%H:%M:%S"), g.end.astimezone(MSK).strftime("%H:%M:%S"),
             g.cause.value, g.reason) for g in cov.gaps]


def test_every_gap_of_a_day_has_its_reason() -> None:
    files = [
        file("08:30", "09:30"),  # starts before the window: only its window part counts
        file("09:30", "10:00"),
        file("10:07:30", "10:30"),  # after an outage
        file("10:30", "11:00", damaged="its media said 0.29 s"),  # damaged still holds frames
        file("12:00:05", "12:59:58"),  # after the operator started it again
        file("14:00:04", "15:00"),  # the engine restarted at 14:00, then died at 15:00
        file("15:30:06", "16:00", status="failed", last_error="unreadable segment"),
        file("16:00", "17:00", status="ready"),
        file("17:30", "18:00", status="lost", last_error="the local file vanished before it was uploaded"),
        file("19:00:03", "21:30", status="recording"),
    ]
    events = [
        engine("08:00", "started"),
        state("08:29:58", "recording"),
        state("10:00:01", "reconnecting", REFUSED),
        state("10:00:03", "starting"),  # retries during the outage are not stored, but one may be
        state("10:01", "reconnecting", REFUSED),
        state("10:07:29", "recording"),
        command("11:00", "stop", "ann@desk-3 (console)"),
        state("11:00:01", "stopping"),
        state("11:00:02", "stopped"),
        command("12:00", "start", "ann@desk-3 (console)"),
        state("12:00:01", "starting"),
        state("12:00:04", "recording"),
        state("12:59:58", "stopped"),
        engine("13:00", "stopped", actor="root@rec1 (headless)"),
        engine("14:00", "started", node="rec1:200"),
        state("14:00:02", "recording", node="rec1:200"),
        # 15:00: rec1:200 died without a word; rec1:300 started at 15:30
        engine("15:30", "started", node="rec1:300"),
        state("15:30:05", "recording", node="rec1:300"),
        state("17:00", "failed", DISK, node="rec1:300"),
        state("18:00", "scheduled", node="rec1:300"),  # the window was shorter then
        state("19:00", "recording", node="rec1:300"),
    ]
    gaps = _coverage(files, events)
    assert gaps == [
        ("10:00:00", "10:07:30", "camera_unreachable", f"camera unreachable: {REFUSED}"),
        ("11:00:00", "12:00:05", "stopped_by_operator", "camera stopped by ann@desk-3 (console)"),
        ("12:59:58", "14:00:04", "engine_not_running",
         "engine not running (stopped by root@rec1 (headless) on rec1:100)"),
        ("15:00:00", "15:30:06", "engine_not_running",
         "engine not running (it stopped without a clean shutdown; started again at 2026-11-27T12:30:00+00:00)"),
        ("15:30:06", "16:00:00", "file_failed", "the file was unusable: unreadable segment"),
        ("17:00:00", "17:30:00", "disk_full", f"disk full: {DISK}"),
        ("17:30:00", "18:00:00", "file_lost", "the file was lost: the local file vanished before it was uploaded"),
        ("18:00:00", "19:00:03", "outside_window", "outside the recording window"),
    ]


def test_a_failed_file_explains_its_own_time() -> None:
    gaps = _coverage([file("09:00", "10:00"), file("10:00", "10:30", status="failed", last_error="unreadable")],
                     [state("08:59", "recording")], now="10:45")
    assert gaps == [("10:00:00", "10:30:00", "file_failed", "the file was unusable: unreadable"),
                    ("10:30:00", "10:45:00", "unknown",
                     "no file for this time although the engine reported the camera recording")]


def test_recorded_seconds_count_only_the_window_and_stop_at_now() -> None:
    start, end = day_bounds(DAY, MSK)
    cov = compute(1, "A-101", "front", start, end, window_spans(WINDOW, start, end, MSK),
                  [file("08:00", "10:00")], [], at("11:00"))
    assert cov.window_seconds == 2 * 3600 and cov.recorded_seconds == 3600
    assert [(g.cause, g.seconds) for g in cov.gaps] == [(Cause.UNKNOWN, 3600)]
    assert cov.ratio == 0.5
    assert cov.public(MSK)["gaps"][0]["reason"] == "no camera events recorded for this time"


def test_holes_under_a_second_are_rounding_not_gaps() -> None:
    files = [file("09:00", "10:00"), FileSpan(2, at("10:00") + timedelta(milliseconds=400), at("21:00"), "ready")]
    assert _coverage(files, [state("08:00", "recording")]) == []


def test_day_bounds_follow_the_zone_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    a, b = day_bounds(date(2026, 3, 29), berlin)  # clocks go forward: a 23-hour day
    assert (b - a) == timedelta(hours=23) and a == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)


def test_a_window_crossing_midnight_gives_two_spans_of_the_day() -> None:
    start, end = day_bounds(DAY, MSK)
    spans = window_spans(RecordingWindow.parse("daily 22:00-06:00"), start, end, MSK)
    assert [(datetime.fromtimestamp(a, MSK).strftime("%H:%M"), datetime.fromtimestamp(b, MSK).strftime("%H:%M"))
            for a, b in spans] == [("00:00", "06:00"), ("22:00", "00:00")]
    assert window_spans(RecordingWindow(), start, end, MSK) == [(start.timestamp(), end.timestamp())]


def test_parse_day() -> None:
    assert parse_day("2026-11-27") == DAY
    assert parse_day("yesterday", MSK) == datetime.now(MSK).date() - timedelta(days=1)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD"):
        parse_day("27.11.2026")


def _row(db: Database, cam: int | None, room: str, name: str, start: datetime, end: datetime | None,
         status: str = RecordingStatus.UPLOADED.value, **kw: object) -> None:
    with db.session() as s:
        s.add(Recording(camera_id=cam, room_name=room, camera_name=name, slot_start=start, start_time=start,
                        end_time=end, local_path=f"/rec/{room}/{name}/{start.timestamp()}.mp4",
                        local_path_key=f"{room}{name}{start.timestamp()}", status=status, **kw))


def test_load_day_reads_files_and_events_of_the_cameras_asked_for(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "recording.window": "daily 09:00-21:00",
                                   "recording.segment_length": "30m"})
    db = Database(settings.database.url)
    from nvr_console.core.db.migrate import prepare_database

    prepare_database(db)
    catalog.add_room(db, "A-101")
    catalog.add_room(db, "B-202")
    front = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    back = catalog.add_camera(db, "A-101", "back", "rtsp://10.0.0.6/s").id
    other = catalog.add_camera(db, "B-202", "desk", "rtsp://10.0.0.7/s").id
    _row(db, front, "A-101", "front", at("09:00"), at("10:00"))
    _row(db, front, "A-101", "front", at("10:05"), at("21:00"), damaged="its media said 0.3 s")
    _row(db, front, "A-101", "front", at("09:00") - timedelta(days=1), at("10:00") - timedelta(days=1))  # yesterday
    # Still being written: no end yet; shown up to its slot's end (not beyond now).
    _row(db, back, "A-101", "back", at("20:30"), None, status=RecordingStatus.RECORDING.value)
    _row(db, other, "B-202", "desk", at("09:00"), at("21:00"))
    _row(db, None, "A-101", "old", at("09:00"), at("09:30"))  # a camera since removed: still shown
    write_events(db, [Event(at("10:00"), CameraEventKind.STATE, "reconnecting", front, "A-101", "front", REFUSED,
                            "rec1:1"),
                      Event(at("10:05"), CameraEventKind.STATE, "recording", front, "A-101", "front", "", "rec1:1")])
    cov = load_day(db, settings, DAY, room="A-101", now=at("23:00"))
    assert [(c.room, c.camera) for c in cov] == [("A-101", "back"), ("A-101", "front"), ("A-101", "old")]
    front_cov = cov[1]
    assert [(f.start, f.damaged) for f in front_cov.files] == [(at("09:00"), None),
                                                               (at("10:05"), "its media said 0.3 s")]
    assert front_cov.damaged_files == 1
    assert [(g.start, g.end, g.cause) for g in front_cov.gaps] == [(at("10:00"), at("10:05"),
                                                                    Cause.CAMERA_UNREACHABLE)]
    assert front_cov.recorded_seconds == 12 * 3600 - 300
    back_file = cov[0].files[0]
    assert back_file.status == "recording" and back_file.end == at("21:00")
    one = load_day(db, settings, DAY, room="A-101", camera="front", now=at("23:00"))
    assert [c.camera for c in one] == ["front"]
    with pytest.raises(catalog.NotFound, match="no camera named 'nope' in room 'A-101'"):
        load_day(db, settings, DAY, room="A-101", camera="nope")
    with pytest.raises(catalog.NotFound, match="no room named 'Z'"):
        load_day(db, settings, DAY, room="Z")
    everything = load_day(db, settings, DAY, now=at("23:00"))
    assert [(c.room, c.camera) for c in everything][-1] == ("B-202", "desk")
    db.dispose()


def test_one_outage_whose_error_changed_is_one_gap_and_a_shutdown_is_the_engine_stopping() -> None:
    ended = "The stream ended without an error from FFmpeg (the camera closed it)."
    files = [file("09:00", "10:00"), file("10:05", "10:30")]
    events = [state("08:59", "recording"), state("10:00:00", "reconnecting", ended),
              state("10:00:02", "reconnecting", REFUSED), state("10:05", "recording"),
              state("10:30:00", "stopping"), state("10:30:01", "stopped"),
              engine("10:30:02", "stopped", actor="ann@desk (console)")]
    assert _coverage(files, events, now="10:40") == [
        ("10:00:00", "10:05:00", "camera_unreachable", f"camera unreachable: {ended}; then: {REFUSED}"),
        ("10:30:00", "10:40:00", "engine_not_running",
         "engine not running (stopped by ann@desk (console) on rec1:100)"),
    ]


def test_time_outside_a_cameras_life_is_no_gap_and_not_counted(settings_factory: Callable[..., Settings],
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: a camera added at 16:41:50 while the engine had run since 16:39:07 showed 'engine not running'
    and 'no camera events' gaps before it existed, counted against its share. Before a camera was added, after
    it was removed, and on a day it was disabled throughout, it has no gaps: that time is outside its life,
    said once."""
    from sqlalchemy import update

    from nvr_console.cli.main import main
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.models import Camera, CameraEvent
    from nvr_console.ui.models.recordings_model import RecordingsModel

    settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "recording.segment_length": "30m"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    old = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    late = catalog.add_camera(db, "A-101", "late", "rtsp://10.0.0.6/s").id
    gone = catalog.add_camera(db, "A-101", "gone", "rtsp://10.0.0.7/s").id
    off = catalog.add_camera(db, "A-101", "off", "rtsp://10.0.0.8/s").id
    catalog.set_camera_enabled(db, "A-101", "off", False, actor="ops@desk (CLI)")
    _row(db, gone, "A-101", "gone", at("11:00"), at("12:00:30"))
    catalog.remove_camera(db, "A-101", "gone", actor="ops@desk (CLI)")  # its file stays, without its camera id
    with db.session() as s:  # when each happened (the catalog stamps them with the real clock)
        s.execute(update(Camera).where(Camera.id.in_([old, off])).values(created_at=at("10:00") - timedelta(days=3)))
        s.execute(update(Camera).where(Camera.id == late).values(created_at=at("16:41:50")))
        s.execute(update(CameraEvent).where(CameraEvent.camera_id == off).values(at=at("11:00") - timedelta(days=2)))
        s.execute(update(CameraEvent).where(CameraEvent.camera_name == "gone").values(at=at("12:00:30")))
    write_events(db, [engine("16:39:07", "started")])
    _row(db, old, "A-101", "front", at("16:39:10"), at("17:00"))
    _row(db, late, "A-101", "late", at("16:41:50") + timedelta(seconds=0.6), at("17:00"))
    by = {c.camera: c for c in load_day(db, settings, DAY, room="A-101", now=at("17:00"))}

    late_cov = by["late"]
    assert [(o.start, o.end, o.reason) for o in late_cov.outside] == [(day_bounds(DAY, MSK)[0], at("16:41:50"),
                                                                       "camera added at 16:41:50")]
    assert late_cov.gaps == () and late_cov.window_seconds == 18 * 60 + 10
    assert late_cov.ratio == pytest.approx((18 * 60 + 9.4) / (18 * 60 + 10))
    # The camera that was there all along still has its gaps before the engine started.
    assert by["front"].outside == () and by["front"].gaps[0].cause is Cause.UNKNOWN
    gone_cov = by["gone"]
    assert [o.reason for o in gone_cov.outside] == ["camera removed at 12:00:30"]
    assert all(g.end <= at("12:00:30") for g in gone_cov.gaps) and gone_cov.window_seconds == 12 * 3600 + 30
    off_cov = by["off"]
    assert off_cov.gaps == () and off_cov.window_seconds == 0 and off_cov.ratio is None
    assert [o.reason for o in off_cov.outside] == ["camera disabled all day since 2026-11-25 by ops@desk (CLI)"]

    # The timeline says it when that time is hovered (no gap there); the CLI says it once.
    model = RecordingsModel(zone=MSK)
    rows = [by["late"]]
    model.set_rows(rows)
    assert model.tooltip(model.hit(0, at("12:00").timestamp())) == "A-101 / late: camera added at 16:41:50"
    monkeypatch.setenv("NVR_RECORDING_TIMEZONE", "Europe/Moscow")
    assert main(["recordings", "coverage", "--day", DAY.isoformat(), "--room", "A-101", "--camera", "late",
                 "--database-url", settings.database.url]) == 0
    out = capsys.readouterr().out  # (the day is over now: after its file, 17:00 to midnight is a gap)
    assert out.count("camera added at 16:41:50") == 1 and "gap  17:00:00-00:00:00" in out and out.count("gap") == 1
    db.dispose()
