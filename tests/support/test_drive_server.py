"""The Drive test server, driven by the REAL google-api-python-client over HTTP on loopback.

These tests also pin down how the client library behaves against each fault (see the module
docstring of tests/support/drive_server.py for the fault list).
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload, MediaInMemoryUpload, MediaIoBaseDownload

from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import FOLDER_MIME, DriveServer, DriveServerProcess

KIB256 = 256 * 1024
REPO = Path(__file__).resolve().parents[2]
FIELDS = "id,name,size,md5Checksum,webViewLink,parents"


class BytesChunkUpload(MediaFileUpload):
    """Chunks read as bytes, so the client's own retries re-send real data (a stream-backed upload re-sends an
    already consumed stream: an empty body with the full Content-Length)."""

    def has_stream(self) -> bool:
        return False


@pytest.fixture
def drive() -> Iterator[DriveServer]:
    # A short body timeout: a request whose body never arrives is reset after 0.5 s, not 5 s.
    with DriveServer(body_timeout=0.5) as server:
        yield server


@pytest.fixture
def payload(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(3 * 1024 * 1024 + 4321)  # not a multiple of 256 KiB: a short last chunk
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    return path, data


def _request(service: Any, path: Path, *, chunk: int = 4 * KIB256, cls: type = MediaFileUpload) -> Any:
    media = cls(str(path), mimetype="video/mp4", chunksize=chunk, resumable=True)
    return service.files().create(body={"name": path.name}, media_body=media, fields=FIELDS)


def _finish(req: Any, num_retries: int = 0) -> dict[str, Any]:
    resp = None
    while resp is None:
        _, resp = req.next_chunk(num_retries=num_retries)
    return resp


def _detail(err: HttpError) -> dict[str, str]:
    """The first of the error's details (the client parses them into a list of dicts; its stubs say str)."""
    details: Any = err.error_details
    return dict(details[0])


def _kinds(server: DriveServer) -> list[tuple[str, Any]]:
    return [(r["kind"], r.get("status")) for r in server.requests()]


# ------------------------------------------------------------------------------ uploads


def test_resumable_upload_arrives_byte_identical(drive: DriveServer, payload: tuple[Path, bytes]) -> None:
    path, data = payload
    service = drive_client(drive.root_url)
    folder = service.files().create(body={"name": "Room", "mimeType": FOLDER_MIME}, fields="id").execute()
    media = MediaFileUpload(str(path), mimetype="video/mp4", chunksize=4 * KIB256, resumable=True)
    req = service.files().create(body={"name": "clip.mp4", "parents": [folder["id"]]}, media_body=media, fields=FIELDS)
    progress = []
    resp = None
    while resp is None:
        status, resp = req.next_chunk()
        if status:
            progress.append(status.resumable_progress)

    assert progress == [KIB256 * 4, KIB256 * 8, KIB256 * 12]
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert resp["size"] == str(len(data))  # a string, as Google sends it
    assert resp["parents"] == [folder["id"]]
    assert resp["webViewLink"] == f"https://drive.google.com/file/d/{resp['id']}/view?usp=drivesdk"
    assert drive.file_bytes(resp["id"]) == data
    assert drive.sessions_created() == 1
    ranges = [r["content_range"] for r in drive.requests() if r["kind"] == "upload_chunk"]
    assert ranges[0] == f"bytes 0-{4 * KIB256 - 1}/{len(data)}"


def test_default_fields_have_no_size_or_md5(drive: DriveServer) -> None:
    service = drive_client(drive.root_url)
    media = MediaInMemoryUpload(b"x" * 10, mimetype="video/mp4", resumable=True)
    resp = service.files().create(body={"name": "a.mp4"}, media_body=media).execute()
    assert set(resp) == {"kind", "id", "name", "mimeType"}
    full = service.files().get(fileId=resp["id"], fields="id,size,md5Checksum,createdTime").execute()
    assert full["size"] == "10" and full["md5Checksum"] == hashlib.md5(b"x" * 10).hexdigest()
    assert full["createdTime"].endswith("Z")


def test_multipart_upload_of_a_small_file(drive: DriveServer) -> None:
    body = b"line one\r\n\r\n--not-a-boundary\nend\n"
    service = drive_client(drive.root_url)
    resp = (
        service.files()
        .create(
            body={"name": "small.txt"},
            media_body=MediaInMemoryUpload(body, mimetype="text/plain", resumable=False),
            fields="id,size,md5Checksum,mimeType",
        )
        .execute()
    )
    assert resp["md5Checksum"] == hashlib.md5(body).hexdigest()
    assert resp["mimeType"] == "text/plain"
    assert drive.file_bytes(resp["id"]) == body
    assert _kinds(drive) == [("multipart", 200)]


def test_503_mid_upload_raises_and_next_chunk_resumes_from_server_range(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    req = _request(drive_client(drive.root_url), path)
    req.next_chunk()
    drive.fail_next("upload_chunk", "503")
    with pytest.raises(HttpError) as err:
        req.next_chunk()
    assert err.value.resp.status == 503
    resp = _finish(req)
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    # After an HttpError the client is "in error state": it asks the server where it stands first.
    kinds = _kinds(drive)
    assert kinds[2:4] == [("upload_chunk", 503), ("status_query", 308)]


def test_client_retry_resends_a_consumed_stream_but_bytes_chunks_retry_cleanly(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    # With a stream-backed MediaFileUpload the retry sends an empty body with the full
    # Content-Length; the server never gets the body and resets, the client raises a transport error.
    req = _request(drive_client(drive.root_url), path)
    req.next_chunk()
    drive.fail_next("upload_chunk", "503")
    with pytest.raises(ConnectionError):
        req.next_chunk(num_retries=1)
    assert [r.get("status") for r in drive.requests()[-2:]] == [503, "incomplete-body"]
    assert _finish(req)["md5Checksum"] == hashlib.md5(data).hexdigest()

    drive.reset_log()
    req = _request(drive_client(drive.root_url), path, cls=BytesChunkUpload)
    req.next_chunk()
    drive.fail_next("upload_chunk", "503")
    resp = _finish(req, num_retries=1)
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert ("upload_chunk", 503) in _kinds(drive)
    assert "status_query" not in [k for k, _ in _kinds(drive)]


@pytest.mark.parametrize("preset", ["429", "rate_limit", "user_rate_limit", "500", "502"])
def test_client_retries_rate_limits_and_5xx_itself(drive: DriveServer, preset: str) -> None:
    service = drive_client(drive.root_url)
    drive.fail_next("create_session", preset)
    media = MediaInMemoryUpload(b"abc", mimetype="video/mp4", resumable=True)
    req = service.files().create(body={"name": "r.mp4"}, media_body=media, fields="id,size")
    req._sleep = lambda _s: None  # the library's own stub hook: skip the backoff wait, not the retry
    assert _finish(req, num_retries=1)["size"] == "3"
    assert [k for k, _ in _kinds(drive)][:2] == ["create_session", "create_session"]


@pytest.mark.parametrize("preset", ["storage_quota", "daily_limit"])
def test_quota_403s_are_not_retried(drive: DriveServer, payload: tuple[Path, bytes], preset: str) -> None:
    path, _ = payload
    req = _request(drive_client(drive.root_url), path, cls=BytesChunkUpload)
    drive.fail_next("upload_chunk", preset)
    with pytest.raises(HttpError) as err:
        req.next_chunk(num_retries=3)
    assert err.value.resp.status == 403
    expected = {"storage_quota": "storageQuotaExceeded", "daily_limit": "dailyLimitExceeded"}[preset]
    assert _detail(err.value)["reason"] == expected
    assert _kinds(drive) == [("create_session", 200), ("upload_chunk", 403)]


def test_750gb_daily_cap_looks_like_a_retryable_rate_limit(drive: DriveServer, payload: tuple[Path, bytes]) -> None:
    path, _ = payload
    req = _request(drive_client(drive.root_url), path, cls=BytesChunkUpload)
    req._sleep = lambda _s: None
    drive.fail_next("upload_chunk", "upload_limit_750gb", times=3)
    with pytest.raises(HttpError) as err:
        req.next_chunk(num_retries=2)
    # The client burned all its retries on it: the only tell is the message.
    assert _detail(err.value)["reason"] == "userRateLimitExceeded"
    assert _detail(err.value)["message"] == "User rate limit exceeded."
    assert _kinds(drive).count(("upload_chunk", 403)) == 3


def test_401_is_raised(drive: DriveServer) -> None:
    service = drive_client(drive.root_url)
    drive.fail_next("list", "unauthorized")
    with pytest.raises(HttpError) as err:
        service.files().list(q="trashed = false").execute(num_retries=2)
    assert err.value.resp.status == 401
    assert _detail(err.value)["reason"] == "authError"


def test_dropped_connection_raises_transport_error_then_status_query_continues(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    req = _request(drive_client(drive.root_url), path, cls=BytesChunkUpload)
    req.next_chunk()
    drive.drop_next_chunk(after_bytes=100_000)
    with pytest.raises(ConnectionError):
        req.next_chunk(num_retries=3)  # not retried by the client: it raises
    resp = _finish(req)
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert _kinds(drive)[2:4] == [("upload_chunk", "dropped"), ("status_query", 308)]


def test_drop_after_keeping_part_resumes_from_what_the_server_kept(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    req = _request(drive_client(drive.root_url), path)
    req.next_chunk()
    drive.drop_next_chunk(after_bytes=3 * KIB256, keep_bytes=KIB256)
    with pytest.raises(ConnectionError):
        req.next_chunk()
    status, _ = req.next_chunk()
    assert status.resumable_progress == 5 * KIB256 + 4 * KIB256  # resumed at 5 x 256 KiB
    chunk_ranges = [r["content_range"] for r in drive.requests() if r["kind"] == "upload_chunk"]
    assert chunk_ranges[-1].startswith(f"bytes {5 * KIB256}-")
    assert _finish(req)["md5Checksum"] == hashlib.md5(data).hexdigest()


def test_partial_keep_reports_a_smaller_range_that_the_client_honours(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    req = _request(drive_client(drive.root_url), path)
    drive.keep_partial_next_chunk(keep_bytes=KIB256)
    status, _ = req.next_chunk()
    assert status.resumable_progress == KIB256
    assert _finish(req)["md5Checksum"] == hashlib.md5(data).hexdigest()
    chunk_ranges = [r["content_range"] for r in drive.requests() if r["kind"] == "upload_chunk"]
    assert chunk_ranges[1].startswith(f"bytes {KIB256}-")


def test_expired_session_is_404_and_a_new_session_starts_over(drive: DriveServer, payload: tuple[Path, bytes]) -> None:
    path, data = payload
    service = drive_client(drive.root_url)
    req = _request(service, path)
    req.next_chunk()
    drive.expire_next_chunk()
    with pytest.raises(HttpError) as err:
        req.next_chunk()
    assert err.value.resp.status == 404
    with pytest.raises(HttpError) as err:
        req.next_chunk()  # the status query is 404 too: the session is gone for good
    assert err.value.resp.status == 404
    assert _kinds(drive)[-1] == ("status_query", 404)

    resp = _finish(_request(service, path))
    assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
    assert drive.sessions_created() == 2


def test_corrupted_bytes_give_a_different_md5(drive: DriveServer, payload: tuple[Path, bytes]) -> None:
    path, data = payload
    drive.corrupt_next("upload_chunk", skip=1)
    resp = _finish(_request(drive_client(drive.root_url), path))
    assert resp["size"] == str(len(data))
    assert resp["md5Checksum"] != hashlib.md5(data).hexdigest()
    assert resp["md5Checksum"] == hashlib.md5(drive.file_bytes(resp["id"])).hexdigest()


def test_slow_response_times_out_and_the_server_may_have_kept_the_chunk(
    drive: DriveServer, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    req = _request(drive_client(drive.root_url, timeout=0.3), path)
    drive.delay_next("upload_chunk", 1.0)
    with pytest.raises(TimeoutError):
        req.next_chunk()
    # The server stored the chunk after the client gave up; the status query says so. (A status
    # query sent while the server is still busy with the chunk would see the older offset.)
    assert drive.wait_idle()
    status, _ = req.next_chunk()
    assert status.resumable_progress == 8 * KIB256
    assert _finish(req)["md5Checksum"] == hashlib.md5(data).hexdigest()


# ------------------------------------------------------------------------------ metadata


# ------------------------------------------------------------------------------ downloads


def _uploaded(drive: DriveServer, data: bytes) -> str:
    service = drive_client(drive.root_url)
    media = MediaInMemoryUpload(data, mimetype="video/mp4", resumable=True)
    return str(service.files().create(body={"name": "d.mp4"}, media_body=media, fields="id").execute()["id"])


def test_download_in_chunks_with_range_through_the_real_client(drive: DriveServer) -> None:
    data = os.urandom(1_000_003)
    file_id = _uploaded(drive, data)
    service = drive_client(drive.root_url)
    out = io.BytesIO()
    downloader = MediaIoBaseDownload(out, service.files().get_media(fileId=file_id), chunksize=300_000)
    done, seen = False, []
    while not done:
        status, done = downloader.next_chunk()
        seen.append(status.resumable_progress)
    assert out.getvalue() == data and seen == [300_000, 600_000, 900_000, 1_000_003]
    got = [(r["range"], r["status"]) for r in drive.requests() if r["kind"] == "download"]
    assert got[0] == ("bytes=0-299999", 206) and got[-1] == ("bytes=900000-1199999", 206)


def test_download_range_edges_and_faults(drive: DriveServer) -> None:
    data = bytes(range(256)) * 40
    file_id = _uploaded(drive, data)
    url = f"{drive.root_url}drive/v3/files/{file_id}?alt=media"

    def get(range_: str | None) -> tuple[int, bytes, dict[str, str]]:
        req = urllib.request.Request(url, headers={"Range": range_} if range_ else {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    assert get(None)[:2] == (200, data)
    assert get("bytes=100-199")[1] == data[100:200]
    status, body, headers = get(f"bytes={len(data) - 5}-{len(data) + 100}")
    assert (status, body) == (206, data[-5:])
    assert headers["Content-Range"] == f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}"
    status, _, headers = get(f"bytes={len(data)}-")
    assert status == 416 and headers["Content-Range"] == f"bytes */{len(data)}"
    drive.drop_next_download(after_bytes=1000)
    with pytest.raises((ConnectionError, http.client.IncompleteRead, urllib.error.URLError)):
        get("bytes=0-")
    drive.corrupt_next("download")
    assert get("bytes=0-9")[1] == bytes([0xFF]) + data[1:10]


def test_folders_and_q_with_quotes_and_backslashes(drive: DriveServer) -> None:
    service = drive_client(drive.root_url)
    files = service.files()
    root = files.create(body={"name": "root", "mimeType": FOLDER_MIME}, fields="id,webViewLink").execute()
    assert root["webViewLink"] == f"https://drive.google.com/drive/folders/{root['id']}"
    names = ["it's", "back\\slash", "both\\'", "it", "plain"]
    ids = {
        n: files.create(body={"name": n, "mimeType": FOLDER_MIME, "parents": [root["id"]]}).execute()["id"]
        for n in names
    }
    files.create(body={"name": "it's", "parents": [root["id"]], "mimeType": "video/mp4"}).execute()

    def q_escape(s: str) -> str:
        return s.replace("\\", "\\\\").replace("'", "\\'")

    for name in names:
        q = (
            f"name = '{q_escape(name)}' and '{root['id']}' in parents "
            f"and mimeType = '{FOLDER_MIME}' and trashed = false"
        )
        found = files.list(q=q, fields="files(id,name)", pageSize=10).execute()["files"]
        assert found == [{"id": ids[name], "name": name}], name

    with pytest.raises(HttpError) as err:
        files.list(q="name = 'unterminated").execute()
    assert err.value.resp.status == 400
    with pytest.raises(HttpError):
        files.list(q="size > 3").execute()


def test_paging_small_pages_and_order_by_created_time(drive: DriveServer) -> None:
    service = drive_client(drive.root_url)
    files = service.files()
    created = [files.create(body={"name": f"f{i}"}, fields="id").execute()["id"] for i in range(5)]
    first = files.list(pageSize=100, q="trashed = false").execute()
    assert len(first["files"]) == 2 and "nextPageToken" in first  # short pages even when asked for 100

    seen: list[str] = []
    token = None
    while True:
        page = files.list(
            q="trashed = false",
            orderBy="createdTime",
            pageToken=token,
            fields="nextPageToken,files(id,createdTime)",
        ).execute()
        seen += [f["id"] for f in page["files"]]
        token = page.get("nextPageToken")
        if not token:
            break
    assert seen == created
    drive.max_page_size = 1000
    desc = files.list(orderBy="createdTime desc", pageSize=1000).execute()
    assert [f["id"] for f in desc["files"]] == created[::-1]
    assert "nextPageToken" not in desc


def test_get_permissions_and_delete(drive: DriveServer) -> None:
    files = drive_client(drive.root_url).files()
    folder = files.create(body={"name": "Room", "mimeType": FOLDER_MIME}, supportsAllDrives=True).execute()
    inner = files.create(body={"name": "x", "parents": [folder["id"]]}).execute()
    got = files.get(
        fileId=inner["id"],
        fields="id,name,size,md5Checksum,webViewLink,parents,createdTime,mimeType",
        supportsAllDrives=True,
    ).execute()
    assert got["parents"] == [folder["id"]] and got["size"] == "0"
    perm = (
        drive_client(drive.root_url)
        .permissions()
        .create(fileId=folder["id"], body={"role": "reader", "type": "anyone"})
        .execute()
    )
    assert perm["role"] == "reader" and perm["type"] == "anyone"
    assert files.delete(fileId=folder["id"]).execute() == ""
    with pytest.raises(HttpError) as err:
        files.get(fileId=inner["id"]).execute()  # descendants went with the folder
    assert err.value.resp.status == 404
    assert _detail(err.value)["reason"] == "notFound"
    assert drive.files() == []


def test_a_parent_that_does_not_exist_is_404_for_every_kind_of_create(drive: DriveServer, tmp_path: Path) -> None:
    files = drive_client(drive.root_url).files()
    folder = files.create(body={"name": "Room", "mimeType": FOLDER_MIME}).execute()
    files.delete(fileId=folder["id"]).execute()  # deleted meanwhile, as a person might in Drive's web page
    media = tmp_path / "a.bin"
    media.write_bytes(b"x" * 10)
    creates = {
        "metadata": lambda: files.create(body={"name": "Day", "mimeType": FOLDER_MIME, "parents": [folder["id"]]}),
        "multipart": lambda: files.create(body={"name": "a.bin", "parents": [folder["id"]]},
                                          media_body=MediaInMemoryUpload(b"x", resumable=False)),
        "resumable": lambda: files.create(body={"name": "a.bin", "parents": [folder["id"]]},
                                          media_body=MediaFileUpload(str(media), resumable=True)),
    }
    for kind, create in creates.items():
        with pytest.raises(HttpError) as err:
            create().execute()
        assert (err.value.resp.status, _detail(err.value)["reason"]) == (404, "notFound"), kind
    other = files.create(body={"name": "Other", "mimeType": FOLDER_MIME}).execute()
    with pytest.raises(HttpError) as err:
        files.update(fileId=other["id"], addParents=folder["id"], body={"name": "Renamed"}).execute()
    assert err.value.resp.status == 404 and drive.file(other["id"])["name"] == "Other"  # nothing changed
    assert drive.sessions_created() == 0 and [f["name"] for f in drive.files()] == ["Other"]
    # "root" and a shared drive the account has are always there.
    drive.add_shared_drive("0AsharedDriveId")
    for parent in ("root", "0AsharedDriveId"):
        files.create(body={"name": parent, "mimeType": FOLDER_MIME, "parents": [parent]},
                     supportsAllDrives=True).execute()


def test_error_bodies_have_googles_json_shape(drive: DriveServer) -> None:
    drive.fail_next("list", "rate_limit")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(drive.root_url + "drive/v3/files", timeout=5)
    body = json.loads(err.value.read())
    assert err.value.code == 403
    assert body["error"]["code"] == 403
    assert body["error"]["errors"][0] == {
        "domain": "usageLimits",
        "reason": "rateLimitExceeded",
        "message": "Rate Limit Exceeded",
    }


def test_about_reports_the_account_with_the_fields_asked_for(drive: DriveServer) -> None:
    about = drive_client(drive.root_url).about()
    assert about.get(fields="user(emailAddress,displayName)").execute() == {
        "user": {"emailAddress": "operator@example.edu", "displayName": "NVR Operator"}
    }
    drive.user_email = "someone@example.org"  # read per request
    assert about.get(fields="user/emailAddress").execute() == {"user": {"emailAddress": "someone@example.org"}}
    with pytest.raises(HttpError) as err:
        about.get().execute()  # Google refuses about.get without fields
    assert err.value.resp.status == 400
    drive.fail_next("about", "unauthorized")
    with pytest.raises(HttpError) as err:
        about.get(fields="user").execute()
    assert err.value.resp.status == 401


# ------------------------------------------------------------------------------ subprocess mode

_APP = textwrap.dedent(
    """
    import json, signal, sys, time
    from googleapiclient.http import MediaFileUpload
    from tests.support.drive_client_factory import drive_client

    root, path, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    service = drive_client(root)
    media = MediaFileUpload(path, mimetype="video/mp4", chunksize=256 * 1024, resumable=True)
    req = service.files().create(body={"name": "clip.mp4"}, media_body=media,
                                 fields="id,size,md5Checksum")
    if mode == "start":
        for _ in range(3):
            req.next_chunk()
        print(json.dumps({"uri": req.resumable_uri, "progress": req.resumable_progress}), flush=True)
        time.sleep(60)  # the test SIGKILLs us here
    else:
        # HttpRequest.from_json drops the session URI; the saved URI plus "in error state" makes the next
        # next_chunk() ask the server how far it got.
        req.resumable_uri = mode
        req._in_error_state = True
        resp = None
        while resp is None:
            _, resp = req.next_chunk()
        print(json.dumps(resp), flush=True)
    """
)


def _run_app(root: str, path: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _APP, root, str(path), mode], cwd=REPO, stdout=subprocess.PIPE, text=True
    )


def test_subprocess_server_keeps_state_across_app_kill_and_its_own_restart(
    tmp_path: Path, payload: tuple[Path, bytes]
) -> None:
    path, data = payload
    server = DriveServerProcess(tmp_path / "state").start()
    try:
        app = _run_app(server.root_url, path, "start")
        assert app.stdout is not None
        started = json.loads(app.stdout.readline())
        app.send_signal(signal.SIGKILL)
        app.wait()
        app.stdout.close()
        assert started["progress"] == 3 * KIB256

        # The server process itself restarts on the same port with the same state dir.
        server.kill()
        server.start()
        server.fail_next("status_query", "503")  # via the control endpoint
        failed = _run_app(server.root_url, path, started["uri"])
        failed.communicate(timeout=30)
        assert failed.returncode != 0

        resumed = _run_app(server.root_url, path, started["uri"])
        out, _ = resumed.communicate(timeout=30)
        resp = json.loads(out)
        assert resp["md5Checksum"] == hashlib.md5(data).hexdigest()
        assert server.file_bytes(resp["id"]) == data
        assert server.sessions_created() == 1
        first_chunk = next(r for r in server.requests() if r["kind"] == "upload_chunk")
        assert first_chunk["content_range"].startswith(f"bytes {3 * KIB256}-")
    finally:
        server.stop()
