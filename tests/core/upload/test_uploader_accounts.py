"""Several Google accounts and Drive's daily cap, end to end: the real client against the Drive test server
enforcing a small cap per account (its day is the test's clock), real SQLite, real upload threads."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import DriveUsage, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.status import QueueStatus
from nvr_console.core.upload.uploader import Uploader
from tests.core.upload.conftest import KIB256, Rec, drive_files, fast_uploader, later, row, statuses, wait_all_uploaded
from tests.support.drive_server import DriveServer
from tests.support.drive_token import write_fresh_token

Start = Callable[[Uploader], Uploader]
TOKENS = {"default": "ya29.token-of-default", "campus2": "ya29.token-of-campus2"}
FILE = 3 * KIB256 + 1234  # four chunks of 256 KiB (the last one short)


@pytest.fixture
def two_accounts(tmp_path: Path, db: Database, drive_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Rooms A-101 on account "default" and B-202 on "campus2", each signed in with its own token."""
    paths = {}
    for name, token in TOKENS.items():
        paths[name] = tmp_path / "tokens" / f"{name}.json"
        write_fresh_token(paths[name], token)
    catalog.add_room(db, "A-101")
    catalog.add_room(db, "B-202")
    catalog.edit_room(db, "B-202", drive_account="campus2", accounts=("default", "campus2"))

    def make(**extra: Any) -> Settings:
        return drive_settings(**{
            "drive.credentials": "", "drive.token": str(paths["default"]),
            "drive.accounts": json.dumps({"campus2": {"token": str(paths["campus2"])}}), "drive.cap_probe_every": "1s",
            **extra})

    return make


def counted(db: Database) -> dict[str, int]:
    """What the uploaders counted per account, every day together."""
    with db.session() as s:
        return {a: int(n) for a, n in s.execute(
            select(DriveUsage.account, func.sum(DriveUsage.bytes)).group_by(DriveUsage.account))}


def sent_once_each(drive: DriveServer, recs: list[Rec]) -> None:
    """Every recording is on Drive exactly once, byte-identical, and each went up in one upload session."""
    files = drive_files(drive)
    assert sorted(f["md5Checksum"] for f in files) == sorted(r.md5 for r in recs)
    for r in recs:
        assert drive.file_bytes(next(f["id"] for f in files if f["md5Checksum"] == r.md5)) == r.data
    names = [s["name"] for s in drive.sessions()]
    assert len(names) == len(set(names)) == len(recs), names


def accounts_used(drive: DriveServer) -> dict[str, set[str]]:
    """File name -> the bearer tokens its upload session was opened and fed with."""
    by_session = {s["id"]: s["name"] for s in drive.sessions()}
    out: dict[str, set[str]] = {}
    for r in drive.requests():
        if r.get("session") in by_session and r["kind"] in ("create_session", "upload_chunk"):
            out.setdefault(by_session[r["session"]], set()).add(r["authorization"])
    return out


def test_the_capped_account_alone_waits_and_resumes_soon_after_the_cap_lifts(
    qtbot: Any, db: Database, drive: DriveServer, two_accounts: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    # The cap lets "default" take one file and two chunks a day: its second file stops half-way on day 0, the
    # rest fits in day 1.
    drive.set_daily_cap(FILE + 2 * KIB256)
    a = [make_recording(room="A-101", camera="front", slot=later(30 * i)) for i in range(3)]
    up = fast_uploader(two_accounts(**{"upload.workers": 1}), db)
    queue_st: list[QueueStatus] = []
    up.queue_status.connect(queue_st.append)
    started(up)
    qtbot.waitUntil(lambda: "default" in up.held_accounts(), timeout=20000)
    # The queue is not paused; it says which account waits and why.
    qtbot.waitUntil(lambda: any(not q.paused and "Google account default" in q.accounts_waiting for q in queue_st),
                    timeout=20000)
    why = up.held_accounts()["default"]
    assert "default" in why and "750 GB/day" in why
    assert up.is_paused() == (False, "")  # campus2 still uploads: the queue is not paused
    # While default waits, campus2's files go up (made now: they are the only work left).
    b = [make_recording(room="B-202", camera="front")]
    up.wake()
    qtbot.waitUntil(lambda: all(row(db, r.id).status == "uploaded" for r in b), timeout=20000)
    # Tries again every drive.cap_probe_every (1 s here), and is refused as long as the day lasts.
    refused = sum(1 for r in drive.requests() if r.get("status") == 403)
    qtbot.waitUntil(lambda: sum(1 for r in drive.requests() if r.get("status") == 403) >= refused + 2, timeout=20000)
    st = statuses(db)
    # The half-way file is "uploading" while a try of it is on the wire (then handed back), "ready" between.
    assert (st[a[0].id], st[a[2].id]) == ("uploaded", "ready") and st[a[1].id] in ("ready", "uploading")
    assert all(row(db, r.id).attempts == 0 for r in a)  # waiting for the cap costs a file nothing
    half = row(db, a[1].id)
    assert half.upload_session_uri and half.bytes_confirmed == 2 * KIB256  # its session kept for later
    assert "default" in up.held_accounts()

    drive.next_day()  # Drive's day turns: the cap lifts
    wait_all_uploaded(qtbot, db, timeout_ms=20000)
    assert up.held_accounts() == {}
    sent_once_each(drive, a + b)
    used = accounts_used(drive)
    for r in a:
        assert used[row(db, r.id).remote_name or ""] == {f"Bearer {TOKENS['default']}"}
    for r in b:
        assert used[row(db, r.id).remote_name or ""] == {f"Bearer {TOKENS['campus2']}"}
    # What the uploader counted is what Drive kept, per account.
    server = drive.usage(every_day=True)
    assert counted(db) == {"default": server[f"Bearer {TOKENS['default']}"],
                           "campus2": server[f"Bearer {TOKENS['campus2']}"]}
    assert counted(db) == {"default": 3 * FILE, "campus2": FILE}


def test_two_accounts_share_a_day_no_file_sent_twice(
    qtbot: Any, db: Database, drive: DriveServer, two_accounts: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    """Six files, a cap of three and a bit per account: one account could not take them in a day, two can.
    Two uploaders (two processes' worth) share the queue."""
    drive.set_daily_cap(3 * FILE + KIB256)
    recs = [make_recording(room=room, camera=cam) for room in ("A-101", "B-202") for cam in ("front", "back", "side")]
    settings = two_accounts()
    for _ in range(2):
        started(fast_uploader(settings, db))
    wait_all_uploaded(qtbot, db)
    sent_once_each(drive, recs)
    server = drive.usage()
    assert all(n <= 3 * FILE + 2 * KIB256 for n in server.values()), server
    assert counted(db) == {"default": 3 * FILE, "campus2": 3 * FILE}


def test_one_account_at_the_cap_pauses_the_queue_and_resume_clears_it(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    """A single-account config (no drive.accounts): the cap holds every upload, so the queue reads paused."""
    drive.set_daily_cap(FILE)
    recs = [make_recording(slot=later(30 * i)) for i in range(2)]
    up = started(fast_uploader(drive_settings(**{"upload.workers": 1, "drive.cap_probe_every": "1h"}), db))
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    assert "750 GB/day" in up.is_paused()[1] and list(up.held_accounts()) == ["default"]
    drive.next_day()
    up.resume()
    wait_all_uploaded(qtbot, db)
    sent_once_each(drive, recs)


def test_the_forecast_alert_fires_before_drive_refuses_and_resolves_when_the_day_turns(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    """Cameras recording fast enough to pass the limit before Drive's day ends: the monitor warns while every
    upload still succeeds; the cap then comes as forecast; the next day (nothing sent, nothing recorded since)
    the alert resolves."""
    cap = 5 * FILE
    drive.set_daily_cap(cap)
    settings = drive_settings(**{"drive.daily_limit": str(cap), "drive.cap_probe_every": "1s"})
    now = datetime.now(UTC)
    # The last three hours: 10 files of 100 MB finished (uploaded before): 333 MB an hour.
    with db.session() as s:
        for i in range(10):
            end = now - timedelta(minutes=10 + 15 * i)
            path = f"/elsewhere/{i}.mp4"
            s.add(Recording(room_name="A-101", camera_name="front", slot_start=end - timedelta(minutes=15),
                            end_time=end, local_path=path, local_path_key=catalog.path_key(path),
                            status="uploaded", size=100_000_000, node="earlier"))
    first = [make_recording(camera="front", slot=later(30 * i)) for i in range(3)]
    monitor = Monitor(settings, db, channels=[])
    monitor.check()
    key = "drive_daily_limit_forecast:account:default"
    alert = next(a for a in alert_store.firing(db) if a.key == key)
    assert "reached at about" in alert.summary and "drive.daily_limit" in alert.summary
    up = started(fast_uploader(settings, db))
    wait_all_uploaded(qtbot, db)
    assert not any(r.get("status") == 403 for r in drive.requests())  # warned, and no refusal yet
    # The cameras go on: the cap comes as forecast.
    more = [make_recording(camera="back", slot=later(30 * i)) for i in range(3)]
    up.wake()
    qtbot.waitUntil(lambda: "default" in up.held_accounts(), timeout=20000)
    monitor.check()
    assert [a.id for a in alert_store.firing(db) if a.key == key] == [alert.id]  # the one, opened before
    drive.next_day()
    wait_all_uploaded(qtbot, db)
    sent_once_each(drive, first + more)
    # Drive's next day, as the product counts it: nothing sent yet, nothing recorded in the window.
    with db.session() as s:
        s.execute(delete(DriveUsage))
        s.execute(delete(Recording).where(Recording.node == "earlier"))
        s.execute(update(Recording).values(end_time=now - timedelta(days=1)))
    monitor.check()
    assert not any(a.key == key for a in alert_store.firing(db))
