"""Google Drive's daily upload budget: bytes sent per account per Drive day, and the forecast of when a day's
uploads reach `drive.daily_limit`.

Drive takes at most 750 GB of uploads per account a day; its day is Pacific time (America/Los_Angeles). Every
node sharing the database adds what it sent to one row per (account, day) with a single
`bytes = bytes + n` upsert (ON DUPLICATE KEY UPDATE on MariaDB, ON CONFLICT on SQLite), so concurrent writers
never lose an increment. Functions run on the calling thread with their own short sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT, Settings
from nvr_console.core.db.models import DriveUsage, Recording, RecordingStatus, Room
from nvr_console.core.db.session import Database
from nvr_console.core.db.types import utcnow

DRIVE_ZONE = ZoneInfo("America/Los_Angeles")
# Recording rate: what finished in this window, per hour. Three hours holds several files of every camera
# (30-minute segments) without lagging a change of the day's load for long.
RATE_WINDOW = timedelta(hours=3)
_LONGEST_SEGMENT = timedelta(days=1)  # recording.segment_length's upper bound
# Files that were or will be uploaded (not failed, not lost).
_COUNTED = [RecordingStatus.FINALIZING, RecordingStatus.READY, RecordingStatus.UPLOADING, RecordingStatus.UPLOADED]


def drive_day(at: datetime | None = None) -> date:
    """The Drive day (Pacific date) of `at` (default now)."""
    return (at or utcnow()).astimezone(DRIVE_ZONE).date()


def day_ends_at(at: datetime | None = None) -> datetime:
    """When the Drive day of `at` ends (the next Pacific midnight), as an aware datetime."""
    day = drive_day(at)
    return datetime.combine(day + timedelta(days=1), time(0), DRIVE_ZONE)


def room_account(room_name: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The account a room's files upload with: its `drive_account`, else "default" (also for a room no
    longer in the catalogue)."""
    sub = select(Room.drive_account).where(Room.name == room_name).limit(1).scalar_subquery()
    return func.coalesce(sub, DEFAULT_DRIVE_ACCOUNT)


def add(db: Database, account: str, n: int, at: datetime | None = None) -> None:
    """Count `n` bytes sent to Drive by `account` (on the Drive day of `at`): one atomic upsert."""
    if n <= 0:
        return
    now = utcnow()
    values = {"account": account, "day": drive_day(at), "bytes": n, "updated_at": now}
    with db.session() as s:
        if s.get_bind().dialect.name in ("mysql", "mariadb"):
            my = mysql.insert(DriveUsage).values(**values)
            s.execute(my.on_duplicate_key_update(bytes=DriveUsage.bytes + my.inserted.bytes, updated_at=now))
        else:
            lite = sqlite.insert(DriveUsage).values(**values)
            s.execute(lite.on_conflict_do_update(
                index_elements=[DriveUsage.account, DriveUsage.day],
                set_={"bytes": DriveUsage.bytes + lite.excluded.bytes, "updated_at": now}))


def used_today(db: Database, at: datetime | None = None) -> dict[str, int]:
    """account -> bytes sent on the Drive day of `at` (default today), every node's together."""
    with db.session() as s:
        return {a: int(b) for a, b in s.execute(
            select(DriveUsage.account, DriveUsage.bytes).where(DriveUsage.day == drive_day(at)))}


@dataclass(frozen=True)
class AccountBudget:
    """One account's day: what was sent, what waits, how fast the cameras assigned to it record."""

    account: str
    uploaded: int  # bytes sent today (Drive's day)
    waiting: int  # bytes of finished files not yet sent (they go today if uploads keep up)
    rate_per_hour: float  # bytes recorded per hour by its rooms' cameras (RATE_WINDOW)
    limit: int  # drive.daily_limit
    day_ends: datetime  # the next Pacific midnight

    def reached_at(self, now: datetime) -> datetime | None:
        """When today's uploads reach the limit at this rate (now when sent + waiting already do), or None when
        they stay under it until the day ends."""
        left = self.limit - self.uploaded - self.waiting
        if left <= 0:
            return now
        if self.rate_per_hour <= 0:
            return None
        at = now + timedelta(hours=left / self.rate_per_hour)
        return at if at < self.day_ends else None

    def as_dict(self, now: datetime) -> dict[str, object]:
        reached = self.reached_at(now)
        return {"account": self.account, "uploaded_today": self.uploaded, "daily_limit": self.limit,
                "waiting": self.waiting, "recorded_per_hour": round(self.rate_per_hour),
                "drive_day_ends": self.day_ends.isoformat(),
                "limit_reached_at": reached.isoformat() if reached is not None else None}


def budgets(settings: Settings, db: Database, now: datetime | None = None) -> list[AccountBudget]:
    """Every configured account's budget for the Drive day of `now` (plus any account a room names or the
    database counted today that is not configured), bounded reads over the whole database."""
    now = now or utcnow()
    since = now - RATE_WINDOW
    with db.session() as s:
        used = {a: int(b) for a, b in s.execute(
            select(DriveUsage.account, DriveUsage.bytes).where(DriveUsage.day == drive_day(now)))}
        acct = room_account(Recording.room_name)
        waiting = {a: int(b or 0) - int(c or 0) for a, b, c in s.execute(
            select(acct, func.sum(Recording.size), func.sum(Recording.bytes_confirmed))
            .where(Recording.status.in_([RecordingStatus.READY, RecordingStatus.UPLOADING])).group_by(acct))}
        # Bounded by the (status, slot_start) index: a file's slot starts at most a segment (24 h) before it ends.
        recorded = {a: int(b or 0) for a, b in s.execute(
            select(acct, func.sum(Recording.size))
            .where(Recording.status.in_(_COUNTED), Recording.slot_start >= since - _LONGEST_SEGMENT,
                   Recording.end_time >= since, Recording.end_time <= now, Recording.size.is_not(None))
            .group_by(acct))}
        named = {str(a) for a in s.scalars(
            select(Room.drive_account).where(Room.drive_account.is_not(None)).distinct())}
    names = list(settings.drive.account_names())
    names += sorted((set(used) | set(waiting) | set(recorded) | named) - set(names))
    hours = RATE_WINDOW.total_seconds() / 3600.0
    ends = day_ends_at(now)
    return [AccountBudget(a, used.get(a, 0), max(waiting.get(a, 0), 0), recorded.get(a, 0) / hours,
                          settings.drive.daily_limit, ends) for a in names]

