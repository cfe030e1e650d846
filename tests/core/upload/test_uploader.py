"""The Uploader end to end: real google-api-python-client, real HTTP to the Drive test server, real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.db.models import Room
from nvr_console.core.db.session import Database
from nvr_console.core.status import QueueStatus, UploadProgress, UploadState
from nvr_console.core.upload.uploader import Uploader
from tests.core.upload.conftest import (
    KIB256,
    Rec,
    assert_each_once,
    drive_files,
    drive_folders,
    fast_uploader,
    folder_path,
    later,
    row,
    statuses,
    wait_all_uploaded,
)
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import FOLDER_MIME, DriveServer

Start = Callable[[Uploader], Uploader]


def test_uploads_into_the_dated_tree_verified_with_links(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    recs = [make_recording(camera=cam, slot=later(m)) for cam in ("front", "back") for m in (0, 30)]
    up = fast_uploader(drive_settings(), db)
    progress: list[UploadProgress] = []
    queue_st: list[QueueStatus] = []
    up.upload_progress.connect(progress.append)
    up.queue_status.connect(queue_st.append)
    started(up)
    wait_all_uploaded(qtbot, db)
    assert_each_once(drive, recs)
    for r in recs:
        rec = row(db, r.id)
        f = next(f for f in drive_files(drive) if f["id"] == rec.drive_file_id)
        local = r.slot.astimezone(ZoneInfo("Europe/Moscow"))
        assert folder_path(drive, f["id"]) == [
            "NVR recordings", f"{local:%Y-%m-%d}", f"{local:%H:%M}", f"{local:%Y-%m-%d_%H-%M}_A-101_{r.camera}.mp4"
        ]
        assert rec.md5 == r.md5 and rec.size == len(r.data) and rec.destination == "drive"
        assert rec.web_link == f["webViewLink"] and rec.folder_link and rec.drive_folder_id == f["parents"][0]
        assert rec.upload_session_uri is None and rec.uploaded_at is not None
        assert r.path.exists()  # retention "never" in these settings
    # 1 root + 1 day + 2 time folders, whatever the order the workers took them in.
    assert sorted(f["name"] for f in drive_folders(drive)) == ["14:30", "15:00", "2026-11-23", "NVR recordings"]
    # The signals cross threads after the rows changed: under load they may come seconds later (the default 5 s
    # timed out once on a loaded machine).
    qtbot.waitUntil(lambda: any(p.state is UploadState.UPLOADED for p in progress) and queue_st
                    and queue_st[-1].files == 0, timeout=30000)
    assert any(p.state is UploadState.UPLOADING and 0 < p.bytes_sent < p.total for p in progress)


FAULTS: dict[str, Callable[[DriveServer], None]] = {
    "chunk-503": lambda d: d.fail_next("upload_chunk", "503", skip=1, times=2),
    "chunk-500": lambda d: d.fail_next("upload_chunk", "500", skip=2),
    "chunk-429": lambda d: d.fail_next("upload_chunk", "429", skip=1),
    "chunk-rate-limit-403": lambda d: d.fail_next("upload_chunk", "rate_limit", skip=1),
    "chunk-user-rate-limit-403": lambda d: d.fail_next("upload_chunk", "user_rate_limit", skip=1),
    "drop-mid-chunk": lambda d: d.drop_next_chunk(skip=1),
    "drop-keeping-some": lambda d: d.drop_next_chunk(skip=1, after_bytes=200_000, keep_bytes=100_000),
    "drop-last-chunk": lambda d: d.drop_next_chunk(skip=3),
    "partial-chunk-kept": lambda d: d.keep_partial_next_chunk(skip=1),
    "expired-session": lambda d: d.expire_next_chunk(skip=2),
    "session-start-503": lambda d: d.fail_next("create_session", "503", times=2),
    "status-query-503": lambda d: (d.drop_next_chunk(skip=1), d.fail_next("status_query", "503")),
    "folder-create-503": lambda d: d.fail_next("create_folder", "503"),
    "list-429": lambda d: d.fail_next("list", "429"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_under_faults_every_file_arrives_once_byte_identical(
    fault: str, qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    recs = [make_recording(camera=cam, size=4 * KIB256 + 777) for cam in ("front", "back")]
    FAULTS[fault](drive)
    started(fast_uploader(drive_settings(), db))
    wait_all_uploaded(qtbot, db)
    assert_each_once(drive, recs)
    assert not drive.faults_pending()
    for r in recs:
        assert row(db, r.id).md5 == r.md5


def test_sigkill_mid_upload_then_restart_resumes_the_same_session(
    tmp_path: Any, db: Database, settings_factory: Callable[..., Settings], make_recording: Callable[..., Rec],
) -> None:
    """The app dies (SIGKILL) mid-upload; a new process resumes the saved session from Drive's offset."""
    import subprocess
    import sys
    import time

    from tests.support.drive_server import DriveServerProcess

    rec = make_recording(size=12 * KIB256 + 5)
    with DriveServerProcess(tmp_path / "drive-state") as server:
        settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": server.root_url,
                                       "drive.credentials": "anonymous", "upload.chunk_size": "256KiB",
                                       "upload.workers": 1})
        # Every chunk is slow, so the process is surely mid-upload when killed.
        server.delay_next("upload_chunk", 0.15, times=100)
        sets = [f"--set={k}={v}" for k, v in (
            ("database.url", settings.database.url), ("upload.destination", "drive"),
            ("drive.api_root", server.root_url), ("drive.credentials", "anonymous"),
            ("upload.chunk_size", "256KiB"), ("upload.workers", "1"), ("recording.dir", settings.recording.dir),
        )]
        # A lease far longer than the test: the restart must reclaim the dead process's claim at once.
        cmd = [sys.executable, "-m", "nvr_console.cli.upload_runner", "--lease", "600", "--retry-base", "0.05",
               "--poll", "0.2", *sets]
        first = subprocess.Popen([*cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (row(db, rec.id).bytes_confirmed or 0) < 3 * KIB256:
                time.sleep(0.05)
            assert row(db, rec.id).upload_session_uri
        finally:
            first.kill()  # SIGKILL: no clean-up at all
            first.wait()
        killed_at = row(db, rec.id)
        assert killed_at.status == "uploading" and 0 < killed_at.bytes_confirmed < len(rec.data)
        assert killed_at.claimed_by and killed_at.claimed_by.endswith(f":{first.pid}")
        server.clear_faults()
        second = subprocess.run([*cmd, "--until-idle"], capture_output=True, text=True, timeout=60)
        assert "idle" in second.stdout, second.stderr[-2000:]
        done = row(db, rec.id)
        assert done.status == "uploaded"
        assert server.sessions_created() == 1  # resumed, not restarted
        files = [f for f in server.files() if f["mimeType"] != FOLDER_MIME]
        assert len(files) == 1 and server.file_bytes(files[0]["id"]) == rec.data
        # The restarted process asked Drive where it stood, and did not re-send the confirmed bytes.
        puts = [r for r in server.requests() if r["kind"] == "upload_chunk" and r.get("status") in (200, 308)]
        assert sum(r["body_bytes"] for r in puts) < len(rec.data) + 2 * KIB256


def test_md5_mismatch_deletes_the_bad_copy_and_uploads_again(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    rec = make_recording()
    drive.corrupt_next("upload_chunk", skip=1)
    started(fast_uploader(drive_settings(), db))
    wait_all_uploaded(qtbot, db)
    assert_each_once(drive, [rec])
    assert drive.sessions_created() == 2
    assert any(r["kind"] == "delete" and r["status"] == 204 for r in drive.requests())
    assert row(db, rec.id).attempts == 1


@pytest.mark.parametrize(("preset", "words"), [
    ("storage_quota", "storage is full"),
    ("daily_limit", "daily API limit"),
    ("upload_limit_750gb", "750 GB/day"),
])
def test_fatal_error_pauses_the_whole_queue_with_one_message_and_resume_continues(
    preset: str, words: str, qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    recs = [make_recording(camera=c) for c in ("front", "back", "side")]
    drive.fail_next("create_session", preset)
    up = fast_uploader(drive_settings(**{"upload.workers": 1}), db)
    st: list[QueueStatus] = []
    up.queue_status.connect(st.append)
    started(up)
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    reason = up.is_paused()[1]
    assert words in reason
    qtbot.waitUntil(lambda: any(s.paused and s.reason == reason for s in st), timeout=20000)
    qtbot.wait(300)
    # Paused: nothing else was tried, nothing was lost, no attempt was charged to the files.
    assert drive_files(drive) == []
    assert set(statuses(db).values()) == {"ready"}
    assert all(row(db, r.id).attempts == 0 for r in recs)
    assert [r["kind"] for r in drive.requests()].count("create_session") == 1
    up.resume()
    wait_all_uploaded(qtbot, db)
    assert_each_once(drive, recs)
    assert not up.is_paused()[0]


def test_missing_folder_permission_pauses(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    make_recording()
    drive.fail_next_with("create_session", 403, "insufficientFilePermissions",
                         "The user does not have sufficient permissions for this file.")
    up = started(fast_uploader(drive_settings(), db))
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    assert "permission" in up.is_paused()[1] and "Resume" in up.is_paused()[1]


def test_round_robin_one_cameras_backlog_does_not_starve_another(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    backlog = [make_recording(camera="busy", slot=later(30 * i), size=KIB256) for i in range(6)]
    newcomer = make_recording(camera="quiet", slot=later(30 * 5), size=KIB256)
    started(fast_uploader(drive_settings(**{"upload.workers": 1}), db))
    wait_all_uploaded(qtbot, db)
    order = sorted([*backlog, newcomer], key=lambda r: row(db, r.id).uploaded_at)
    assert order.index(newcomer) <= 1  # its turn comes right after the busy camera's first file
    assert [r.id for r in order if r.camera == "busy"] == [r.id for r in backlog]  # oldest first


def test_concurrent_workers_and_two_uploaders_create_no_duplicate_folders(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    recs = [make_recording(camera=f"cam{i}", size=KIB256 + i) for i in range(8)]
    drive.delay_next("list", 0.05, times=50)  # widen the find-or-create race window
    settings = drive_settings(**{"upload.workers": 4})
    second_db = Database(settings.database.url)  # another "process" on the same database
    try:
        started(fast_uploader(settings, db))
        started(fast_uploader(settings, second_db))
        wait_all_uploaded(qtbot, db)
    finally:
        second_db.dispose()
    assert_each_once(drive, recs)
    assert len(drive_folders(drive)) == 3


def test_a_rival_folder_created_meanwhile_wins_and_ours_is_removed(
    db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
) -> None:
    """Another process creates the same folder between our search and our create: everyone keeps the oldest."""
    import threading

    from nvr_console.core.upload.folders import DriveFolders

    settings = drive_settings(**{"drive.root_folder": "NVR 'main' \\ recs"})
    service = drive_client(drive.root_url)
    drive.delay_next("create_folder", 0.5)
    rival: dict[str, Any] = {}

    def rival_create() -> None:
        import time

        time.sleep(0.2)  # after our search found nothing, before our (delayed) create lands
        rival.update(drive_client(drive.root_url).files().create(
            body={"name": "NVR 'main' \\ recs", "mimeType": FOLDER_MIME, "parents": ["root"]}, fields="id"
        ).execute())

    t = threading.Thread(target=rival_create)
    t.start()
    folder = DriveFolders(settings, db).root(service)
    t.join()
    assert folder.id == rival["id"]
    assert [f["id"] for f in drive_folders(drive)] == [rival["id"]]
    # A fresh cache (new database) finds it by name, quotes and backslash escaped, across list pages.
    for i in range(5):
        drive_client(drive.root_url).files().create(body={"name": f"other {i}", "mimeType": FOLDER_MIME}).execute()
    other_db = Database(f"sqlite:///{settings.recording.dir.parent / 'other.sqlite3'}")
    from nvr_console.core.db.migrate import prepare_database

    prepare_database(other_db)
    try:
        assert DriveFolders(settings, other_db).root(service).id == rival["id"]
    finally:
        other_db.dispose()


def test_room_with_its_own_drive_folder_and_shared_root(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    own = drive_client(drive.root_url).files().create(
        body={"name": "Room B folder", "mimeType": FOLDER_MIME}, fields="id").execute()["id"]
    with db.session() as s:
        s.add(Room(name="B-202", drive_folder=own))
    in_room = make_recording(room="B-202")
    in_root = make_recording(room="A-101")
    started(fast_uploader(drive_settings(**{"drive.share": "anyone"}), db))
    wait_all_uploaded(qtbot, db)
    assert folder_path(drive, row(db, in_room.id).drive_file_id)[0] == "Room B folder"
    assert folder_path(drive, row(db, in_root.id).drive_file_id)[0] == "NVR recordings"
    root = next(f for f in drive_folders(drive) if f["name"] == "NVR recordings")
    assert root["permissions"] and root["permissions"][0]["type"] == "anyone"
    assert root["permissions"][0]["role"] == "reader"
    assert not next(f for f in drive_folders(drive) if f["name"] == "Room B folder")["permissions"]


def test_stop_mid_upload_keeps_the_session_and_a_new_uploader_resumes_it(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec],
) -> None:
    rec = make_recording(size=10 * KIB256)
    drive.delay_next("upload_chunk", 0.1, times=100)
    settings = drive_settings(**{"upload.workers": 1})
    up = fast_uploader(settings, db)
    up.start()
    qtbot.waitUntil(lambda: row(db, rec.id).bytes_confirmed >= 2 * KIB256, timeout=20000)
    up.stop(5)
    stopped = row(db, rec.id)
    assert stopped.status == "ready" and stopped.upload_session_uri and stopped.attempts == 0
    drive.clear_faults()
    again = fast_uploader(settings, db)
    again.start()
    try:
        wait_all_uploaded(qtbot, db)
    finally:
        again.stop(5)
    assert drive.sessions_created() == 1
    assert_each_once(drive, [rec])


def test_missing_local_file_is_lost_and_failed_upload_can_be_retried(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    gone = make_recording(camera="gone")
    gone.path.unlink()
    bad = make_recording(camera="bad", status="failed")
    up = started(fast_uploader(drive_settings(), db))
    qtbot.waitUntil(lambda: row(db, gone.id).status == "lost", timeout=20000)
    assert "missing" in (row(db, gone.id).last_error or "")
    assert row(db, bad.id).status == "failed"
    up.retry(bad.id)
    qtbot.waitUntil(lambda: row(db, bad.id).status == "uploaded", timeout=20000)
    assert_each_once(drive, [bad])


def test_a_paused_queue_tries_again_by_itself_after_the_probe_delay(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    rec = make_recording()
    drive.fail_next("create_session", "daily_limit")
    up = started(fast_uploader(drive_settings(), db, probe_s=0.5))
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    wait_all_uploaded(qtbot, db)  # no resume() from the operator
    assert_each_once(drive, [rec])


def test_shared_drive_root_and_all_drives_flags(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    rec = make_recording()
    drive.add_shared_drive("0AsharedDriveId")
    started(fast_uploader(drive_settings(**{"drive.shared_drive": "0AsharedDriveId"}), db))
    wait_all_uploaded(qtbot, db)
    root = next(f for f in drive_folders(drive) if f["name"] == "NVR recordings")
    assert root["parents"] == ["0AsharedDriveId"]
    assert row(db, rec.id).drive_file_id
    api = [r for r in drive.requests() if r["kind"] in ("list", "create_folder", "create_session")]
    assert api and all("supportsAllDrives=true" in r["path"] for r in api)
    assert all("driveId=0AsharedDriveId" in r["path"] for r in api if r["kind"] == "list")
