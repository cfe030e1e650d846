"""Fixtures for the upload pipeline: the Drive test server, recordings on disk + rows, a fast Uploader."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.upload.uploader import Uploader
from tests.support.drive_server import FOLDER_MIME, DriveServer

KIB256 = 256 * 1024
SLOT = datetime(2026, 11, 23, 11, 30, tzinfo=UTC)  # 14:30 in Europe/Moscow


@pytest.fixture
def drive() -> Iterator[DriveServer]:
    with DriveServer(body_timeout=0.5) as server:
        yield server


@pytest.fixture
def drive_settings(settings_factory: Callable[..., Settings], drive: DriveServer) -> Callable[..., Settings]:
    def make(**extra: Any) -> Settings:
        base: dict[str, Any] = {
            "upload.destination": "drive", "drive.api_root": drive.root_url, "drive.credentials": "anonymous",
            "upload.chunk_size": "256KiB", "upload.workers": 2, "recording.timezone": "Europe/Moscow",
            "retention.delete_after": "never",
        }
        base.update(extra)
        return settings_factory(**base)

    return make


@dataclass(frozen=True)
class Rec:
    id: int
    path: Path
    data: bytes
    room: str
    camera: str
    slot: datetime

    @property
    def md5(self) -> str:
        return hashlib.md5(self.data).hexdigest()


@pytest.fixture
def make_recording(db: Database, tmp_path: Path) -> Callable[..., Rec]:
    def make(room: str = "A-101", camera: str = "front", slot: datetime = SLOT, size: int = 3 * KIB256 + 1234,
             status: str = "ready") -> Rec:
        data = os.urandom(size)
        name = f"{slot:%H-%M-%S}-{os.urandom(3).hex()}.mp4"
        path = tmp_path / "recordings" / room / camera / f"{slot:%Y-%m-%d}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        with db.session() as s:
            # Recorded by this machine's node (node.name defaults to the host name): its file is here.
            r = Recording(room_name=room, camera_name=camera, slot_start=slot, local_path=str(path),
                          local_path_key=catalog.path_key(str(path)), status=status, size=size,
                          node=socket.gethostname())
            s.add(r)
            s.flush()
            rid = r.id
        return Rec(rid, path, data, room, camera, slot)

    return make


def row(db: Database, rid: int) -> Recording:
    with db.session() as s:
        r = s.get(Recording, rid)
        assert r is not None
        return r


def statuses(db: Database) -> dict[int, str]:
    with db.session() as s:
        return {r.id: r.status for r in s.scalars(select(Recording))}


def fast_uploader(settings: Settings, db: Database, **kw: Any) -> Uploader:
    opts: dict[str, Any] = {"lease_s": 5.0, "retry_base_s": 0.05, "poll_s": 0.3, "probe_s": 3600.0,
                            "retention_every_s": 3600.0}
    opts.update(kw)
    return Uploader(settings, db, **opts)


def wait_all_uploaded(qtbot: Any, db: Database, timeout_ms: int = 30000) -> None:
    def done() -> None:
        st = statuses(db)
        assert st and all(s == "uploaded" for s in st.values()), st

    qtbot.waitUntil(done, timeout=timeout_ms)


def drive_files(drive: DriveServer) -> list[dict[str, Any]]:
    return [f for f in drive.files() if f["mimeType"] != FOLDER_MIME]


def drive_folders(drive: DriveServer) -> list[dict[str, Any]]:
    return [f for f in drive.files() if f["mimeType"] == FOLDER_MIME]


def assert_each_once(drive: DriveServer, recs: list[Rec]) -> None:
    """Every recording is on Drive exactly once, byte-identical; and no folder is duplicated."""
    files = drive_files(drive)
    assert len(files) == len(recs), [f["name"] for f in files]
    by_md5 = {f["md5Checksum"]: f for f in files}
    for r in recs:
        f = by_md5[r.md5]
        assert drive.file_bytes(f["id"]) == r.data
    seen = set()
    for folder in drive_folders(drive):
        key = (folder["name"], tuple(folder["parents"]))
        assert key not in seen, f"duplicate folder {key}"
        seen.add(key)


def folder_path(drive: DriveServer, file_id: str) -> list[str]:
    """Names from the top folder down to the file."""
    by_id = {f["id"]: f for f in drive.files()}
    names = []
    cur = by_id[file_id]
    while True:
        names.append(cur["name"])
        parent = cur["parents"][0]
        if parent not in by_id:
            break
        cur = by_id[parent]
    return names[::-1]


@pytest.fixture
def started(qtbot: Any) -> Iterator[Callable[[Uploader], Uploader]]:
    """Start uploaders and always stop them at the end of the test."""
    ups: list[Uploader] = []

    def start(up: Uploader) -> Uploader:
        ups.append(up)
        up.start()
        return up

    yield start
    for up in ups:
        up.stop(5)


def later(minutes: int) -> datetime:
    return SLOT + timedelta(minutes=minutes)
