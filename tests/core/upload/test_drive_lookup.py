"""Drive look-ups for the console (signed-in account, a room's folder) through the REAL google client over
HTTP against the Drive test server."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.upload.drive_lookup import (
    Account,
    DriveLookupError,
    DriveUnreachable,
    FolderProblem,
    check_room_folder,
    drive_ready,
    get_drive_item,
    signed_in_account,
)
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import FOLDER_MIME, DriveServer
from tests.support.drive_token import ACCESS_TOKEN, write_fresh_token
from tests.support.ports import closed_url


def about_requests(drive: DriveServer) -> list[dict[str, Any]]:
    return [r for r in drive.requests() if r["path"].startswith("/drive/v3/about")]


def test_anonymous_test_server_reports_its_account(drive: DriveServer, drive_settings: Callable[..., Settings]) -> None:
    settings = drive_settings()
    assert drive_ready(settings)
    assert signed_in_account(settings) == Account("operator@example.edu", "NVR Operator")
    (req,) = about_requests(drive)
    assert "fields=user%28emailAddress%2CdisplayName%29" in req["path"] and req["status"] == 200


def test_saved_token_is_sent_and_the_account_comes_back(
    drive: DriveServer, drive_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    token = tmp_path / "token.json"
    write_fresh_token(token)
    drive.user_email = "lecturer@example.edu"
    settings = drive_settings(**{"drive.credentials": "", "drive.token": token})
    assert drive_ready(settings)
    assert signed_in_account(settings).email == "lecturer@example.edu"
    assert about_requests(drive)[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_refused_sign_in_names_the_fix(drive: DriveServer, drive_settings: Callable[..., Settings]) -> None:
    # Anonymous: the 401 reaches us as it is (with a token, google-auth would first try a refresh).
    drive.fail_next("about", "unauthorized")
    with pytest.raises(DriveLookupError) as err:
        signed_in_account(drive_settings())
    assert not isinstance(err.value, DriveUnreachable)
    assert str(err.value) == (
        "Google Drive refused the sign-in while looking up the signed-in account (401 authError Invalid "
        "Credentials); sign in again with `nvr-console drive login`"
    )


def test_busy_server_and_offline_say_it_could_not_be_checked(
    drive: DriveServer, drive_settings: Callable[..., Settings]
) -> None:
    drive.fail_next("about", "503", times=2)  # the library retries once by itself
    with pytest.raises(DriveUnreachable, match="busy or failing .*could not be checked"):
        signed_in_account(drive_settings())
    closed = closed_url()  # a port nobody listens on
    with pytest.raises(DriveUnreachable, match="cannot reach Google Drive at .*check the network"):
        signed_in_account(drive_settings(**{"drive.api_root": closed}), timeout=5)


def test_service_account_email_comes_from_the_key_without_network(
    drive: DriveServer, drive_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "nvr@campus.iam.gserviceaccount.com"}))
    assert signed_in_account(drive_settings(**{"drive.credentials": key})).email == "nvr@campus.iam.gserviceaccount.com"
    assert drive.requests() == []


def test_not_ready_without_drive_or_sign_in(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    assert not drive_ready(settings_factory(**{"upload.destination": "none"}))
    assert not drive_ready(settings_factory(**{"upload.destination": "local"}))
    assert not drive_ready(settings_factory(**{"upload.destination": "drive"}))  # no credentials, no token
    client = tmp_path / "client.json"
    client.write_text(json.dumps({"installed": {"client_id": "x"}}))
    assert not drive_ready(settings_factory(**{"upload.destination": "drive", "drive.credentials": client}))


def test_room_folder_name_and_its_problems(drive: DriveServer, drive_settings: Callable[..., Settings]) -> None:
    settings = drive_settings()
    files = drive_client(drive.root_url).files()
    folder = files.create(body={"name": "Lecture hall A", "mimeType": FOLDER_MIME}, fields="id").execute()
    clip = files.create(body={"name": "clip.mp4", "parents": [folder["id"]]}, fields="id").execute()
    old = files.create(body={"name": "Old hall", "mimeType": FOLDER_MIME}, fields="id").execute()
    files.update(fileId=old["id"], body={"trashed": True}).execute()

    item = check_room_folder(settings, folder["id"])
    assert (item.name, item.is_folder, item.trashed) == ("Lecture hall A", True, False)
    got = next(r for r in drive.requests() if r["kind"] == "get")
    for part in ("fields=id%2Cname%2CmimeType%2Ctrashed", "supportsAllDrives=true"):
        assert part in got["path"]

    assert get_drive_item(settings, clip["id"]).is_folder is False
    with pytest.raises(FolderProblem, match=r"'clip.mp4' \(.*\) is a file, not a folder"):
        check_room_folder(settings, clip["id"])
    with pytest.raises(FolderProblem, match=r"'Old hall' .* is in the trash; restore it"):
        check_room_folder(settings, old["id"])
    with pytest.raises(FolderProblem) as err:
        check_room_folder(settings, "1NoSuchFolderIdAtAll")
    assert ("no Drive folder with id 1NoSuchFolderIdAtAll is visible to operator@example.edu; check the link or "
            "share the folder with operator@example.edu") in str(err.value)


def test_room_folder_offline_is_not_a_folder_problem(
    drive: DriveServer, drive_settings: Callable[..., Settings]
) -> None:
    drive.fail_next("get", "500", times=2)
    with pytest.raises(DriveUnreachable) as err:
        check_room_folder(drive_settings(), "1SomeFolder")
    assert not isinstance(err.value, FolderProblem) and "could not be checked" in str(err.value)
