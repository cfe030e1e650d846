"""DriveFolders against the Drive test server: the root folder's link-sharing follows `drive.share`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.upload.folders import DriveFolders
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import DriveServer


def _link_sharing(drive: DriveServer, folder_id: str) -> list[tuple[str, ...]]:
    return sorted((p["type"], p["role"], p.get("domain", "")) for p in drive.file(folder_id)["permissions"])


def test_root_sharing_follows_the_setting_at_every_start_and_keeps_peoples_own_permissions(
    db: Database, drive: DriveServer, drive_settings: Callable[..., Settings]
) -> None:
    service: Any = drive_client(drive.root_url)
    root = DriveFolders(drive_settings(**{"drive.share": "anyone"}), db).root(service)
    assert _link_sharing(drive, root.id) == [("anyone", "reader", "")]
    # Someone shares the folder with a colleague by hand in Drive: that is never undone.
    service.permissions().create(fileId=root.id, body={"type": "user", "role": "writer",
                                                       "emailAddress": "dean@example.edu"}).execute()

    # The administrator narrows it to the university's domain; the next start applies it.
    again = DriveFolders(drive_settings(**{"drive.share": "domain:example.edu"}), db).root(service)
    assert again.id == root.id
    assert _link_sharing(drive, root.id) == [("domain", "reader", "example.edu"), ("user", "writer", "")]

    # Back to private: the link-sharing goes, the colleague stays; asking again changes nothing more.
    folders = DriveFolders(drive_settings(**{"drive.share": "private"}), db)
    folders.root(service)
    assert _link_sharing(drive, root.id) == [("user", "writer", "")]
    before = len(drive.requests())
    folders.root(service)
    assert len(drive.requests()) == before  # applied once per run, not per file


def test_sharing_refused_is_logged_and_uploads_go_on(
    db: Database, drive: DriveServer, drive_settings: Callable[..., Settings], caplog: Any
) -> None:
    service: Any = drive_client(drive.root_url)
    drive.fail_next_with("permission", 403, "insufficientFilePermissions",
                         "The user does not have sufficient permissions for this file.")
    root = DriveFolders(drive_settings(**{"drive.share": "anyone"}), db).root(service)
    assert root.id
    assert "could not make the root folder's sharing match drive.share = anyone" in caplog.text
    assert "sign in as the folder's owner" in caplog.text
