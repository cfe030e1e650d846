"""Server deployment files, checked without systemd running or a Docker engine.

- The systemd unit parses (and passes `systemd-analyze verify` where that exists), and its
  ExecStart is a command line our own parser accepts.
- The container recipe's commands (CMD and HEALTHCHECK) are console scripts of the wheel built
  from this repository out of exactly the files the Dockerfile copies, with arguments our parser
  accepts; its settings give SQLite on /state by default and the .env example's MySQL URL when
  that is passed.
- The example config loads, lists every setting `nvr-console config show` knows, and still loads
  with every example value uncommented.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from dotenv import dotenv_values

from nvr_console.cli.parser import build_parser
from nvr_console.core import config as config_module
from nvr_console.core.config import OPTIONS, load_settings

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
UNIT = PACKAGING / "systemd" / "nvr-console.service"
DOCKERFILE = PACKAGING / "container" / "Dockerfile"
ENV_EXAMPLE = PACKAGING / "container" / ".env.example"
CONFIG_EXAMPLE = PACKAGING / "config.example.toml"


@pytest.fixture(autouse=True)
def no_system_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real /etc/nvr-console/config.toml on the machine must not change what these tests see.
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", tmp_path / "no-system-config.toml")


# --- systemd -------------------------------------------------------------------------------------


def read_unit() -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    return unit


def test_unit_runs_the_headless_recorder_as_nvr_and_stops_gently() -> None:
    unit = read_unit()
    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["ExecStart"] == "/usr/bin/nvr-console --no-gui --config /etc/nvr-console/config.toml"
    assert service["User"] == "nvr"
    # nvr-console speaks sd_notify (tests/core/system/test_systemd_notify.py): readiness and watchdog.
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["KillMode"] == "mixed"  # SIGTERM to nvr-console, which stops its FFmpegs itself
    assert int(service["TimeoutStopSec"]) >= 60  # time to finalize the open segments
    secrets = service["EnvironmentFile"].lstrip("-")
    assert secrets.startswith("/etc/nvr-console/") and "0600" in UNIT.read_text(encoding="utf-8")
    assert service["NoNewPrivileges"] == "yes"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_unit_execstart_is_a_command_line_we_accept() -> None:
    argv = shlex.split(read_unit()["Service"]["ExecStart"])
    args = build_parser().parse_args(argv[1:])
    assert args.no_gui and args.command is None
    assert str(args.config) == "/etc/nvr-console/config.toml"


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("NVRTEST_REQUIRE_SYSTEMD_ANALYZE") == "1":
            pytest.fail("systemd-analyze is missing but the test command requires it (apt-get install systemd)")
        pytest.skip("systemd-analyze not installed (Debian's systemd package provides it; scripts/test installs it)")
    return path


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    proc = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(_runnable_unit(tmp_path))], capture_output=True, text=True,
        timeout=60,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert not re.search(r"Unknown|ignoring|Failed to parse|Invalid", output), output


def _runnable_unit(tmp_path: Path) -> Path:
    # verify also insists that ExecStart's binary exists; the package is not installed here,
    # so point it at one that is. Every other line is checked as written.
    text = UNIT.read_text(encoding="utf-8").replace("ExecStart=/usr/bin/nvr-console ", f"ExecStart={sys.executable} ")
    copy = tmp_path / "nvr-console.service"
    copy.write_text(text, encoding="utf-8")
    return copy


def test_unit_exposure_score_is_the_one_the_readme_gives(tmp_path: Path) -> None:
    proc = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--no-pager", str(_runnable_unit(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    measured = re.search(r"Overall exposure level for \S+: (\d+\.\d)", proc.stdout)
    assert measured, proc.stdout + proc.stderr
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    documented = re.search(r"`systemd-analyze security` rates the unit (\d+\.\d)", readme)
    assert documented, "README.md must give the unit's exposure score"
    # Lower is better: a change that weakens the unit fails here; one that hardens it updates the README.
    assert measured[1] == documented[1], f"systemd-analyze says {measured[1]}, README.md says {documented[1]}"
    service = read_unit()["Service"]
    assert service["ProtectProc"] == "invisible" and service["UMask"] == "0027"


# --- container -----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    return [(s.split(None, 1)[0].upper(), s.split(None, 1)[1].strip()) for s in logical]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for op, args in final_stage():
        if op == "ENV":
            env.update(kv.split("=", 1) for kv in shlex.split(args))
    return env


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(a, str) for a in value), args
    return value


def test_image_is_slim_bookworm_non_root_with_ffmpeg_and_two_volumes() -> None:
    stage = final_stage()
    ops = dict(stage)  # last one of each kind
    assert ops["FROM"] == "python:3.11-slim-bookworm"
    apt = " ".join(args for op, args in stage if op == "RUN" and "apt-get install" in args)
    assert re.search(r"\bffmpeg\b", apt)
    assert ops["USER"] not in ("root", "0")
    assert set(exec_form(ops["VOLUME"])) == {"/recordings", "/state"}
    entrypoint = exec_form(ops["ENTRYPOINT"])
    assert entrypoint[0] == "/usr/bin/tini" and re.search(r"\btini\b", apt)  # installed by apt


def test_image_settings_sqlite_by_default_and_env_file_mysql_wins() -> None:
    env = image_env()
    assert env["NVR_RECORDING_DIR"] == "/recordings"
    settings = load_settings(env=env, cwd=Path("/"))
    assert settings.database.url == "sqlite:////state/nvr-console.sqlite3"
    assert settings.recording.dir == Path("/recordings")

    # `docker run --env-file .env`: the file's variables override the image's.
    env_file = {k: v for k, v in dotenv_values(ENV_EXAMPLE).items() if v is not None}
    assert env_file["SQLALCHEMY_DATABASE_URI"] == "mysql+pymysql://nvr:CHANGE_ME@db:3306/nvr"
    settings = load_settings(env={**env, **env_file}, cwd=Path("/"))
    assert settings.database.url == "mysql+pymysql://nvr:CHANGE_ME@db:3306/nvr"


def test_image_commands_are_console_scripts_of_the_wheel_built_from_the_copied_files(tmp_path: Path) -> None:
    instructions = dockerfile_instructions()
    # The wheel stage's COPY lines: build from exactly those files, as `docker build` would.
    src = tmp_path / "src"
    src.mkdir()
    for op, args in instructions[: instructions.index(final_stage()[0])]:
        if op == "COPY":
            *sources, _dest = args.split()
            for name in sources:
                path = REPO / name
                if path.is_dir():
                    shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(path, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "dist").glob("nvr_console-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        parsed = configparser.ConfigParser()
        parsed.read_string(zf.read(entry_points).decode())
    scripts = dict(parsed["console_scripts"])
    # The migrations must travel in the wheel, or the container cannot create its database.
    assert any(n.startswith("nvr_console/core/db/migrations/versions/") for n in names)

    stage = dict(final_stage())
    cmd = exec_form(stage["CMD"])
    health = exec_form(stage["HEALTHCHECK"].split(" CMD ", 1)[1])
    for argv in (cmd, health):
        assert argv[0] in scripts, f"{argv[0]} is not a console script of the wheel ({scripts})"
    assert build_parser().parse_args(cmd[1:]).no_gui
    health_args = build_parser().parse_args(health[1:])
    assert health_args.command == "status" and health_args.check and health_args.liveness


# --- example config ------------------------------------------------------------------------------

EXAMPLE_LINE = re.compile(r"^# ([a-z_]+) = (.+)$")


def uncommented_example() -> str:
    return "\n".join(
        line[2:] if EXAMPLE_LINE.match(line) else line
        for line in CONFIG_EXAMPLE.read_text(encoding="utf-8").splitlines()
    )


def test_example_config_loads_as_shipped(tmp_path: Path) -> None:
    settings = load_settings(CONFIG_EXAMPLE, env={}, cwd=tmp_path)
    assert settings.files == (CONFIG_EXAMPLE,)


def test_example_config_lists_every_setting_in_its_section() -> None:
    section, found = None, set()
    for line in CONFIG_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"^\[(\w+)\]$", line):
            section = m.group(1)
        elif m := EXAMPLE_LINE.match(line):
            found.add(f"{section}.{m.group(1)}")
    assert found == {o.name for o in OPTIONS}


def test_example_config_values_are_all_valid(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(uncommented_example(), encoding="utf-8")
    settings = load_settings(path, env={}, cwd=tmp_path)
    assert all(source == str(path) for _name, _value, source in settings.display())
