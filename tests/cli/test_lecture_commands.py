"""`rooms edit --calendar`, `calendar check` and `lectures list|show|redo` as a newcomer types them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core.config import load_settings
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import refresh
from tests.core.lectures.ics_samples import calendar, event
from tests.support.cli_run import run
from tests.support.ics_server import IcsServer
from tests.support.ports import closed_url


def _weekly_from_tomorrow() -> bytes:
    day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%d")
    return calendar(event("algebra@uni", f"{day}T101500", f"{day}T114500", "Algebra: Groups & Rings",
                          "RRULE:FREQ=WEEKLY;COUNT=4", "ORGANIZER;CN=Dr. Noether:mailto:noether@uni.example",
                          "LOCATION:A-101"),
                    event("exam@uni", f"{day}T140000", f"{day}T150000", "Exam", "CATEGORIES:no-recording"),
                    event("b@uni", f"{day}T160000", f"{day}T170000", "Biology", "LOCATION:B-2"))


def test_calendar_from_http_checked_listed_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nvr.sqlite3'}"
    db = ("--database-url", url)
    assert run(capsys, "rooms", "add", "A-101", *db)[0] == 0
    code, _, err = run(capsys, "calendar", "check", "A-101", *db)
    assert code == 2 and "has no calendar" in err and "rooms edit A-101 --calendar" in err
    code, _, err = run(capsys, "rooms", "edit", "A-101", "--calendar", "ftp://example.org/x.ics", *db)
    assert code == 2 and "not an http(s) ICS URL" in err
    with IcsServer() as ics:
        ics.serve(_weekly_from_tomorrow())
        code, out, err = run(capsys, "rooms", "edit", "A-101", "--calendar", ics.url, "--record", "timetable", *db)
        assert code == 0, err
        # 9 days: the weekly lecture's second time (tomorrow + 7 at 10:15) is inside whatever the hour now (with 8
        # days it fell outside before 10:15, and the test failed every morning).
        code, out, err = run(capsys, "calendar", "check", "A-101", "--days", "9", *db)
        assert code == 0, err
        assert "3 lecture(s) in the next 9 days" in out
        assert out.count("Algebra: Groups & Rings") == 2 and "Dr. Noether" in out
        assert "not recorded: category 'no-recording'" in out and "Biology" not in out
        code, out, _ = run(capsys, "calendar", "check", "A-101", "--days", "9", "--json", *db)
        assert [o["title"] for o in json.loads(out)] == ["Algebra: Groups & Rings", "Exam", "Algebra: Groups & Rings"]
        # The rows come from a refresh (the running recorder does it every calendar.refresh).
        settings = load_settings(overrides={"database.url": url})
        database = Database(url)
        try:
            [r] = refresh.refresh_all(database, settings, "node-1")
        finally:
            database.dispose()
        assert not r.error
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).astimezone().strftime("%Y-%m-%d")
        code, out, err = run(capsys, "lectures", "list", "--day", tomorrow, "--json", *db)
        assert code == 0, err
        rows = json.loads(out)
        assert [(r["title"], r["state"]) for r in rows] == [("Algebra: Groups & Rings", "scheduled"),
                                                            ("Exam", "skipped")]
        code, out, err = run(capsys, "lectures", "show", str(rows[0]["id"]), *db)
        assert code == 0 and "state: scheduled" in out and "event: algebra@uni (occurrence" in out
        code, _, err = run(capsys, "lectures", "redo", str(rows[0]["id"]), *db)
        assert code == 2 and "only a delivered, incomplete or assembling lecture can be redone" in err
        code, _, err = run(capsys, "lectures", "show", "999", *db)
        assert code == 2 and "no lecture with id 999" in err
    # The server gone: `calendar check` says so in one line, exit 1.
    assert run(capsys, "rooms", "edit", "A-101", "--calendar", closed_url() + "t.ics", *db)[0] == 0
    code, _, err = run(capsys, "calendar", "check", "A-101", *db)
    assert code == 1 and "cannot reach calendar http://127.0.0.1:" in err


def test_rooms_list_shows_each_rooms_calendar_masked_its_location_and_record_mode(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = ("--database-url", f"sqlite:///{tmp_path / 'nvr.sqlite3'}")
    key = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    google = f"https://calendar.google.com/calendar/ical/lect%40uni.example/private-{key}/basic.ics"
    ics = tmp_path / "B-2.ics"
    ics.write_bytes(_weekly_from_tomorrow())
    for name in ("A-101", "B-2", "C-3"):
        assert run(capsys, "rooms", "add", name, *db)[0] == 0
    assert run(capsys, "rooms", "edit", "A-101", "--calendar", google, "--calendar-location", "Hall A",
               "--record", "timetable", *db)[0] == 0
    assert run(capsys, "rooms", "edit", "B-2", "--calendar", str(ics), *db)[0] == 0
    code, out, err = run(capsys, "rooms", "list", "--json", *db)
    assert code == 0, err
    assert [(r["name"], r["calendar"], r["calendar_location"], r["record"]) for r in json.loads(out)] == [
        ("A-101", "https://calendar.google.com/calendar/ical/lect%40uni.example/private-***/basic.ics", "Hall A",
         "timetable"),
        ("B-2", str(ics), None, "continuous"),
        ("C-3", None, None, "continuous")]
    code, out, err = run(capsys, "rooms", "list", *db)
    assert code == 0, err
    assert key not in out
    header, *lines = out.splitlines()
    assert header.split()[-4:] == ["CALENDAR", "CALENDAR", "LOCATION", "RECORD"]
    a_101, b_2, c_3 = (next(line for line in lines if line.startswith(n)) for n in ("A-101", "B-2", "C-3"))
    assert "private-***/basic.ics" in a_101 and "Hall A" in a_101 and a_101.rstrip().endswith("timetable")
    # With no location of its own a room's events are those whose LOCATION names the room: shown as such.
    assert b_2.split()[-3:] == [str(ics), "B-2", "continuous"]
    assert c_3.rstrip().endswith("continuous") and "ics" not in c_3
    # A calendar nobody answers for: the error names the calendar, never its key.
    refused = closed_url() + f"calendar/ical/lect%40uni.example/private-{key}/basic.ics"
    assert run(capsys, "rooms", "edit", "C-3", "--calendar", refused, *db)[0] == 0
    code, out, err = run(capsys, "calendar", "check", "C-3", *db)
    assert code != 0 and "private-***/basic.ics" in err and key not in out + err
