"""`status --check` (Nagios codes, one line), `alerts list`, `alerts test` through `main()`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.live_state import store as live_status
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import CAMERA_DOWN, UPLOADS_PAUSED, Condition, Status
from tests.support.cli_run import run
from tests.support.http_receiver import HttpReceiver
from tests.support.smtp_peer import SmtpPeer


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'nvr.sqlite3').as_posix()}"


def database(url: str) -> Database:
    db = Database(url)
    prepare_database(db)
    return db


def fire(db: Database, cond: Condition) -> None:
    alert_store.apply(db, [cond], "n1", None)


def test_check_codes_for_each_case(capsys: pytest.CaptureFixture[str], url: str) -> None:
    db = database(url)
    try:
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 2 and out.startswith("NVR CRITICAL - no engine has reported |")
        assert run(capsys, "status", "--check", "--liveness", "--database-url", url)[0] == 1

        # An engine that stopped reporting 5 minutes ago.
        live_status.write_engine_status(db, time.time(), None, node="host:1")
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 0 and out.startswith("NVR OK - 0/0 cameras recording, 0 file(s) waiting for upload |")
        with db.session() as s:
            from nvr_console.core.db.models import EngineStatus

            s.get(EngineStatus, "host:1").updated_at = datetime.now(UTC) - timedelta(minutes=5)
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 2 and "engine silent for 5m00s (limit 1m00s)" in out
        live_status.write_engine_status(db, time.time(), None, node="host:1")

        fire(db, Condition("uploads_paused:node:n1", UPLOADS_PAUSED, "upload queue on n1", Status.ACTIVE, "full"))
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 1 and "NVR WARNING - 1 alert(s): upload queue on n1: uploads paused" in out
        fire(db, Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", Status.ACTIVE, "down 2m"))
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 2 and "NVR CRITICAL - 2 alert(s): A-101 / front: camera not recording" in out
        assert len(out.strip().splitlines()) == 1 and "alerts_firing=2" in out
        # The container's health check asks only whether the engine lives.
        code, out, _ = run(capsys, "status", "--check", "--liveness", "--database-url", url)
        assert code == 0 and out.startswith("NVR OK - engine alive |")

        code, out, _ = run(capsys, "alerts", "list", "--json", "--database-url", url)
        assert code == 0 and [a["rule"] for a in json.loads(out)] == ["camera_down", "uploads_paused"]
        code, out, _ = run(capsys, "alerts", "list", "--database-url", url)
        assert code == 0 and "A-101 / front" in out and "camera not recording" in out
    finally:
        db.dispose()


def test_check_with_unreachable_database_is_critical_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "--check", "--database-url",
                       "mysql+pymysql://nvr:Hunter2secret@127.0.0.1:1/nvr")
    assert code == 2 and out.startswith("NVR CRITICAL - cannot read the database")
    assert "Hunter2secret" not in out and len(out.strip().splitlines()) == 1


def test_alerts_test_says_which_channel_worked(capsys: pytest.CaptureFixture[str], url: str,
                                               tmp_path: Path) -> None:
    secrets = tmp_path / "smtp.toml"
    secrets.write_text('username = "nvr"\npassword = "Sm7pPassw0rd"\n')
    secrets.chmod(0o600)
    with SmtpPeer("starttls", "nvr", "Sm7pPassw0rd") as smtp, HttpReceiver() as rx:
        config = tmp_path / "config.toml"
        config.write_text(f'''[database]
url = "{url}"
[webhook]
url = "{rx.url('/hooks/T0KEN')}"
[email]
host = "127.0.0.1"
port = {smtp.port}
secrets_file = "{secrets}"
recipients = "ops@example.edu"
ca_file = "{smtp.cert_path}"
''')
        code, out, _ = run(capsys, "alerts", "test", "--config", str(config))
        assert code == 0, out
        assert f"webhook http://127.0.0.1:{rx.port}/***: sent" in out
        assert f"e-mail via 127.0.0.1:{smtp.port}: sent" in out
        assert rx.bodies()[0]["status"] == "test" and len(smtp.messages) == 1
        rx.fail_next(1, 404)
        code, out, _ = run(capsys, "alerts", "test", "--config", str(config))
        assert code == 1 and "FAILED: webhook http://127.0.0.1" in out and "HTTP 404" in out
    assert "T0KEN" not in out and "Sm7pPassw0rd" not in out


def test_alerts_test_without_channels_says_what_to_set(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code, _out, err = run(capsys, "alerts", "test", "--database-url", url)
    assert code == 2 and "set webhook.url or email.host" in err


def test_alerts_list_shows_ids_and_ack_takes_one_by_its_id(capsys: pytest.CaptureFixture[str], url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "anna")
    monkeypatch.setenv("LOGNAME", "anna")
    monkeypatch.setenv("NVR_NODE_NAME", "desk")
    db = database(url)
    try:
        fire(db, Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", Status.ACTIVE, "down 2m"))
        [alert] = alert_store.firing(db)
        code, out, _ = run(capsys, "alerts", "list", "--database-url", url)
        header, row = out.strip().splitlines()[:2]
        assert code == 0 and header.split()[0] == "ID" and row.split()[0] == str(alert.id)

        code, out, _ = run(capsys, "alerts", "ack", str(alert.id), "--note", "on my way", "--database-url", url)
        assert code == 0, out
        assert out.startswith(f"alert {alert.id} (A-101 / front) acknowledged by anna@desk at ")
        assert "(on my way)" in out
        code, out, _ = run(capsys, "alerts", "list", "--database-url", url)
        assert "anna@desk" in out and "[note: on my way]" in out
        code, out, _ = run(capsys, "alerts", "list", "--json", "--database-url", url)
        [listed] = json.loads(out)
        assert listed["acked_by"] == "anna@desk" and listed["ack_note"] == "on my way" and listed["acked_at"]

        # A second operator: told who took it, exit 1.
        code, out, _ = run(capsys, "alerts", "ack", str(alert.id), "--database-url", url)
        assert code == 1 and "was already acknowledged by anna@desk" in out
        code, _out, err = run(capsys, "alerts", "ack", "999", "--database-url", url)
        assert code == 2 and "no alert 999" in err and "alerts list" in err
        code, _out, err = run(capsys, "alerts", "ack", "front", "--database-url", url)
        assert code == 2 and "invalid int value" in err
    finally:
        db.dispose()


def test_check_names_an_acknowledged_alert_apart_and_is_not_raised_by_it(capsys: pytest.CaptureFixture[str], url: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """An operator took the alert on (`alerts ack`): the monitoring check stops failing on it, says who took it,
    and still fails on any alert nobody took."""
    monkeypatch.setenv("USER", "anna")
    monkeypatch.setenv("LOGNAME", "anna")
    monkeypatch.setenv("NVR_NODE_NAME", "desk")
    db = database(url)
    try:
        live_status.write_engine_status(db, time.time(), None, node="host:1")
        fire(db, Condition("camera_down:camera:1", CAMERA_DOWN, "A-101 / front", Status.ACTIVE, "down 2m"))
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 2 and "NVR CRITICAL - 1 alert(s): A-101 / front: camera not recording" in out
        [alert] = alert_store.firing(db)
        assert run(capsys, "alerts", "ack", str(alert.id), "--database-url", url)[0] == 0

        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 0, out
        assert out.startswith("NVR OK - 1 acknowledged: A-101 / front (by anna@desk), 0/0 cameras recording")
        assert "alerts_firing=1;;;0 alerts_acknowledged=1;;;0" in out and len(out.strip().splitlines()) == 1

        fire(db, Condition("uploads_paused:node:n1", UPLOADS_PAUSED, "upload queue on n1", Status.ACTIVE, "full"))
        code, out, _ = run(capsys, "status", "--check", "--database-url", url)
        assert code == 1, out
        assert out.startswith("NVR WARNING - 1 alert(s): upload queue on n1: uploads paused, 1 acknowledged: "
                              "A-101 / front (by anna@desk)")
        assert "alerts_firing=2;;;0 alerts_acknowledged=1;;;0" in out
        code, help_text, _ = run(capsys, "status", "--help")
        assert code == 0 and "acknowledged alert" in " ".join(help_text.split())
    finally:
        db.dispose()
