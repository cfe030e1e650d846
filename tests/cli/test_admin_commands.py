"""The admin commands through `main()` (in-process) and the real entry points (subprocess)."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nvr_console.core.db import migrate
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from tests.support.cli_run import run

PASSWORD = "Zq9-very-secret"


def test_cameras_add_and_list_json_round_trip(capsys: pytest.CaptureFixture[str], any_db_url: str) -> None:
    db = ("--database-url", any_db_url)
    assert run(capsys, "rooms", "add", "A-101", "--sound-source", f"rtsp://mic:{PASSWORD}@10.0.0.9/a", *db)[0] == 0
    code, out, _ = run(capsys, "cameras", "add", "--room", "A-101", "--name", "front",
                       "--url", f"rtsp://admin:{PASSWORD}@10.0.0.5/stream", *db)
    assert code == 0 and "rtsp://admin:***@10.0.0.5/stream" in out
    code, out, err = run(capsys, "cameras", "list", "--json", *db)
    assert code == 0, err
    cams = json.loads(out)
    assert code == 0 and len(cams) == 1
    assert cams[0] | {"created_at": None, "updated_at": None, "id": None, "room_id": None} == {
        "id": None, "room_id": None, "room": "A-101", "name": "front",
        "stream_url": "rtsp://admin:***@10.0.0.5/stream", "rtsp_transport": "tcp", "enabled": True,
        "desired_state": "recording", "created_at": None, "updated_at": None,
        # Several machines: the pin, and who holds the camera's lease (nobody records it yet).
        "pinned_node": None, "node": None, "lease_expires": None, "node_alive": False, "live_url": None,
    }
    assert run(capsys, "cameras", "disable", "--room", "A-101", "--name", "front", *db)[0] == 0
    assert json.loads(run(capsys, "cameras", "list", "--json", *db)[1])[0]["enabled"] is False
    rooms = json.loads(run(capsys, "rooms", "list", "--json", *db)[1])
    assert rooms[0]["camera_count"] == 1 and PASSWORD not in json.dumps(rooms)


def test_cameras_edit_live_url_sets_masks_and_clears_it(capsys: pytest.CaptureFixture[str], any_db_url: str) -> None:
    db = ("--database-url", any_db_url)
    assert run(capsys, "rooms", "add", "A-101", *db)[0] == 0
    code = run(capsys, "cameras", "add", "--room", "A-101", "--name", "front", "--url", "rtsp://10.0.0.5/main", *db)[0]
    assert code == 0
    live = f"rtsp://admin:{PASSWORD}@10.0.0.5/sub"
    code, out, err = run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--live-url", live, *db)
    assert code == 0, err
    assert "live wall plays rtsp://admin:***@10.0.0.5/sub" in out and PASSWORD not in out + err
    code, out, _ = run(capsys, "cameras", "list", "--json", *db)
    (cam,) = json.loads(out)
    assert cam["live_url"] == "rtsp://admin:***@10.0.0.5/sub" and cam["stream_url"] == "rtsp://10.0.0.5/main"
    assert PASSWORD not in out
    # A bad live URL is refused with the field's name; the one set stays.
    code, _, err = run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--live-url", "ftp://h/x", *db)
    assert code != 0 and "live URL" in err
    # Another edit leaves it alone; '' clears it (the wall plays the recorded stream again).
    assert run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--transport", "udp", *db)[0] == 0
    assert json.loads(run(capsys, "cameras", "list", "--json", *db)[1])[0]["live_url"] == "rtsp://admin:***@10.0.0.5/sub"
    assert run(capsys, "cameras", "edit", "--room", "A-101", "--name", "front", "--live-url", "", *db)[0] == 0
    assert json.loads(run(capsys, "cameras", "list", "--json", *db)[1])[0]["live_url"] is None


def test_recordings_list_json_fields(capsys: pytest.CaptureFixture[str], settings, db: Database) -> None:
    from zoneinfo import ZoneInfo

    from nvr_console.core.upload.naming import assign_remote_name

    with db.session() as s:
        row = Recording(room_name="A", camera_name="front", slot_start=datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
                        local_path="/r/A/front/2026-11-23/12-30-00.mp4", local_path_key="k", status="ready",
                        size=1234, duration=1800.0, md5="0" * 32, node="rec-2")
        s.add(row)
        s.flush()
        row_id = row.id
    # The name the uploader gives it before its first upload.
    name = assign_remote_name(db, row_id, ZoneInfo("Europe/Moscow"))
    code, out, _ = run(capsys, "recordings", "list", "--json", "--status", "ready", "--camera", "front",
                       "--database-url", settings.database.url)
    (rec,) = json.loads(out)
    assert code == 0
    for key in ("id", "room", "camera", "slot_start", "local_path", "size", "duration", "status", "drive_file_id",
                "web_link", "md5", "last_error", "destination"):
        assert key in rec
    assert rec["slot_start"] == "2026-11-23T09:30:00+00:00" and rec["size"] == 1234
    # Which machine holds it, and what it is called on Drive or in the archive (issue 17).
    assert rec["node"] == "rec-2" and name and rec["remote_name"] == name and name.endswith(".mp4")


@pytest.mark.parametrize(("argv", "needle"), [
    (["cameras", "add", "--room", "A", "--name", "x", "--url", "ftp://h/x"], "scheme 'ftp'"),
    (["cameras", "add", "--room", "Nope", "--name", "x", "--url", "rtsp://h/x"], "no room named 'Nope'"),
    (["rooms", "add", "a/b"], "cannot be used in file and folder names"),
    (["rooms", "add", "B", "--drive-folder", "https://example.com/x"], "neither a folder id nor a folder link"),
    (["cameras", "add", "--room", "A", "--name", "x", "--url", "rtsp://h/x", "--transport", "http"],
     "invalid choice"),
    (["cameras", "add", "--room", "A", "--url", "rtsp://h/x"], "--name"),
    (["recordings", "list", "--status", "done"], "invalid choice"),
    (["cameras", "remove", "--room", "A", "--name", "ghost"], "has no camera named 'ghost'"),
])
def test_invalid_input_exits_2_with_one_clear_line(capsys: pytest.CaptureFixture[str], settings, argv, needle) -> None:
    db = ["--database-url", settings.database.url]
    assert run(capsys, "rooms", "add", "A", *db)[0] == 0
    code, _out, err = run(capsys, *argv, *db)
    assert code == 2, err
    assert needle in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("env", "needle"), [
    ({"NVR_RECORDING_SEGMENT_LENGTH": "-5"}, "invalid setting recording.segment_length = '-5'"),
    ({"NVR_RECORDING_TIMEZONE": "Nowhere/Land"}, "invalid setting recording.timezone"),
    ({"NVR_DATABASE_URL": "::::"}, "invalid setting database.url"),
    ({"NVR_UPLOAD_WORKERS": "-1"}, "invalid setting upload.workers"),
    ({"NVR_BOGUS": "1"}, "unknown environment variable NVR_BOGUS"),
])
def test_invalid_settings_exit_2(capsys, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], needle: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code, _, err = run(capsys, "cameras", "list")
    assert code == 2 and needle in err and err.count("\n") == 1


def test_unwritable_recordings_dir_stops_start_before_anything(capsys, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("NVR_RECORDING_DIR", str(tmp_path / "f" / "rec"))
    code, _, err = run(capsys, "--no-gui")
    assert code == 2 and "invalid setting recording.dir" in err and "cannot use folder" in err


def test_unknown_key_in_config_file(capsys, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[upload]\nworkerz = 3\n")
    code, _, err = run(capsys, "--config", str(cfg), "config", "show")
    assert code == 2 and "unknown setting upload.workerz; did you mean upload.workers?" in err


def test_database_down_is_exit_1_with_host_and_port(capsys) -> None:
    code, _, err = run(capsys, "cameras", "list", "--database-url", f"mysql+pymysql://nvr:{PASSWORD}@127.0.0.1:1/nvr")
    assert code == 1
    assert "127.0.0.1:1" in err and PASSWORD not in err and "Traceback" not in err


def test_no_password_in_any_output(capsys, monkeypatch: pytest.MonkeyPatch, settings) -> None:
    db = ["--database-url", settings.database.url]
    outputs = []
    for argv in (["rooms", "add", "R", "--sound-source", f"rtsp://u:{PASSWORD}@m/a"],
                 ["cameras", "add", "--room", "R", "--name", "c", "--url", f"rtsp://u:{PASSWORD}@c/s"],
                 ["cameras", "list"], ["cameras", "list", "--json"], ["rooms", "list"], ["rooms", "list", "--json"],
                 ["cameras", "add", "--room", "R", "--name", "c", "--url", f"rtsp://u:{PASSWORD}@c/s"],
                 ["cameras", "add", "--room", "R", "--name", "d", "--url", f"ftp://u:{PASSWORD}@c/s"]):
        outputs.append(run(capsys, *argv, *db))
    monkeypatch.setenv("SQLALCHEMY_DATABASE_URI", f"mysql://nvr:{PASSWORD}@db.example/nvr")
    outputs.append(run(capsys, "config", "show"))
    outputs.append(run(capsys, "config", "show", "--json"))
    text = "".join(o + e for _, o, e in outputs)
    assert "rtsp://u:***@c/s" in text and "mysql+pymysql://nvr:***@db.example/nvr" in text
    assert PASSWORD not in text


def test_config_show_names_sources(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NVR_UPLOAD_WORKERS", "4")
    code, out, _ = run(capsys, "config", "show", "--json")
    data = json.loads(out)
    assert code == 0 and data["upload.workers"] == {"value": "4", "source": "NVR_UPLOAD_WORKERS"}
    assert data["recording.segment_length"] == {"value": "30m", "source": "default"}


def test_db_commands(capsys, settings) -> None:
    db = ["--database-url", settings.database.url]
    code, out, _ = run(capsys, "db", "current", *db)
    assert code == 0 and out.startswith("(none)  empty")
    code, out, _ = run(capsys, "db", "upgrade", *db)
    head = migrate.head_revision()
    assert code == 0 and f"migrated from empty to {head}" in out
    code, out, _ = run(capsys, "db", "current", *db)
    assert out.startswith(f"{head}  up to date")


def test_entry_points_run(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("nvr-console")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("nvr-console ")
    helptext = subprocess.run([sys.executable, "-m", "nvr_console", "--help"], capture_output=True, text=True,
                              check=True).stdout
    for word in ("--no-gui", "--demo", "rooms", "cameras", "recordings", "exit codes", "examples"):
        assert word in helptext
    bad = subprocess.run([str(exe), "cameras", "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_status_json(capsys, settings) -> None:
    db = ["--database-url", settings.database.url]
    run(capsys, "rooms", "add", "A", *db)
    run(capsys, "cameras", "add", "--room", "A", "--name", "front", "--url", "rtsp://h/x", *db)
    code, out, _ = run(capsys, "status", "--json", *db)
    data = json.loads(out)
    assert code == 0 and data["cameras"][0]["camera"] == "front" and data["cameras"][0]["state"] == "unknown"
    assert data["queue"]["waiting_files"] == 0
    code, out, _ = run(capsys, "status", *db)
    assert code == 0 and "upload queue: 0 file(s)" in out


def test_removing_a_name_that_does_not_exist_never_suggests_adding_it(capsys: pytest.CaptureFixture[str],
                                                                     settings) -> None:  # type: ignore[no-untyped-def]
    db = ["--database-url", settings.database.url]
    assert run(capsys, "rooms", "add", "A-101", *db)[0] == 0
    assert run(capsys, "cameras", "add", "--room", "A-101", "--name", "front", "--url", "rtsp://h/x", *db)[0] == 0
    code, _, err = run(capsys, "rooms", "remove", "Physics lab", *db)
    assert code == 2 and err == "nvr-console: error: no room named 'Physics lab'; rooms: A-101\n"
    code, _, err = run(capsys, "rooms", "remove", "A-10", *db)
    assert code == 2 and err == "nvr-console: error: no room named 'A-10'; did you mean 'A-101'?\n"
    code, _, err = run(capsys, "cameras", "remove", "--room", "A-101", "--name", "back", *db)
    assert code == 2 and err == "nvr-console: error: room 'A-101' has no camera named 'back'; cameras: front\n"


@pytest.mark.parametrize(("content", "needle"), [
    (b"[recording]\nwindow = \"Mon\xa0-Sat\"\n", "is not UTF-8 text: byte 0xa0 at offset 25 (line 2)"),
    (None, "is a folder, not a file"),
])
def test_a_config_file_that_cannot_be_read_is_one_line_and_exit_2(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None, needle: str) -> None:
    cfg = tmp_path / "config.toml"
    if content is None:
        cfg.mkdir()
    else:
        cfg.write_bytes(content)
    code, out, err = run(capsys, "--config", str(cfg), "config", "show")
    assert (code, out) == (2, "")
    assert err.splitlines() == [err.rstrip("\n")] and needle in err and str(cfg) in err
