"""Downloads through the real google-api-python-client from the Drive-protocol test server."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from googleapiclient.http import MediaInMemoryUpload

from nvr_console.core.export.drive_download import Cancelled, DownloadFailed, download
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import DriveServer

CHUNK = 256 * 1024


@pytest.fixture
def drive() -> Iterator[DriveServer]:
    with DriveServer(body_timeout=0.5) as server:
        yield server


@pytest.fixture
def uploaded(drive: DriveServer) -> tuple[str, bytes]:
    data = os.urandom(5 * CHUNK + 777)
    service = drive_client(drive.root_url)
    media = MediaInMemoryUpload(data, mimetype="video/mp4", resumable=True)
    file_id = service.files().create(body={"name": "2026-11-27_10-00_A-101_front.mp4"}, media_body=media,
                                     fields="id").execute()["id"]
    drive.reset_log()
    return str(file_id), data


def _ranges(drive: DriveServer) -> list[str]:
    return [r["range"] for r in drive.requests() if r["kind"] == "download"]


def test_a_dropped_connection_continues_from_the_same_byte(drive: DriveServer, uploaded: tuple[str, bytes],
                                                          tmp_path: Path) -> None:
    file_id, data = uploaded
    drive.drop_next_download(after_bytes=1000, skip=2)  # the third chunk breaks after 1000 bytes
    seen: list[int] = []
    out = download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4",
                   expected_md5=hashlib.md5(data).hexdigest(), progress=lambda done, total: seen.append(done),
                   chunk=CHUNK, retry_base_s=0.01)
    assert out.read_bytes() == data and not (tmp_path / "p.mp4.part").exists()
    ranges = _ranges(drive)
    assert ranges[2] == ranges[3] == f"bytes={2 * CHUNK}-{3 * CHUNK - 1}"  # asked again from the same byte
    assert seen[-1] == len(data) and len(ranges) == 7


def test_a_partial_file_from_an_earlier_run_is_resumed(drive: DriveServer, uploaded: tuple[str, bytes],
                                                      tmp_path: Path) -> None:
    file_id, data = uploaded
    (tmp_path / "p.mp4.part").write_bytes(data[: 3 * CHUNK])
    out = download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", chunk=CHUNK)
    assert out.read_bytes() == data
    assert _ranges(drive) == [f"bytes={3 * CHUNK}-{4 * CHUNK - 1}", f"bytes={4 * CHUNK}-{5 * CHUNK - 1}",
                              f"bytes={5 * CHUNK}-{6 * CHUNK - 1}"]
    drive.reset_log()
    assert download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", chunk=CHUNK) == out
    assert _ranges(drive) == []  # already there and verified: nothing fetched


def test_corrupted_bytes_are_not_used(drive: DriveServer, uploaded: tuple[str, bytes], tmp_path: Path) -> None:
    file_id, _ = uploaded
    drive.corrupt_next("download", skip=1)
    with pytest.raises(DownloadFailed, match="did not verify"):
        download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", chunk=CHUNK)
    assert not list(tmp_path.iterdir())


def test_a_drive_copy_that_is_not_the_uploaded_file_is_refused(drive: DriveServer, uploaded: tuple[str, bytes],
                                                               tmp_path: Path) -> None:
    file_id, _ = uploaded
    with pytest.raises(DownloadFailed, match="is not the file that was uploaded"):
        download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", expected_md5="0" * 32)
    assert _ranges(drive) == []


def test_gone_from_drive_and_persistent_errors(drive: DriveServer, uploaded: tuple[str, bytes],
                                               tmp_path: Path) -> None:
    file_id, _ = uploaded
    with pytest.raises(DownloadFailed, match=r"no longer on Drive \(404\)"):
        download(drive_client(drive.root_url), "1NoSuchFileId0000000000", tmp_path / "x.mp4")
    drive.fail_next("download", "503", times=10)
    with pytest.raises(DownloadFailed, match="busy or failing"):
        download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", chunk=CHUNK, retries=2,
                 retry_base_s=0.01)


def test_cancel_stops_between_chunks(drive: DriveServer, uploaded: tuple[str, bytes], tmp_path: Path) -> None:
    file_id, _ = uploaded
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 2 * CHUNK:
            cancel.set()

    with pytest.raises(Cancelled):
        download(drive_client(drive.root_url), file_id, tmp_path / "p.mp4", chunk=CHUNK, progress=progress,
                 cancel=cancel)
    assert (tmp_path / "p.mp4.part").stat().st_size == 2 * CHUNK  # kept for a later run to resume
