"""Upload destinations on their own (no queue, no uploader): the local archive on a real folder, and Drive
through the real google-api-python-client talking HTTP to the Drive-protocol test server."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.upload.destinations import (
    ChunkedFileUpload,
    DriveDestination,
    LocalDestination,
    Outcome,
    backoff,
    file_md5,
)
from nvr_console.core.upload.errors import FileFailed, FolderMissing, Retryable, Stopped, VerifyMismatch
from nvr_console.core.upload.folders import DriveFolders
from nvr_console.core.upload.queue import Job
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import FOLDER_MIME, DriveServer

KIB256 = 256 * 1024
SLOT = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)  # 14:30 in Europe/Moscow


class Worker:
    """What an upload worker offers a destination (destinations.Hooks): records what it is told, and stops
    when asked to (after a number of saves, or at the next check)."""

    def __init__(self, stop_after_saves: int | None = None) -> None:
        self.saves: list[tuple[str | None, int]] = []
        self.sent: list[tuple[int, int]] = []
        self.sleeps: list[float] = []
        self.stopping = False
        self._stop_after = stop_after_saves

    def save(self, session_uri: str | None, offset: int) -> None:
        self.saves.append((session_uri, offset))
        if self._stop_after is not None and len(self.saves) >= self._stop_after:
            raise Stopped("the worker is stopping")

    def progress(self, sent: int, total: int) -> None:
        self.sent.append((sent, total))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.check()

    def check(self) -> None:
        if self.stopping:
            raise Stopped("the worker is stopping")


def _file(tmp_path: Path, size: int, name: str = "14-30-00.mp4") -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "recordings" / "A-101" / "front" / "2026-11-23" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, data


def _job(path: Path, *, rid: int = 1, camera: str = "front", md5: str | None = None, size: int | None = None,
         session_uri: str | None = None, bytes_confirmed: int = 0, room_folder: str | None = None) -> Job:
    return Job(rid, None, "A-101", camera, SLOT, str(path), size, md5, session_uri, bytes_confirmed, 0, None,
               room_folder)


# --- the local archive --------------------------------------------------------------------------------


@pytest.fixture
def local_settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory(**{"upload.destination": "local", "upload.chunk_size": "256KiB",
                               "recording.timezone": "Europe/Moscow"})


def test_the_local_archive_gets_a_verified_copy_under_the_drive_names(local_settings: Settings,
                                                                      tmp_path: Path) -> None:
    path, data = _file(tmp_path, 3 * KIB256 + 10)
    worker = Worker()
    out = LocalDestination(local_settings).upload(_job(path), worker)
    folder = local_settings.upload.local_dir / "A-101" / "2026-11-23" / "14-30"
    dest = folder / "2026-11-23_14-30_A-101_front.mp4"
    assert out == Outcome("local", None, None, dest.as_uri(), folder.as_uri(), hashlib.md5(data).hexdigest(),
                          len(data))
    assert dest.read_bytes() == data and path.exists()  # a copy: the recording stays until retention says so
    assert [p.name for p in folder.iterdir()] == [dest.name]  # no temporary file left
    assert worker.sent[-1] == (len(data), len(data)) and len(worker.sent) == 4  # one report per chunk


def test_an_identical_copy_is_reused_and_a_different_one_is_kept_beside(local_settings: Settings,
                                                                       tmp_path: Path) -> None:
    path, data = _file(tmp_path, KIB256)
    dest = LocalDestination(local_settings)
    first = dest.upload(_job(path), Worker())
    # A run killed after its rename copies again: the same file, not a second one.
    assert dest.upload(_job(path), Worker()) == first
    # Another piece of the same slot (a reconnect): its own name beside the first.
    other, other_data = _file(tmp_path, KIB256 + 1, "14-31-07.mp4")
    second = dest.upload(_job(other, rid=2), Worker())
    assert second.web_link is not None and second.web_link.endswith("/2026-11-23_14-30_A-101_front_2.mp4")
    assert Path(second.web_link.removeprefix("file://")).read_bytes() == other_data
    assert Path(first.web_link.removeprefix("file://")).read_bytes() == data  # type: ignore[union-attr]


def test_a_file_changed_since_it_was_finalized_fails_and_leaves_nothing(local_settings: Settings,
                                                                      tmp_path: Path) -> None:
    path, data = _file(tmp_path, KIB256)
    job = _job(path, md5="0" * 32, size=len(data))
    with pytest.raises(FileFailed, match="changed since it was finalized"):
        LocalDestination(local_settings).upload(job, Worker())
    assert not [p for p in local_settings.upload.local_dir.rglob("*") if p.is_file()]


def test_an_archive_that_cannot_be_written_is_retried_later(local_settings: Settings, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, 1000)
    local_settings.upload.local_dir.mkdir(parents=True, exist_ok=True)
    (local_settings.upload.local_dir / "A-101").write_text("a file where the room's folder should be")
    with pytest.raises(Retryable, match="cannot create archive folder"):
        LocalDestination(local_settings).upload(_job(path), Worker())


def test_a_stop_mid_copy_leaves_no_partial_file(local_settings: Settings, tmp_path: Path) -> None:
    path, _ = _file(tmp_path, 4 * KIB256)
    worker = Worker()
    real_progress = worker.progress

    def progress(sent: int, total: int) -> None:
        real_progress(sent, total)
        worker.stopping = sent >= 2 * KIB256

    worker.progress = progress  # type: ignore[method-assign]
    with pytest.raises(Stopped):
        LocalDestination(local_settings).upload(_job(path), worker)
    assert not [p for p in local_settings.upload.local_dir.rglob("*") if p.is_file()]


# --- Google Drive ----------------------------------------------------------------------------------------


@pytest.fixture
def drive() -> DriveServer:
    with DriveServer(body_timeout=0.5) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def drive_dest(settings_factory: Callable[..., Settings], drive: DriveServer,
               db: Database) -> Callable[..., DriveDestination]:
    def make(**extra: str) -> DriveDestination:
        settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": drive.root_url,
                                       "drive.credentials": "anonymous", "upload.chunk_size": "256KiB",
                                       "recording.timezone": "Europe/Moscow", **extra})
        return DriveDestination(settings, DriveFolders(settings, db), None, retry_base_s=0.01)

    return make


def _uploaded(drive: DriveServer) -> list[dict[str, object]]:
    return [f for f in drive.files() if f["mimeType"] != FOLDER_MIME]


def test_drive_gets_the_file_in_chunks_with_the_session_saved_before_the_first_byte(
    drive: DriveServer, drive_dest: Callable[..., DriveDestination], tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 3 * KIB256 + 5)
    worker = Worker()
    out = drive_dest().upload(_job(path), worker)
    (f,) = _uploaded(drive)
    assert f["name"] == "2026-11-23_14-30_A-101_front.mp4" and drive.file_bytes(str(f["id"])) == data
    assert out.file_id == f["id"] and out.md5 == hashlib.md5(data).hexdigest() == f["md5Checksum"]
    assert out.size == len(data) and out.web_link == f["webViewLink"]
    # The folders: <room folder>/<day>/<HH:MM>, the file in the last.
    names = []
    folder = str(out.folder_id)
    while folder != "root":
        names.append(drive.file(folder)["name"])
        folder = drive.file(folder)["parents"][0]
    assert names == ["14:30", "2026-11-23", "NVR recordings"]  # a room with no folder of its own: the root
    uri = worker.saves[0][0]
    assert uri and worker.saves[0] == (uri, 0)  # saved before any byte went
    assert [o for _, o in worker.saves] == [0, KIB256, 2 * KIB256, 3 * KIB256, len(data)]
    assert {u for u, _ in worker.saves} == {uri} and drive.sessions_created() == 1


def test_a_stopped_upload_resumes_its_session_at_the_saved_offset(
    drive: DriveServer, drive_dest: Callable[..., DriveDestination], tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 4 * KIB256)
    first = Worker(stop_after_saves=3)  # session + two chunks confirmed, then the process stops
    with pytest.raises(Stopped):
        drive_dest().upload(_job(path), first)
    uri, offset = first.saves[-1]
    assert offset == 2 * KIB256 and not _uploaded(drive)

    # Another process (a new destination, a new client) takes it over from the saved row.
    second = Worker()
    out = drive_dest().upload(_job(path, session_uri=uri, bytes_confirmed=offset), second)
    (f,) = _uploaded(drive)
    assert drive.file_bytes(str(f["id"])) == data and out.md5 == hashlib.md5(data).hexdigest()
    assert drive.sessions_created() == 1  # the same session
    chunks = [r for r in drive.requests() if r["kind"] == "upload_chunk" and r["body_bytes"]]
    assert sum(int(r["body_bytes"]) for r in chunks) == len(data)  # no byte sent twice


def test_network_errors_are_retried_inline_and_an_expired_session_starts_again(
    drive: DriveServer, drive_dest: Callable[..., DriveDestination], tmp_path: Path
) -> None:
    path, data = _file(tmp_path, 3 * KIB256)
    drive.fail_next("upload_chunk", "503")
    drive.drop_next_chunk(skip=1)
    drive.expire_next_chunk(skip=2)
    worker = Worker()
    out = drive_dest().upload(_job(path), worker)
    (f,) = _uploaded(drive)
    assert drive.file_bytes(str(f["id"])) == data and out.size == len(data)
    assert len(worker.sleeps) >= 2  # backoff between inline retries
    assert (None, 0) in worker.saves  # the expired session was forgotten before a new one began
    assert drive.sessions_created() == 2


def test_a_copy_that_does_not_match_is_deleted_and_reported(
    drive: DriveServer, drive_dest: Callable[..., DriveDestination], tmp_path: Path
) -> None:
    path, _ = _file(tmp_path, 2 * KIB256)
    drive.corrupt_next()
    worker = Worker()
    with pytest.raises(VerifyMismatch, match="did not match the local file"):
        drive_dest().upload(_job(path), worker)
    assert _uploaded(drive) == []  # the bad copy is gone
    assert worker.saves[-1] == (None, 0)  # and its session with it: the next try starts afresh


def test_a_folder_drive_no_longer_has_is_reported_as_missing(
    drive: DriveServer, drive_dest: Callable[..., DriveDestination], tmp_path: Path
) -> None:
    first, _ = _file(tmp_path, KIB256)
    dest = drive_dest()
    folder = dest.upload(_job(first), Worker()).folder_id  # its folders are now cached in the database
    assert folder
    drive_client(drive.root_url).files().delete(fileId=folder).execute()  # someone deletes it on Drive
    second, _ = _file(tmp_path, KIB256, "14-35-00.mp4")
    with pytest.raises(FolderMissing) as err:
        dest.upload(_job(second, rid=2), Worker())
    assert err.value.folder_id == folder  # the uploader forgets that cached folder and tries again
    assert _uploaded(drive) == []  # the first file went with its folder; the second was refused


def test_the_hash_of_what_was_sent_counts_each_byte_once_in_order(tmp_path: Path) -> None:
    """Chunks hashed on a helper thread while they are sent: re-reads for retries (a whole chunk again, or
    from an offset inside it after the server kept part of one) add nothing; the rest is read at the end."""
    mib = 1 << 20
    path, data = _file(tmp_path, 5 * mib + 3)
    with open(path, "rb") as fh:
        media = ChunkedFileUpload(fh, "video/mp4", 2 * mib)
        assert media.getbytes(0, 2 * mib) == data[: 2 * mib]
        assert media.getbytes(0, 2 * mib) == data[: 2 * mib]  # retry of the same chunk
        assert media.getbytes(mib + KIB256, 2 * mib) == data[mib + KIB256 : 3 * mib + KIB256]  # partial keep
        assert media.getbytes(3 * mib + KIB256, 2 * mib) == data[3 * mib + KIB256 : 5 * mib + KIB256]
        assert media.md5_hex() == hashlib.md5(data).hexdigest()
    assert not [t for t in threading.enumerate() if t.name.endswith("-md5")]  # none left behind


def test_hashes_and_backoff(tmp_path: Path) -> None:
    path, data = _file(tmp_path, 3 * (1 << 20) + 7)
    checks: list[int] = []
    assert file_md5(path, lambda: checks.append(1)) == hashlib.md5(data).hexdigest()
    with open(path, "rb") as fh:
        media = ChunkedFileUpload(fh, "video/mp4", KIB256)
        media.getbytes(0, KIB256)  # sent so far: the rest is read for the hash only
        assert media.md5_hex() == hashlib.md5(data).hexdigest()
    for attempt in range(1, 10):
        delay = backoff(attempt, 1.0, 60.0)
        step = min(60.0, 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
