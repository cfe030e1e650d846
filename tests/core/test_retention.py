"""Retention: local files of VERIFIED uploads only; never an unverified recording, whatever the disk says."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog, retention
from nvr_console.core.config import Settings
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _rec(db: Database, tmp_path: Path, status: str, minutes_ago: int, *, md5: str | None = "ab" * 16,
         uploaded_minutes_ago: int | None = None, size: int = 1000, node: str = "") -> tuple[int, Path]:
    path = tmp_path / "recordings" / f"{status}-{minutes_ago}-{os.urandom(2).hex()}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    slot = NOW - timedelta(minutes=minutes_ago)
    with db.session() as s:
        r = Recording(
            room_name="A", camera_name="c", slot_start=slot, local_path=str(path), node=node,
            local_path_key=catalog.path_key(str(path)), status=status, size=size, md5=md5,
            uploaded_at=(NOW - timedelta(minutes=uploaded_minutes_ago)) if uploaded_minutes_ago is not None else None,
        )
        s.add(r)
        s.flush()
        return r.id, path


def _every_status(db: Database, tmp_path: Path, node: str = "") -> dict[str, tuple[int, Path]]:
    """One row of each unverified status, all old, plus an uploaded-but-md5-less row (never verified)."""
    rows = {s.value: _rec(db, tmp_path, s.value, 600, uploaded_minutes_ago=600, node=node)
            for s in RecordingStatus if s is not RecordingStatus.UPLOADED}
    rows["uploaded-without-md5"] = _rec(db, tmp_path, "uploaded", 600, md5=None, uploaded_minutes_ago=600, node=node)
    return rows


def test_delete_after_removes_only_verified_copies_old_enough(
    db: Database, tmp_path: Path, settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(**{"retention.delete_after": "1h", "retention.min_free_space": "0"})
    old_id, old = _rec(db, tmp_path, "uploaded", 300, uploaded_minutes_ago=90)
    new_id, new = _rec(db, tmp_path, "uploaded", 30, uploaded_minutes_ago=10)
    keep = _every_status(db, tmp_path)
    report = retention.sweep(settings, db, now=NOW)
    assert report.deleted == [old_id] and report.freed_bytes == 1000
    assert not old.exists() and new.exists()
    assert all(p.exists() for _, p in keep.values())
    with db.session() as s:
        assert s.get(Recording, old_id).local_deleted_at is not None  # type: ignore[union-attr]
        assert s.get(Recording, new_id).local_deleted_at is None  # type: ignore[union-attr]
    # A second sweep has nothing left to do.
    assert retention.sweep(settings, db, now=NOW).deleted == []


def test_keep_forever_unless_the_disk_runs_low_then_oldest_verified_first_and_a_loud_warning(
    db: Database, tmp_path: Path, settings_factory: Callable[..., Settings], caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_factory(**{"retention.delete_after": "never", "retention.min_free_space": "3000"})
    oldest = _rec(db, tmp_path, "uploaded", 300, uploaded_minutes_ago=200)
    middle = _rec(db, tmp_path, "uploaded", 200, uploaded_minutes_ago=100)
    newest = _rec(db, tmp_path, "uploaded", 100, uploaded_minutes_ago=50)
    keep = _every_status(db, tmp_path)
    assert retention.sweep(settings, db, now=NOW, free_bytes=lambda p: 10_000).deleted == []  # plenty of space

    # Free space = 1000 + what was deleted: two verified files make it.
    def free(_: Path) -> int:
        return 1000 + sum(1000 for _, p in (oldest, middle, newest) if not p.exists())

    report = retention.sweep(settings, db, now=NOW, free_bytes=free)
    assert report.deleted == [oldest[0], middle[0]] and newest[1].exists()
    assert report.warnings == []
    # Still short after every verified copy is gone: warn loudly, delete nothing unverified.
    report = retention.sweep(settings, db, now=NOW, free_bytes=lambda p: 10)
    assert report.deleted == [newest[0]]
    assert report.warnings and "DISK NEARLY FULL" in report.warnings[0] and "not uploaded yet" in report.warnings[0]
    assert "DISK NEARLY FULL" in caplog.text
    assert all(p.exists() for _, p in keep.values())


@pytest.mark.parametrize("status", [s.value for s in RecordingStatus if s is not RecordingStatus.UPLOADED])
def test_never_deletes_an_unverified_recording(
    status: str, db: Database, tmp_path: Path, settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(**{"retention.delete_after": "0", "retention.min_free_space": "1TiB"})
    rid, path = _rec(db, tmp_path, status, 10_000, uploaded_minutes_ago=10_000)
    assert retention.delete_local_copy(db, rid) == 0
    report = retention.sweep(settings, db, now=NOW, free_bytes=lambda p: 0)
    assert report.deleted == [] and path.exists() and report.warnings


def test_free_space_deletes_verified_copies_oldest_first_down_to_its_target_and_nothing_else(
    db: Database, tmp_path: Path, settings_factory: Callable[..., Settings],
) -> None:
    first = _rec(db, tmp_path, "uploaded", 300, uploaded_minutes_ago=200, node="here")
    second = _rec(db, tmp_path, "uploaded", 200, uploaded_minutes_ago=100, node="here")
    third = _rec(db, tmp_path, "uploaded", 100, uploaded_minutes_ago=50, node="here")
    # Another node's verified copy, older than all: its file is on that node's disk, never deleted from here.
    theirs = _rec(db, tmp_path, "uploaded", 900, uploaded_minutes_ago=800, node="there")
    keep = _every_status(db, tmp_path, node="here")
    verified = (first, second, third)

    def free(_: Path) -> int:
        return 500 + sum(1000 for _, p in verified if not p.exists())

    done = retention.free_space(db, tmp_path, 2000, "here", free_bytes=free)
    assert (done.free_before, done.free_after, done.freed_bytes) == (500, 2500, 2000)
    assert done.deleted == (first[0], second[0])
    assert not done.short and done.waiting == 0 and third[1].exists()
    done = retention.free_space(db, tmp_path, 10_000, "here", free_bytes=free)
    assert done.deleted == (third[0],) and done.short and theirs[1].exists()
    unverified = len(keep) - 1  # every status but uploaded (the md5-less uploaded row is kept, not counted)
    assert done.waiting == unverified and done.waiting_bytes == 1000 * unverified
    assert all(p.exists() for _, p in keep.values())
    # The space rule is the engine's when it runs one: its uploader's sweep leaves it alone.
    settings = settings_factory(**{"retention.delete_after": "never", "retention.min_free_space": "1TiB"})
    assert retention.sweep(settings, db, now=NOW, free_bytes=lambda p: 0, space=False).warnings == []
