"""What the console asks Drive, off the UI thread, through the REAL google client over HTTP against the Drive
test server: the signed-in account on the Google action, and a room's folder name in the rooms editor."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.ui.app import build_console
from nvr_console.ui.main_window import MainWindow
from tests.support.drive_server import DriveServer
from tests.support.drive_token import ACCESS_TOKEN, SECRETS, write_fresh_token
from tests.ui.engine_double import EngineDouble


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


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def about_count(drive: DriveServer) -> int:
    return sum(1 for r in drive.requests() if r["kind"] == "about")


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
