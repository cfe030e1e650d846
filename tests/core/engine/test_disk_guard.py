"""The disk guard on a real small disk (a tmpfs the test mounts) with real FFmpeg demo cameras at about
2 Mbit/s each, the rate that filled a disk between two 60 s retention checks.

- With verified copies to delete, recording never stops: no camera fails, no gap between files beyond one
  segment, every segment is finalized, and only verified copies are ever deleted.
- With nothing to delete, the warning says when the disk will be full before it is; a camera the full
  disk stopped starts again as soon as verified copies make room, not at its 30 s retry.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.recording import lifecycle
from nvr_console.core.recording.restart_backoff import FAILED_RETRY_S
from nvr_console.core.status import CameraState, CameraStatus
from tests.core.engine_support import Collected, wait_until
from tests.support.small_disk import small_disk

MiB = 1024**2
SEGMENT_S = 2
# testsrc2 at 640x360 through the demo camera's x264 settings: about 1.9 Mbit/s (240 KB/s), ~0.5 MB a segment.
CAMERA_URL = "lavfi:testsrc2=size=640x360:rate=25;sine=frequency=440:sample_rate=16000"
DISK_FULL = "The recordings disk is full"

pytestmark = pytest.mark.slow


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _rows(db: Database) -> list[Recording]:
    with db.session() as s:
        rows = list(s.scalars(select(Recording).order_by(Recording.camera_name, Recording.slot_start)))
        s.expunge_all()
    return rows


def _engine(settings: Settings) -> tuple[Database, EngineHost, Collected]:
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    for name in ("a", "b"):
        catalog.add_camera(db, "R", name, CAMERA_URL)
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    return db, host, got


def _disk_full(statuses: list[CameraStatus]) -> list[CameraStatus]:
    return [s for s in statuses if DISK_FULL in s.last_error]


def _assert_only_verified_copies_went(db: Database, archive: Path | None = None) -> int:
    """Every row's file is on disk, or the row was uploaded and verified and its copy matches. Returns how many
    local copies went."""
    gone = 0
    for row in _rows(db):
        final = Path(row.local_path)
        if final.exists():
            assert row.local_deleted_at is None, row.local_path
            continue
        raw = final.parent.parent / f"{final.parent.name}_{final.stem}.mkv"
        if row.status is RecordingStatus.FAILED and raw.exists():
            continue  # kept with its reason
        if row.status is RecordingStatus.FAILED and "empty segment" in (row.notes or ""):
            continue  # a header with no packet: not a recording
        assert row.status is RecordingStatus.UPLOADED and row.md5 and row.local_deleted_at is not None, (
            f"{row.local_path} is gone but was never verified: {row.status} {row.notes!r}")
        if archive is not None:
            copy = Path(unquote(urlparse(row.web_link or "").path))
            assert copy.is_relative_to(archive) and _md5(copy) == row.md5 and copy.stat().st_size == row.size
        gone += 1
    return gone


def test_verified_copies_make_room_so_recording_never_stops(
    settings_factory: Callable[..., Settings], tmp_path: Path, qapp: object
) -> None:
    # 12 MiB: at ~0.5 MB/s the two cameras fill it in about 25 s. The 60 s timer let them; the guard does not.
    # min_free_space is tiny on purpose: what keeps the finalizer's room is the guard's reserve.
    with small_disk(tmp_path / "disk", 12 * MiB) as disk:
        settings = settings_factory(**{
            "recording.dir": disk / "recordings", "recording.segment_length": str(SEGMENT_S),
            "upload.destination": "local", "retention.delete_after": "never", "retention.min_free_space": "64KiB",
        })
        db, host, got = _engine(settings)
        host.start()
        try:
            # Until the cameras have written twice the disk (about 50 s).
            def written() -> int:
                return sum(r.size or 0 for r in _rows(db) if r.status is not RecordingStatus.FAILED)

            assert wait_until(lambda: written() > 24 * MiB or bool(_disk_full(got.statuses)), 150, 1.0), \
                f"{written()} bytes after 150 s"
        finally:
            assert host.stop(30)
        assert not _disk_full(got.statuses), _disk_full(got.statuses)[0].last_error
        assert not [x.text for x in got.logs if "No space left" in x.text]
        cams = {c.name: c.id for c in catalog.list_cameras(db)}
        for cid in cams.values():
            states = got.states(cid)
            first = states.index(CameraState.RECORDING)
            assert set(states[first:]) <= {CameraState.RECORDING, CameraState.STOPPING, CameraState.STOPPED}, states
        rows = _rows(db)
        assert not [r for r in rows if r.status is RecordingStatus.FAILED and "empty segment" not in r.notes], \
            [(r.local_path, r.notes) for r in rows if r.status is RecordingStatus.FAILED]
        # No gap beyond one segment between a camera's files, from its first file to its last.
        for name in cams:
            done = sorted((r for r in rows if r.camera_name == name and r.start_time is not None),
                          key=lambda r: r.start_time)  # type: ignore[arg-type,return-value]
            assert len(done) >= 10, name
            for before, after in itertools.pairwise(done):
                assert before.end_time is not None and after.start_time is not None
                gap = (after.start_time - before.end_time).total_seconds()
                assert gap <= SEGMENT_S, (name, before.local_path, after.local_path, gap)
        gone = _assert_only_verified_copies_went(db, settings.upload.local_dir)
        assert gone >= 10  # the disk held about half of what was recorded: the guard made room again and again
        assert not list((disk / "recordings").rglob("*.mkv"))  # every segment finalized
        assert any("verified local cop" in x.text for x in got.logs)
        db.dispose()


def test_nothing_to_free_warns_before_full_then_restarts_cameras_as_soon_as_there_is_room(
    settings_factory: Callable[..., Settings], tmp_path: Path, qapp: object
) -> None:
    archive = tmp_path / "verified"  # where this test's "uploads" go: off the small disk
    with small_disk(tmp_path / "disk", 16 * MiB) as disk:
        settings = settings_factory(**{
            "recording.dir": disk / "recordings", "recording.segment_length": str(SEGMENT_S),
            "upload.destination": "none", "retention.delete_after": "never", "retention.min_free_space": "8MiB",
        })
        db, host, got = _engine(settings)
        host.start()
        try:
            # Uploads are behind (none at all): under 8 MiB free the guard has nothing to delete and says when
            # the disk will be full, while it is not.
            assert wait_until(lambda: any("DISK NEARLY FULL" in x.text for x in got.logs), 60, 0.2)
            free_at_warning = shutil.disk_usage(disk).free
            warning = next(x for x in got.logs if "DISK NEARLY FULL" in x.text)
            assert free_at_warning > 4 * MiB and not _disk_full(got.statuses), warning.text
            m = re.search(r"full in about (\d+) (s|min) at (\d+\.\d) Mbit/s", warning.text)
            assert m, warning.text
            assert int(m[1]) > 0 and 2.0 <= float(m[3]) <= 6.0  # two cameras at about 2 Mbit/s each
            assert "not uploaded yet and are kept" in warning.text
            # The console's disk figure says the same: short of what is kept free.
            assert wait_until(lambda: any(d.short and d.keep >= 8 * MiB for d in got.disk), 10, 0.2), got.disk[-3:]

            # The disk fills: both cameras fail, saying so.
            cams = {c.name: c.id for c in catalog.list_cameras(db)}
            assert wait_until(lambda: all(any(s.state is CameraState.FAILED and DISK_FULL in s.last_error
                                                  for s in got.statuses if s.camera_id == cid)
                                              for cid in cams.values()), 90, 0.2)
            assert warning.time < min(s.since for s in _disk_full(got.statuses))  # the forecast came first
            assert wait_until(lambda: any("DISK FULL:" in x.text and "stopped recording" in x.text
                                          for x in got.logs), 10, 0.2)
            failed_at = {cid: max(s.since for s in got.statuses if s.camera_id == cid
                                  and s.state is CameraState.FAILED) for cid in cams.values()}

            # Uploads catch up: the finished files are verified (copied off the disk, MD5 from the copy).
            archive.mkdir()
            now = datetime.now(UTC)
            for row in _rows(db):
                if row.status is not RecordingStatus.READY:
                    continue
                copy = archive / f"{row.id}.mp4"
                shutil.copyfile(row.local_path, copy)
                assert lifecycle.claim_upload(db, row.id, now=now, lease_until=now + timedelta(minutes=5),
                                              node="test")
                assert lifecycle.mark_uploaded(db, row.id, destination="local", file_id=None, folder_id=None,
                                               web_link=copy.as_uri(), folder_link=None, md5=_md5(copy),
                                               size=copy.stat().st_size)
            # The guard deletes them and starts both cameras at once, well before their 30 s retry.
            assert wait_until(lambda: all(got.latest(cid).state is CameraState.RECORDING  # type: ignore[union-attr]
                                          for cid in cams.values()), 30, 0.2)
            for cid in cams.values():
                back = got.latest(cid)
                assert back is not None and back.since - failed_at[cid] < FAILED_RETRY_S - 5, back
            assert any("recording starts now" in x.text for x in got.logs)
            # The segments whose MP4 found no room when the disk filled are finalized now that there is.
            with got.lock:
                no_room = {e.recording_id for e in got.finished if "no room on the disk" in e.notes}
            assert no_room

            def finalized() -> bool:
                return all(r.status in (RecordingStatus.READY, RecordingStatus.UPLOADED)
                           for r in _rows(db) if r.id in no_room)

            assert wait_until(finalized, 30, 0.5), [(r.id, r.status, r.notes) for r in _rows(db) if r.id in no_room]
        finally:
            assert host.stop(30)
        # Only copies verified here went; every other file (finished MP4, or raw segment kept because the full
        # disk left no room to finalize it) is still on the disk.
        assert _assert_only_verified_copies_went(db, archive) > 0
        assert [r for r in _rows(db) if r.status is not RecordingStatus.UPLOADED and Path(r.local_path).exists()]
        db.dispose()
