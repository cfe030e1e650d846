"""The local archive destination, delete-at-once retention after verification, and Drive sign-in files."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from google.auth.transport.requests import Request

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.folder_names import MAX_NAME_BYTES
from nvr_console.core.status import UploadProgress, UploadState
from nvr_console.core.upload import auth
from nvr_console.core.upload.errors import SIGN_IN_AGAIN
from tests.core.upload.conftest import KIB256, Rec, fast_uploader, row, wait_all_uploaded
from tests.support.drive_server import DriveServer
from tests.support.http_receiver import HttpReceiver

Start = Callable[..., Any]


def test_local_archive_is_written_atomically_verified_and_named_like_drive(
    qtbot: Any, db: Database, settings_factory: Callable[..., Settings], make_recording: Callable[..., Rec],
    started: Start,
) -> None:
    settings = settings_factory(**{"upload.destination": "local", "recording.timezone": "Europe/Moscow",
                                   "upload.chunk_size": "256KiB", "retention.delete_after": "0"})
    recs = [make_recording(camera=c, size=3 * KIB256 + 5) for c in ("front", "back")]
    seen: list[UploadProgress] = []
    up = fast_uploader(settings, db)
    up.upload_progress.connect(seen.append)
    started(up)
    wait_all_uploaded(qtbot, db)
    for r in recs:
        dest = settings.upload.local_dir / "A-101" / "2026-11-23" / "14-30" / f"2026-11-23_14-30_A-101_{r.camera}.mp4"
        assert dest.read_bytes() == r.data
        rec = row(db, r.id)
        assert rec.destination == "local" and rec.md5 == r.md5 and rec.web_link == dest.as_uri()
        # Verified, and delete_after = 0: the recording's own file goes at once (right after the upload is marked).
        qtbot.waitUntil(lambda r=r: not r.path.exists() and row(db, r.id).local_deleted_at is not None, timeout=20000)
    assert not list(settings.upload.local_dir.rglob("*.part"))
    qtbot.waitUntil(lambda: sum(p.state is UploadState.UPLOADED for p in seen) == 2, timeout=20000)


def test_unverified_drive_upload_keeps_its_local_file_with_delete_at_once(
    qtbot: Any, db: Database, drive: DriveServer, drive_settings: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    rec = make_recording()
    drive.fail_next("create_session", "storage_quota")
    up = started(fast_uploader(drive_settings(**{"retention.delete_after": "0"}), db))
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    assert rec.path.exists() and row(db, rec.id).status == "ready"
    up.resume()
    wait_all_uploaded(qtbot, db)
    qtbot.waitUntil(lambda: not rec.path.exists(), timeout=20000)


def test_destination_none_uploads_nothing(
    qtbot: Any, db: Database, settings_factory: Callable[..., Settings], make_recording: Callable[..., Rec],
    started: Start,
) -> None:
    rec = make_recording()
    started(fast_uploader(settings_factory(**{"upload.destination": "none"}), db))
    qtbot.wait(300)
    assert row(db, rec.id).status == "ready" and rec.path.exists()


# ------------------------------------------------------------------------------ auth


def _token(token_uri: str = "https://oauth2.googleapis.com/token") -> dict[str, Any]:
    return {"type": "authorized_user", "client_id": "cid.apps.googleusercontent.com", "client_secret": "s3cret",
            "refresh_token": "1//refresh-token", "token": "old-access", "token_uri": token_uri,
            "scopes": auth.SCOPES}


@pytest.fixture
def token_endpoint() -> Iterator[HttpReceiver]:
    """Google's token endpoint; each test says what it answers (`answer(status, body)`)."""
    with HttpReceiver() as rx:
        yield rx


def test_import_token_is_private_and_a_refresh_saves_it_again(
    tmp_path: Path, settings_factory: Callable[..., Settings], token_endpoint: HttpReceiver,
) -> None:
    settings = settings_factory()
    src = tmp_path / "from-laptop.json"
    src.write_text(json.dumps(_token(token_endpoint.url("/token"))))
    path = auth.import_token(settings, src)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.credentials_kind(settings) == "token_only"
    creds = auth.load_credentials(settings)
    token_endpoint.answer(200, {"access_token": "new-access", "expires_in": 3600})
    creds.refresh(Request())  # type: ignore[union-attr]
    asked = token_endpoint.wait_for_request(timeout_s=5)
    assert (asked.method, asked.route, asked.form()["grant_type"]) == ("POST", "/token", ["refresh_token"])
    saved = json.loads(path.read_text())
    assert saved["token"] == "new-access" and saved["refresh_token"] == "1//refresh-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_revoked_sign_in_names_the_fix_and_hides_secrets(
    tmp_path: Path, settings_factory: Callable[..., Settings], token_endpoint: HttpReceiver,
) -> None:
    settings = settings_factory()
    auth.write_private(settings.drive.token, json.dumps(_token(token_endpoint.url("/t"))))
    token_endpoint.answer(400, {"error": "invalid_grant", "error_description": "Token has been revoked."})
    creds = auth.load_credentials(settings)
    with pytest.raises(auth.DriveAuthError) as err:
        auth.refresh_now(creds)  # type: ignore[arg-type]
    assert SIGN_IN_AGAIN in str(err.value)
    assert "s3cret" not in str(err.value) and "refresh-token" not in str(err.value)


def test_missing_sign_in_and_bad_files_are_one_clear_sentence(
    tmp_path: Path, settings_factory: Callable[..., Settings],
) -> None:
    with pytest.raises(auth.DriveAuthError, match="drive login"):
        auth.load_credentials(settings_factory())
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    with pytest.raises(auth.DriveAuthError, match="OAuth client"):
        auth.load_credentials(settings_factory(**{"drive.credentials": str(bogus)}))
    with pytest.raises(auth.DriveAuthError, match="not a Google Drive token"):
        auth.import_token(settings_factory(), bogus)
    assert auth.load_credentials(settings_factory(**{"drive.credentials": "anonymous",
                                                     "drive.api_root": "http://127.0.0.1:1/"})) is None


def test_not_signed_in_pauses_the_queue_until_resume(
    qtbot: Any, db: Database, drive: DriveServer, settings_factory: Callable[..., Settings],
    make_recording: Callable[..., Rec], started: Start,
) -> None:
    make_recording()
    settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": drive.root_url})
    up = started(fast_uploader(settings, db))
    qtbot.waitUntil(lambda: up.is_paused()[0], timeout=20000)
    assert "drive login" in up.is_paused()[1]


def test_the_longest_names_allowed_still_fit_in_the_archives_file_names(
    qtbot: Any, db: Database, settings_factory: Callable[..., Settings], make_recording: Callable[..., Rec],
    started: Start,
) -> None:
    # The archive's file name joins room and camera names (and its temporary name adds ~30 bytes): with the
    # 100-byte limit of folder_names, two of the longest names stay under the 255-byte limit of file names.
    room, camera = "R" * MAX_NAME_BYTES, "Ж" * (MAX_NAME_BYTES // 2)
    assert catalog.validate_name(room, "room") == room and catalog.validate_name(camera, "camera") == camera
    settings = settings_factory(**{"upload.destination": "local", "upload.chunk_size": "256KiB"})
    rec = make_recording(room=room, camera=camera)
    started(fast_uploader(settings, db))
    wait_all_uploaded(qtbot, db)
    [copy] = (settings.upload.local_dir / room).rglob("*.mp4")
    assert copy.read_bytes() == rec.data and len(copy.name.encode()) <= 255
