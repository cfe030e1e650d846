"""Drive's daily budget: the per-account, per-Pacific-day counter and the forecast figures it feeds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.upload import drive_usage

# 2026-12-07 07:59:59 UTC is 23:59:59 on the 6th in Los Angeles (PST, UTC-8); one second later the 7th begins.
PST_MIDNIGHT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("seconds", range(-3, 4))
def test_the_drive_day_is_the_pacific_date_every_second_around_its_midnight(seconds: int) -> None:
    at = PST_MIDNIGHT + timedelta(seconds=seconds)
    assert drive_usage.drive_day(at) == (date(2026, 12, 6) if seconds < 0 else date(2026, 12, 7))
    assert drive_usage.day_ends_at(at) == (PST_MIDNIGHT if seconds < 0 else PST_MIDNIGHT + timedelta(days=1))


def test_the_drive_day_follows_daylight_saving() -> None:
    # Summer (PDT, UTC-7): the day turns at 07:00 UTC.
    turn = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert drive_usage.drive_day(turn - timedelta(seconds=1)) == date(2026, 6, 30)
    assert drive_usage.drive_day(turn) == date(2026, 7, 1)


def test_counts_per_account_and_day(db: Database) -> None:
    drive_usage.add(db, "default", 100, PST_MIDNIGHT - timedelta(seconds=1))
    drive_usage.add(db, "default", 5, PST_MIDNIGHT)
    drive_usage.add(db, "default", 7, PST_MIDNIGHT + timedelta(hours=5))
    drive_usage.add(db, "campus2", 11, PST_MIDNIGHT)
    drive_usage.add(db, "campus2", 0, PST_MIDNIGHT)  # nothing sent: no row
    assert drive_usage.used_today(db, PST_MIDNIGHT - timedelta(hours=1)) == {"default": 100}
    assert drive_usage.used_today(db, PST_MIDNIGHT) == {"default": 12, "campus2": 11}


WRITER = """
import sys
from datetime import datetime
from nvr_console.core.db.session import Database
from nvr_console.core.upload import drive_usage
db = Database(sys.argv[1])
at = datetime.fromisoformat(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # both start together
for i in range(int(sys.argv[2])):
    drive_usage.add(db, "default" if i % 2 else "campus2", 1000 + i, at)
db.dispose()
"""


def _two_writers(url: str, n: int, at: datetime) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(n), at.isoformat()], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3])
             for _ in range(2)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        assert p.wait(timeout=240) == 0


@pytest.mark.parametrize("n", [200])
def test_two_processes_adding_at_once_lose_no_increment(any_db_url: str, n: int) -> None:
    """The first increments of a new day race to create its row: one INSERT wins, the other adds to it."""
    database = Database(any_db_url)
    prepare_database(database)
    try:
        _two_writers(any_db_url, n, PST_MIDNIGHT)
        per_process = {"campus2": sum(1000 + i for i in range(n) if i % 2 == 0),
                       "default": sum(1000 + i for i in range(n) if i % 2)}
        assert drive_usage.used_today(database, PST_MIDNIGHT) == {k: 2 * v for k, v in per_process.items()}
    finally:
        database.dispose()


def _recording(db: Database, room: str, end: datetime, size: int, status: str, confirmed: int = 0) -> None:
    with db.session() as s:
        s.add(Recording(room_name=room, camera_name="front", slot_start=end - timedelta(minutes=30),
                        end_time=end, local_path=f"/r/{room}/{end:%H%M%S}-{size}.mp4",
                        local_path_key=catalog.path_key(f"/r/{room}/{end:%H%M%S}-{size}.mp4"), status=status,
                        size=size, bytes_confirmed=confirmed, node="n1"))


def test_budgets_split_rate_waiting_and_usage_by_the_rooms_account(
    any_db_url: str, settings_factory: Callable[..., Settings], tmp_path: Path,
) -> None:
    db = Database(any_db_url)
    prepare_database(db)
    try:
        _budgets(db, settings_factory, tmp_path)
    finally:
        db.dispose()


def _budgets(db: Database, settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    settings = settings_factory(**{
        "drive.accounts": '{"campus2": {"token": "%s"}}' % (tmp_path / "c2.json"), "drive.daily_limit": "10MB"})
    catalog.add_room(db, "A-101")
    catalog.add_room(db, "B-202")
    catalog.edit_room(db, "B-202", drive_account="campus2")
    now = PST_MIDNIGHT + timedelta(hours=10)
    # A-101 (default): 3 MB finished in the last 3 hours (1 MB/h), 1 MB older (outside the window).
    for h, st in ((0.5, "uploaded"), (1.5, "ready"), (2.5, "uploading")):
        _recording(db, "A-101", now - timedelta(hours=h), 1_000_000, st, confirmed=250_000 if st == "uploading" else 0)
    _recording(db, "A-101", now - timedelta(hours=4), 1_000_000, "uploaded")
    # B-202 (campus2): 6 MB in the window, a failed file not counted.
    _recording(db, "B-202", now - timedelta(hours=1), 6_000_000, "uploaded")
    _recording(db, "B-202", now - timedelta(hours=1), 9_000_000, "failed")
    drive_usage.add(db, "default", 2_000_000, now)
    drive_usage.add(db, "campus2", 9_000_000, now)
    by = {b.account: b for b in drive_usage.budgets(settings, db, now)}
    assert list(by) == ["default", "campus2"]
    d, c = by["default"], by["campus2"]
    assert (d.uploaded, d.waiting, d.rate_per_hour, d.limit) == (2_000_000, 1_750_000, 1_000_000.0, 10_000_000)
    assert (c.uploaded, c.waiting, c.rate_per_hour) == (9_000_000, 0, 2_000_000.0)
    # default: 10 - 2 - 1.75 = 6.25 MB left at 1 MB/h: reached 6 h 15 min from now, before the day ends.
    assert d.reached_at(now) == now + timedelta(hours=6.25)
    # campus2: 1 MB left at 2 MB/h: half an hour.
    assert c.reached_at(now) == now + timedelta(minutes=30)
    late = PST_MIDNIGHT + timedelta(hours=20)  # 4 h left in the day: default's 6.25 h do not fit
    assert drive_usage.AccountBudget("default", 2_000_000, 1_750_000, 1e6, 10_000_000,
                                     drive_usage.day_ends_at(late)).reached_at(late) is None
    assert drive_usage.AccountBudget("x", 9_000_000, 2_000_000, 0.0, 10_000_000,
                                     drive_usage.day_ends_at(late)).reached_at(late) == late
