"""What the console asks Drive, off the UI thread, through the REAL google client over HTTP against the Drive
test server: the signed-in account on the Google action, and a room's folder name in the rooms editor."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.ui.app import build_console
from nvr_console.ui.dialogs.rooms_dialog import RoomsDialog
from nvr_console.ui.main_window import MainWindow
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import FOLDER_MIME, DriveServer
from tests.support.drive_token import ACCESS_TOKEN, SECRETS, write_fresh_token
from tests.support.ports import closed_url
from tests.ui.engine_double import EngineDouble

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"


@pytest.fixture
def drive() -> Iterator[DriveServer]:
    with DriveServer() as server:
        yield server


@pytest.fixture
def on_drive(settings_factory: Callable[..., Settings], drive: DriveServer) -> Callable[..., Settings]:
    """Settings that upload to the Drive test server (anonymous unless overridden), on the `db` fixture's file."""

    def make(**extra: Any) -> Settings:
        base: dict[str, Any] = {"upload.destination": "drive", "drive.api_root": drive.root_url,
                                "drive.credentials": "anonymous"}
        base.update(extra)
        return settings_factory(**base)

    return make


def about_count(drive: DriveServer) -> int:
    return sum(1 for r in drive.requests() if r["kind"] == "about")


def gets(drive: DriveServer) -> list[dict[str, Any]]:
    return [r for r in drive.requests() if r["kind"] == "get"]


def window(qtbot, settings: Settings, db: Database) -> MainWindow:  # type: ignore[no-untyped-def]
    w = build_console(settings, db, EngineDouble()).window
    w.close_question = lambda _active: "keep"  # type: ignore[method-assign]
    qtbot.addWidget(w)
    return w


# ------------------------------------------------------------------------------------------ Google action


def test_google_action_shows_the_account_the_drive_server_reports(qtbot, drive, on_drive, db) -> None:
    w = window(qtbot, on_drive(), db)
    assert w.google_action.text() == "Drive: test server"  # at once; the look-up runs in the background
    qtbot.waitUntil(lambda: w.google_action.text() == "Drive: test server (operator@example.edu)", timeout=10_000)
    assert "operator@example.edu (NVR Operator)" in w.google_action.toolTip()
    assert about_count(drive) == 1

    w.update_google_action()  # a label refresh: answered from the cache, no network
    assert w.google_action.text() == "Drive: test server (operator@example.edu)" and about_count(drive) == 1
    drive.user_email = "someone.else@example.edu"
    w.update_google_action(refresh=True)  # what a finished sign-in does
    qtbot.waitUntil(lambda: w.google_action.text() == "Drive: test server (someone.else@example.edu)",
                    timeout=10_000)


def test_signed_in_token_shows_google_and_the_email(qtbot, drive, on_drive, db, tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    client = tmp_path / "client_secret.json"
    client.write_text(json.dumps({"installed": {"client_id": "cid", "client_secret": "csecret"}}))
    w = window(qtbot, on_drive(**{"drive.credentials": client, "drive.token": token}), db)
    assert w.google_action.text() == "Sign in to Google" and about_count(drive) == 0

    write_fresh_token(token)  # as `drive login` leaves it; the console then refreshes the label
    drive.user_email = "lecturer@example.edu"
    w.update_google_action(refresh=True)
    qtbot.waitUntil(lambda: w.google_action.text() == "Google: lecturer@example.edu", timeout=10_000)
    assert w.google_action.toolTip().startswith("Signed in to Google Drive as lecturer@example.edu")
    assert next(r for r in drive.requests() if r["kind"] == "about")["authorization"] == f"Bearer {ACCESS_TOKEN}"


def test_failed_look_up_keeps_signed_in_and_says_why_without_secrets(qtbot, on_drive, db, tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    write_fresh_token(token)
    w = window(qtbot, on_drive(**{"drive.credentials": "", "drive.token": token, "drive.api_root": closed_url()}), db)
    qtbot.waitUntil(lambda: "could not be looked up" in w.google_action.toolTip(), timeout=15_000)
    tip = w.google_action.toolTip()
    assert w.google_action.text() == "Google: signed in"
    assert "cannot reach Google Drive" in tip and "check the network" in tip
    for secret in SECRETS:
        assert secret not in tip


def test_refused_sign_in_is_in_the_tooltip(qtbot, drive, on_drive, db) -> None:
    drive.fail_next("about", "unauthorized")
    w = window(qtbot, on_drive(), db)
    qtbot.waitUntil(lambda: "could not be looked up" in w.google_action.toolTip(), timeout=10_000)
    assert w.google_action.text() == "Drive: test server"
    assert "sign in again with `nvr-console drive login`" in w.google_action.toolTip()


def test_service_account_shows_its_email_without_network(qtbot, drive, on_drive, db, tmp_path: Path) -> None:
    key = tmp_path / "sa.json"
    key.write_text(json.dumps({"type": "service_account", "client_email": "nvr@campus.iam.gserviceaccount.com"}))
    w = window(qtbot, on_drive(**{"drive.credentials": key}), db)
    assert w.google_action.text() == "Google: nvr@campus.iam.gserviceaccount.com"
    assert drive.requests() == []


# ------------------------------------------------------------------------------------------ rooms editor


def make_folder(drive: DriveServer, name: str, **body: Any) -> str:
    return drive_client(drive.root_url).files().create(
        body={"name": name, "mimeType": FOLDER_MIME, **body}, fields="id").execute()["id"]


def rooms(qtbot, db: Database, settings: Settings | None) -> RoomsDialog:  # type: ignore[no-untyped-def]
    d = RoomsDialog(db, FFMPEG, settings=settings)
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: d.loaded, timeout=5_000)  # the room list comes from the database pool
    return d


def save(qtbot, d: RoomsDialog) -> None:  # type: ignore[no-untyped-def]
    d.save()
    qtbot.waitUntil(lambda: not d.busy, timeout=5_000)  # saved (or refused) on the database pool


def test_pasted_folder_link_shows_the_folder_name(qtbot, drive, on_drive, db) -> None:
    fid = make_folder(drive, "Lecture hall A & co")
    drive.reset_log()
    d = rooms(qtbot, db, on_drive())
    d.name.setText("A-101")
    for partial in ("https://drive.google.com/drive/folders/1x", "https://drive.google.com/drive/folders/1xy"):
        d.folder.setText(partial)  # typing: every change restarts the 400 ms wait
    d.folder.setText(f"https://drive.google.com/drive/folders/{fid}?usp=sharing")
    assert d.folder_info.text().startswith(f"Checking folder {fid}…")
    qtbot.waitUntil(lambda: "Lecture hall A" in d.folder_info.text(), timeout=10_000)
    assert d.folder_info.text().startswith("Folder “Lecture hall A &amp; co”")  # shown as text, not markup
    assert f"https://drive.google.com/drive/folders/{fid}" in d.folder_info.text()  # open in Drive
    assert [fid in r["path"] for r in gets(drive)] == [True]  # one request, for the final text only
    save(qtbot, d)
    assert catalog.get_room(db, "A-101").drive_folder == fid


def test_wrong_id_file_id_and_trashed_folder_say_what_is_wrong(qtbot, drive, on_drive, db) -> None:
    parent = make_folder(drive, "Recordings")
    clip = drive_client(drive.root_url).files().create(body={"name": "clip.mp4", "parents": [parent]},
                                                       fields="id").execute()["id"]
    old = make_folder(drive, "Old hall")
    drive_client(drive.root_url).files().update(fileId=old, body={"trashed": True}).execute()
    d = rooms(qtbot, db, on_drive())

    d.folder.setText("1NoSuchFolderIdAnywhere")
    qtbot.waitUntil(lambda: "visible" in d.folder_info.text(), timeout=10_000)
    assert d.folder_info.text().startswith(
        "no Drive folder with id 1NoSuchFolderIdAnywhere is visible to operator@example.edu; check the link or "
        "share the folder with operator@example.edu")
    assert "c62828" in d.folder_info.styleSheet()  # the error colour

    d.folder.setText(clip)
    qtbot.waitUntil(lambda: "not a folder" in d.folder_info.text(), timeout=10_000)
    assert d.folder_info.text().startswith(f"'clip.mp4' ({clip}) is a file, not a folder")

    d.folder.setText(old)
    qtbot.waitUntil(lambda: "trash" in d.folder_info.text(), timeout=10_000)


def test_an_answer_for_text_since_replaced_is_ignored(qtbot, drive, on_drive, db) -> None:
    first, second = make_folder(drive, "First"), make_folder(drive, "Second")
    drive.reset_log()
    drive.delay_next("get", 1.5)  # the first check answers late
    d = rooms(qtbot, db, on_drive())
    d.folder.setText(first)
    qtbot.waitUntil(lambda: len(gets(drive)) == 1, timeout=5_000)  # asked, not answered yet
    d.folder.setText(second)
    qtbot.waitUntil(lambda: "Second" in d.folder_info.text(), timeout=10_000)

    def both_answered() -> bool:  # by the server, and the late answer delivered to the dialog (it caches names)
        return len(gets(drive)) == 2 and all(r.get("status") == 200 for r in gets(drive)) and first in d._folder_names

    qtbot.waitUntil(both_answered, timeout=10_000)
    assert d.folder_info.text().startswith("Folder “Second”")


def test_offline_check_still_allows_saving(qtbot, on_drive, db) -> None:
    d = rooms(qtbot, db, on_drive(**{"drive.api_root": closed_url()}))
    d.name.setText("B-202")
    d.folder.setText("1SomeFolderId")
    qtbot.waitUntil(lambda: "Could not check" in d.folder_info.text(), timeout=15_000)
    assert "cannot reach Google Drive" in d.folder_info.text() and "Saving is still allowed" in d.folder_info.text()
    save(qtbot, d)
    assert catalog.get_room(db, "B-202").drive_folder == "1SomeFolderId"


@pytest.mark.parametrize("extra", [{"upload.destination": "none"}, {"upload.destination": "local"},
                                   {"drive.credentials": ""}])
def test_without_drive_the_id_and_link_are_shown_unchecked(qtbot, drive, on_drive, db, extra) -> None:
    d = rooms(qtbot, db, on_drive(**extra))
    d.name.setText("C-303")
    d.folder.setText("https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp?usp=sharing")
    assert d.folder_info.text().startswith("Folder id 1AbCdEfGhIjKlMnOp · <a href=")
    assert not d.folder_timer.isActive()
    save(qtbot, d)
    assert catalog.get_room(db, "C-303").drive_folder == "1AbCdEfGhIjKlMnOp" and drive.requests() == []
