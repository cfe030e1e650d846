"""`nvr-console drive ...`: sign-in over SSH (URL printed, fixed redirect port), token import, status, logout."""

from __future__ import annotations

import json
import os
import queue
import re
import stat
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from nvr_console.cli.main import main
from tests.support.http_receiver import Answer, HttpReceiver, Received
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[2]


def _token_endpoint(request: Received) -> Answer:
    """Google's token endpoint: swaps the authorization code for tokens."""
    form = request.form()
    if form.get("code") == ["the-code"] and form.get("grant_type") == ["authorization_code"]:
        return Answer(200, {"access_token": "acc", "refresh_token": "1//ref", "expires_in": 3600,
                            "scope": "https://www.googleapis.com/auth/drive.file", "token_type": "Bearer"})
    return Answer(400, {"error": "invalid_grant"})


@pytest.fixture
def google() -> Iterator[str]:
    with HttpReceiver() as rx:
        rx.route("POST", "/token", _token_endpoint)
        yield rx.url("")


def test_login_over_ssh_prints_the_url_and_saves_a_private_token(tmp_path: Path, google: str) -> None:
    client = tmp_path / "client_secret.json"
    client.write_text(json.dumps({"installed": {
        "client_id": "cid.apps.googleusercontent.com", "client_secret": "csecret",
        "auth_uri": f"{google}/auth", "token_uri": f"{google}/token", "redirect_uris": ["http://localhost"],
    }}))
    port = free_port()
    env = {**os.environ, "NVR_DRIVE_CREDENTIALS": str(client), "OAUTHLIB_INSECURE_TRANSPORT": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "nvr_console", "drive", "login", "--no-browser", "--port", str(port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    try:
        url = None
        out = ""
        while url is None:
            line = lines.get(timeout=20)
            out += line
            m = re.search(r"(http://127\.0\.0\.1:\d+/auth\?\S+)", line)
            url = m.group(1) if m else None
        while "ssh -L" not in out:
            out += lines.get(timeout=5)
        assert f"ssh -L {port}:localhost:{port}" in out
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert query["scope"] == ["https://www.googleapis.com/auth/drive.file"]
        # The operator's browser (through the tunnel) lands on the redirect with the code.
        redirect = f"http://localhost:{port}/?state={query['state'][0]}&code=the-code&scope={query['scope'][0]}"
        with urllib.request.urlopen(redirect, timeout=10) as resp:
            assert b"Signed in" in resp.read()
        proc.wait(timeout=20)
        rest = ""
        while not lines.empty():
            rest += lines.get()
    finally:
        proc.kill()
    assert proc.returncode == 0, out + rest
    token = Path(os.environ["XDG_CONFIG_HOME"]) / "nvr-console" / "drive-token.json"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "1//ref" and saved["client_id"] == "cid.apps.googleusercontent.com"
    assert "csecret" not in out + rest and "1//ref" not in out + rest


def test_import_token_status_and_logout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    src = tmp_path / "token.json"
    src.write_text(json.dumps({"client_id": "cid", "client_secret": "csecret", "refresh_token": "1//ref",
                               "token": "acc"}))
    assert main(["drive", "import-token", str(src), "--database-url", db]) == 0
    capsys.readouterr()
    assert main(["drive", "status", "--json", "--database-url", db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["destination"] == "drive"  # auto: a token exists
    assert data["sign_in"]["ok"] and data["sign_in"]["kind"] == "token_only"
    assert data["sign_in"]["token_mode"] == "0o600"
    assert main(["drive", "status", "--database-url", db]) == 0
    text = capsys.readouterr().out
    assert "saved token: ok" in text and "csecret" not in text and "1//ref" not in text
    assert main(["drive", "logout", "--database-url", db]) == 0
    assert main(["drive", "status", "--json", "--database-url", db]) == 0  # auto -> local archive now
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])["destination"] == "local"


def test_bad_token_file_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "nope.json"
    bad.write_text("{}")
    assert main(["drive", "import-token", str(bad)]) == 2
    assert "drive login" in capsys.readouterr().err


def test_status_says_which_engine_paused_uploads_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.session import Database
    from nvr_console.core.live_state.store import write_engine_status
    from nvr_console.core.status import QueueStatus

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    db = Database(url)
    prepare_database(db)
    reason = "the daily Google Drive upload limit was reached; uploads continue by themselves tomorrow"
    write_engine_status(db, 0.0, QueueStatus(4, 4000, 0.0, paused=True, reason=reason), node="nvr1:4242")
    db.dispose()
    main(["drive", "status", "--database-url", url])
    assert "uploads:      PAUSED on nvr1:4242 since " in (out := capsys.readouterr().out) and reason in out
    main(["drive", "status", "--json", "--database-url", url])
    data = json.loads(capsys.readouterr().out)
    assert data["paused"]["node"] == "nvr1:4242" and data["paused"]["reason"] == reason


def test_status_says_where_files_go_when_nobody_signed_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    monkeypatch.setenv("NVR_UPLOAD_LOCAL_DIR", str(tmp_path / "archive"))
    assert main(["drive", "status", "--database-url", db]) == 0
    out = capsys.readouterr().out
    assert f"files go to:  the local archive {tmp_path / 'archive'} (nobody signed in to Google Drive" in out
    assert "NOT READY" not in out and "sign-in:      not signed in: not needed now" in out
    assert main(["drive", "status", "--json", "--database-url", db]) == 0
    assert json.loads(capsys.readouterr().out)["files_go_to"].startswith("the local archive ")
    # Drive chosen on purpose with nobody signed in: then it is not ready, and says so.
    monkeypatch.setenv("NVR_UPLOAD_DESTINATION", "drive")
    assert main(["drive", "status", "--database-url", db]) == 1
    out = capsys.readouterr().out
    assert "files go to:  Google Drive, under 'NVR recordings'" in out and "not signed in: NOT READY" in out
    monkeypatch.setenv("NVR_UPLOAD_DESTINATION", "none")
    assert main(["drive", "status", "--database-url", db]) == 0
    assert "files go to:  nowhere: uploads are off" in capsys.readouterr().out


def test_status_json_reports_each_accounts_bytes_today_and_rooms_take_an_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """Two accounts: each its sign-in and today's bytes (every node's, Drive's Pacific day); a room is moved to
    the second account, and an account config.toml lacks is refused with the fix."""
    from nvr_console.core.db.migrate import prepare_database
    from nvr_console.core.db.session import Database
    from nvr_console.core.upload import drive_usage

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    config = tmp_path / "config.toml"
    config.write_text(
        '[drive]\ntoken = "default-token.json"\ndaily_limit = "750GB"\n\n'
        '[drive.accounts.campus2]\ntoken = "campus2-token.json"\n')
    common = ["--config", str(config), "--database-url", url]
    src = tmp_path / "token.json"
    src.write_text(json.dumps({"client_id": "cid", "client_secret": "csecret", "refresh_token": "1//ref",
                               "token": "acc"}))
    assert main(["drive", "import-token", str(src), *common]) == 0
    assert main(["drive", "import-token", str(src), "--account", "campus2", *common]) == 0
    assert (tmp_path / "campus2-token.json").exists() and (tmp_path / "default-token.json").exists()
    assert main(["drive", "login", "--account", "nope", *common]) == 2
    assert "'nope' is not in drive.accounts" in capsys.readouterr().err
    assert main(["rooms", "add", "A-101", *common]) == 0
    assert main(["rooms", "add", "B-202", *common]) == 0
    assert main(["rooms", "edit", "B-202", "--drive-account", "campus2", *common]) == 0
    assert main(["rooms", "edit", "A-101", "--drive-account", "campus3", *common]) == 2
    assert "campus3" in capsys.readouterr().err
    db = Database(url)
    prepare_database(db)
    drive_usage.add(db, "default", 2_000_000)
    drive_usage.add(db, "campus2", 3_000_000)
    drive_usage.add(db, "campus2", 4_000_000)  # another node's upload, same day
    db.dispose()
    capsys.readouterr()
    assert main(["drive", "status", "--json", *common]) == 0
    data = json.loads(capsys.readouterr().out)
    got = {a["account"]: a for a in data["accounts"]}
    assert list(got) == ["default", "campus2"]
    assert got["default"]["uploaded_today"] == 2_000_000 and got["campus2"]["uploaded_today"] == 7_000_000
    assert got["campus2"]["daily_limit"] == 750 * 1000**3 and got["campus2"]["limit_reached_at"] is None
    assert got["campus2"]["sign_in"]["ok"] and got["campus2"]["sign_in"]["token"].endswith("campus2-token.json")
    assert data["drive_day"] == drive_usage.drive_day().isoformat()
    assert main(["drive", "status", *common]) == 0
    text = capsys.readouterr().out
    assert "  campus2: 6.7 MiB uploaded, 0 B waiting" in text, text
    assert main(["rooms", "list", "--json", *common]) == 0
    rooms = {r["name"]: r["drive_account"] for r in json.loads(capsys.readouterr().out)}
    assert rooms == {"A-101": "default", "B-202": "campus2"}
