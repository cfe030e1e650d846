"""build_drive_service: the product's Drive client, pointed at our Drive server on loopback."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import google.oauth2.credentials
import pytest
from googleapiclient.http import MediaFileUpload

from nvr_console.core.upload.drive_service import (
    GOOGLE_API_ROOT,
    build_drive_service,
    is_google_api_root,
    normalize_api_root,
)
from tests.support.drive_server import FOLDER_MIME, DriveServer


@pytest.fixture
def drive() -> Iterator[DriveServer]:
    with DriveServer() as server:
        yield server


def test_anonymous_service_uploads_to_a_custom_root(drive: DriveServer, tmp_path: Path) -> None:
    data = os.urandom(600 * 1024)
    path = tmp_path / "2024-05-01_10-00_room_cam.mp4"
    path.write_bytes(data)
    service = build_drive_service(drive.root_url.rstrip("/"), None)  # trailing slash is optional
    folder = service.files().create(body={"name": "Room", "mimeType": FOLDER_MIME}, fields="id").execute()
    media = MediaFileUpload(str(path), mimetype="video/mp4", chunksize=256 * 1024, resumable=True)
    req = service.files().create(
        body={"name": path.name, "parents": [folder["id"]]},
        media_body=media,
        fields="id,size,md5Checksum,webViewLink",
    )
    assert req.uri.startswith(drive.root_url + "upload/drive/v3/files?")
    resp = None
    while resp is None:
        _, resp = req.next_chunk()
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert resp["size"] == str(len(data))
    assert all(r["authorization"] is None for r in drive.requests())


def test_credentials_are_sent_as_a_bearer_token(drive: DriveServer) -> None:
    creds = google.oauth2.credentials.Credentials(token="test-token")  # no refresh: never expires
    service = build_drive_service(drive.root_url, creds)
    service.files().list(q="trashed = false").execute()
    assert drive.requests()[-1]["authorization"] == "Bearer test-token"


def test_google_root_builds_offline_with_credentials() -> None:
    creds = google.oauth2.credentials.Credentials(token="t")
    service = build_drive_service(GOOGLE_API_ROOT, creds)
    req = service.files().list(q="trashed = false")  # built, not executed: no network
    assert req.uri.startswith("https://www.googleapis.com/drive/v3/files?")


@pytest.mark.parametrize(
    "root", ["https://www.googleapis.com/", "https://www.googleapis.com", "https://drive.googleapis.com/"]
)
def test_anonymous_google_root_is_refused(root: str) -> None:
    with pytest.raises(ValueError, match="needs credentials"):
        build_drive_service(root, None)


@pytest.mark.parametrize("root", ["ftp://127.0.0.1/", "127.0.0.1:8080", "", "http://127.0.0.1:8080/?x=1"])
def test_bad_roots_are_refused(root: str) -> None:
    with pytest.raises(ValueError, match="Drive API root"):
        build_drive_service(root, None)


def test_root_helpers() -> None:
    assert normalize_api_root(" http://127.0.0.1:9000 ") == "http://127.0.0.1:9000/"
    assert normalize_api_root("http://proxy.local/drive//") == "http://proxy.local/drive/"
    assert is_google_api_root("https://WWW.googleapis.com./")
    assert not is_google_api_root("http://notgoogleapis.com/")
    assert not is_google_api_root("http://127.0.0.1:9000/")
