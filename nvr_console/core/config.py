"""One settings object, loaded in layers (later wins):

built-in defaults -> /etc/nvr-console/config.toml -> the user's config.toml (or `--config PATH`
instead of both) -> `.env` in the working directory -> environment (`NVR_SECTION_KEY`, and the
original service's `SQLALCHEMY_DATABASE_URI`) -> command-line flags.

Every option is declared once in `OPTIONS`: typed, with its default, what it expects, a help line, the kind
of value it holds, whether a running engine applies it at once, and the label the console's Settings dialog
shows it under (self-describing options, as Picard declares its own). A bad value stops start-up with one
line that names the key, the value, where it came from and what is expected.

What a Settings was built from (which files, the environment, the flags) is kept with it as
`SettingsInputs`, so the console reloads after a save with exactly the layers it started with.
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from nvr_console import APP_NAME
from nvr_console.core.close_matches import close_matches
from nvr_console.core.durations import format_duration, parse_duration
from nvr_console.core.masking import mask_secrets, redact_url_path
from nvr_console.core.schedule.window import EXPECTED as WINDOW_EXPECTED
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.sizes import format_size, parse_size
from nvr_console.core.stream_url import parse_drive_folder

SYSTEM_CONFIG = Path("/etc/nvr-console/config.toml")
GOOGLE_API_ROOT = "https://www.googleapis.com/"
CHUNK_QUANTUM = 256 * 1024  # Drive wants every chunk but the last to be a multiple of 256 KiB


class ConfigError(ValueError):
    """A setting that cannot be used. `str()` is the one line shown to the operator."""

    def __init__(self, key: str, value: object, expected: str, source: str = "", reason: str = "") -> None:
        self.key, self.value, self.expected, self.source = key, value, expected, source
        shown = mask_secrets(str(value))
        where = f" (from {source})" if source else ""
        why = f": {reason}" if reason else ""
        super().__init__(f"invalid setting {key} = {shown!r}{where}{why}; expected {expected}")


class ConfigFileError(ValueError):
    """The config file itself is missing or is not TOML."""


# ---------------------------------------------------------------------------------------------
# Value parsers: each takes the raw value (TOML value or string) and returns the typed value,
# raising ValueError whose text becomes the `reason` of the ConfigError.


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("not text")
    return v.strip()


def _path(v: Any) -> Path:
    text = _str(v)
    if not text:
        raise ValueError("empty path")
    return Path(os.path.expandvars(text)).expanduser()


def _optional_path(v: Any) -> Path | None:
    return None if not _str(v) else _path(v)


def _positive_duration(lo: float, hi: float) -> Callable[[Any], float]:
    def parse(v: Any) -> float:
        seconds = parse_duration(v)
        if not lo <= seconds <= hi:
            raise ValueError(f"out of range {format_duration(lo)}..{format_duration(hi)}")
        return seconds

    return parse


def _segment_length(v: Any) -> float:
    # FFmpeg's segment muxer is given whole seconds and files are named to the second: 1.5 s would be
    # cut every 2 s under a name that says otherwise. Refused, not rounded, so the file says what happens.
    seconds = _positive_duration(1, 86400)(v)
    if seconds != int(seconds):
        raise ValueError(f"{format_duration(seconds)} is not a whole number of seconds")
    return seconds


def _int_range(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        if isinstance(v, bool):
            raise ValueError("not a whole number")
        n = int(v) if isinstance(v, int) else int(_str(v))
        if not lo <= n <= hi:
            raise ValueError(f"out of range {lo}..{hi}")
        return n

    return parse


def _chunk_size(v: Any) -> int:
    n = parse_size(v)
    if n < CHUNK_QUANTUM or n % CHUNK_QUANTUM or n > 1024**3:
        raise ValueError("must be a multiple of 256 KiB between 256 KiB and 1 GiB")
    return n


def _choice(*choices: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        text = _str(v).lower()
        if text not in choices:
            raise ValueError("not one of the choices")
        return text

    return parse


def _timezone(v: Any) -> str:
    text = _str(v)
    if text.lower() in ("", "local", "system"):
        return "local"
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone") from None
    return text


def _window(v: Any) -> RecordingWindow:
    return RecordingWindow.parse(_str(v))


def _database_url(v: Any) -> str:
    text = _str(v)
    try:
        url = make_url(text)
    except ArgumentError:
        raise ValueError("not a database URL") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return text
    if backend in ("mysql", "mariadb"):
        if url.get_driver_name() in ("mysqldb", "") or "+" not in url.drivername:
            # The original service wrote mysql://; we talk to it through PyMySQL.
            url = url.set(drivername=f"{backend}+pymysql")
        if url.get_driver_name() != "pymysql":
            raise ValueError("only the pymysql driver is supported for MySQL/MariaDB")
        if not url.host:
            raise ValueError("no host")
        return url.render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}")


def _api_root(v: Any) -> str:
    text = _str(v)
    if not re.match(r"^https?://[^/\s]+(/.*)?$", text):
        raise ValueError("not an http(s) URL")
    return text if text.endswith("/") else text + "/"


def _credentials(v: Any) -> str:
    text = _str(v)
    if text.lower() == "anonymous":
        return "anonymous"
    return str(Path(text).expanduser()) if text else ""


DEFAULT_DRIVE_ACCOUNT = "default"  # the account of [drive] credentials/token; rooms with no account use it
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class DriveAccount:
    """One Google account (or service account) of `drive.accounts`: its own credentials and token file."""

    name: str
    credentials: str
    token: Path

    def resolved(self, base: Path) -> DriveAccount:
        """Relative paths taken from the folder of the file that named them (as every other path option)."""
        cred = self.credentials
        if cred and cred != "anonymous" and not Path(cred).is_absolute():
            cred = str(base / cred)
        return DriveAccount(self.name, cred, self.token if self.token.is_absolute() else base / self.token)


def _drive_accounts(v: Any) -> tuple[DriveAccount, ...]:
    """`[drive.accounts.NAME]` tables (credentials, token) in config.toml; a JSON object of the same shape in
    the environment or on the command line."""
    if isinstance(v, str):
        import json

        try:
            v = json.loads(v) if v.strip() else {}
        except ValueError:
            raise ValueError("not a JSON object of name -> {credentials, token}") from None
    if isinstance(v, list):  # [[drive.accounts]] with a name key
        if not all(isinstance(e, dict) and "name" in e for e in v):
            raise ValueError("every [[drive.accounts]] entry needs a name")
        v = {str(e["name"]): {k: x for k, x in e.items() if k != "name"} for e in v}
    if not isinstance(v, dict):
        raise ValueError("not a table of accounts")
    out = []
    for name, entry in v.items():
        if not _ACCOUNT_NAME.match(str(name)):
            raise ValueError(f"account name {name!r} must be letters, digits, '.', '_' or '-' (at most 64)")
        if name == DEFAULT_DRIVE_ACCOUNT:
            raise ValueError(f"{name!r} is the account of [drive] credentials and token; give this one another name")
        if not isinstance(entry, dict):
            raise ValueError(f"account {name!r} must be a table with credentials and token")
        unknown = set(entry) - {"credentials", "token"}
        if unknown:
            raise ValueError(f"account {name!r}: unknown key(s) {', '.join(sorted(unknown))} (credentials, token)")
        cred = _credentials(entry.get("credentials", ""))
        # No token given: <name>-token.json beside the config file (a service account needs none).
        token = str(entry.get("token") or f"{name}-token.json")
        out.append(DriveAccount(str(name), cred, Path(token).expanduser()))
    return tuple(sorted(out, key=lambda a: a.name))


def _share(v: Any) -> str:
    text = _str(v)
    if text.lower() in ("private", "anyone"):
        return text.lower()
    if re.match(r"^domain:[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", text):
        return text
    raise ValueError("unknown sharing mode")


def _delete_after(v: Any) -> float | None:
    if isinstance(v, str) and v.strip().lower() in ("never", "keep"):
        return None
    return parse_duration(v)


def _off_or_duration(lo: float, hi: float) -> Callable[[Any], float | None]:
    """A duration, or 'off' (None): an alert rule that can be switched off."""
    inner = _positive_duration(lo, hi)

    def parse(v: Any) -> float | None:
        if isinstance(v, str) and v.strip().lower() in ("off", "never", "no", "false"):
            return None
        if isinstance(v, bool) and not v:
            return None
        return inner(v)

    return parse


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = _str(v).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true or false")


def _listen(v: Any) -> str:
    """`HOST:PORT`, `[::1]:PORT` or a bare `PORT` (loopback); empty = off."""
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    text = _str(v)
    if not text or text.lower() == "off":
        return ""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    host = host.strip("[]") or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) <= 65535:  # 0: any free port (tests)
        raise ValueError("no port from 1 to 65535")
    if not re.match(r"^[A-Za-z0-9.:_-]+$", host):
        raise ValueError("not a host name or address")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _http_url(v: Any) -> str:
    text = _str(v)
    if text and not re.match(r"^https?://[^/\s]+(/\S*)?$", text):
        raise ValueError("not an http(s) URL")
    return text


def _addresses(v: Any) -> tuple[str, ...]:
    items = v if isinstance(v, list) else _str(v).split(",")
    out = tuple(_str(i) for i in items if _str(i))
    for addr in out:
        if not re.match(r"^[^@\s,]+@[^@\s,]+$", addr):
            raise ValueError(f"{addr!r} is not an e-mail address")
    return out


# ---------------------------------------------------------------------------------------------


def default_dirs() -> dict[str, Path]:
    """Per-user folders (platformdirs), so nothing lands in the working directory by surprise."""
    data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    videos = Path(platformdirs.user_videos_dir())
    return {
        "config": Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        "data": data,
        "log": Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        # A server account often has no ~/Videos; fall back to the data dir then.
        "recordings": (videos / APP_NAME) if videos.is_dir() else data / "recordings",
    }


class Kind(StrEnum):
    """What an option's value is, so a front end can offer a fitting editor (the console maps kinds to widgets)."""

    TEXT = "text"
    FOLDER = "folder"
    FILE = "file"
    JSON_FILE = "json_file"
    PROGRAM = "program"
    DATABASE_URL = "database_url"
    URL = "url"
    DURATION = "duration"
    SIZE = "size"
    COUNT = "count"
    CHOICE = "choice"
    BOOL = "bool"
    TIME_ZONE = "time_zone"
    WINDOW = "window"
    ACCOUNTS = "accounts"


@dataclass(frozen=True)
class Option:
    """One setting, declared once: everything else (loading, `config show`, the README check, the console's
    Settings dialog, which changes apply at once) reads it from here."""

    section: str
    key: str
    parse: Callable[[Any], Any]
    default: Callable[[dict[str, Path]], Any]
    expected: str
    help: str
    secret: bool = False
    kind: Kind = Kind.TEXT
    # A running engine applies a new value at once (through core.settings_holder to whoever uses it; tests/core/
    # test_live_options.py proves each); the rest take effect at the next start.
    live: bool = False
    # The Settings dialog offers the options that have a label; the others are edited in config.toml.
    label: str = ""
    # Kind.CHOICE: the values the Settings dialog offers in a list (it still takes what the parser accepts).
    choices: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def env(self) -> str:
        return f"NVR_{self.section}_{self.key}".upper()


OPTIONS: tuple[Option, ...] = (
    Option("database", "url", _database_url,
           lambda d: f"sqlite:///{(d['data'] / 'nvr-console.sqlite3').as_posix()}",
           "sqlite:///PATH or mysql+pymysql://USER:PASSWORD@HOST:PORT/DB",
           "Where rooms, cameras and the upload queue live.", secret=True,
           kind=Kind.DATABASE_URL, label="Database URL"),
    Option("recording", "dir", _path, lambda d: d["recordings"],
           "a folder path this user can write to", "Where recordings are written.",
           kind=Kind.FOLDER, label="Recordings folder"),
    Option("recording", "segment_length", _segment_length, lambda d: 1800.0,
           "a duration in whole seconds from 1s to 24h such as 30m, 10s or 1800",
           "File length; files are cut on wall-clock multiples of it (:00 and :30 for 30m).",
           kind=Kind.DURATION, live=True, label="Segment length"),
    Option("recording", "timezone", _timezone, lambda d: "local",
           "an IANA time zone such as Europe/Moscow, or 'local'",
           "Time zone of file and folder names.", kind=Kind.TIME_ZONE, label="Time zone"),
    Option("recording", "window", _window, lambda d: RecordingWindow(), WINDOW_EXPECTED,
           "When cameras record, e.g. 'Mon-Sat 09:00-21:00'.", kind=Kind.WINDOW, live=True,
           label="Recording window"),
    Option("recording", "ffmpeg", _optional_path, lambda d: None,
           "a path to an ffmpeg executable, or empty for automatic",
           "FFmpeg to use; default: ffmpeg on PATH, else the one in the imageio-ffmpeg wheel.", kind=Kind.PROGRAM),
    Option("recording", "stall_timeout", _positive_duration(3, 3600), lambda d: 20.0,
           "a duration from 3s to 1h such as 20s", "Restart a camera whose file stops growing this long.",
           kind=Kind.DURATION, live=True),
    Option("recording", "socket_timeout", _positive_duration(1, 600), lambda d: 10.0,
           "a duration from 1s to 10m such as 10s", "How long to wait for a silent camera socket.",
           kind=Kind.DURATION),
    Option("upload", "destination", _choice("auto", "drive", "local", "none"), lambda d: "auto",
           "one of auto, drive, local, none",
           "Where finished files go; auto = Drive when signed in, else the local archive.", kind=Kind.CHOICE),
    Option("upload", "local_dir", _path, lambda d: d["data"] / "archive",
           "a folder path this user can write to", "The local archive (for example a NAS mount).",
           kind=Kind.FOLDER),
    Option("upload", "workers", _int_range(1, 16), lambda d: 2,
           "a whole number from 1 to 16", "Files uploaded in parallel.", kind=Kind.COUNT, live=True,
           label="Upload workers"),
    Option("upload", "chunk_size", _chunk_size, lambda d: 16 * 1024 * 1024,
           "a multiple of 256 KiB such as 16MiB", "Resumable upload chunk; memory per worker is about this.",
           kind=Kind.SIZE),
    Option("retention", "delete_after", _delete_after, lambda d: 0.0,
           "a duration such as 0, 1h or 7d, or 'never'",
           "Delete the local copy this long after a VERIFIED upload ('never' keeps it).",
           kind=Kind.DURATION, live=True, label="Delete local copy after"),
    Option("retention", "min_free_space", parse_size, lambda d: 5 * 1024**3,
           "a size such as 5GiB",
           "Below this free space (or the room the segments being written need, if more), verified copies are "
           "deleted oldest first; 0 = never for space.",
           kind=Kind.SIZE, live=True),
    Option("retention", "events", _positive_duration(86400, 10 * 366 * 86400), lambda d: 90 * 86400.0,
           "a duration from 1d to 10 years such as 90d",
           "How long camera events (the reasons behind coverage gaps) are kept in the database.",
           kind=Kind.DURATION),
    Option("drive", "api_root", _api_root, lambda d: GOOGLE_API_ROOT,
           "an http(s) URL such as https://www.googleapis.com/",
           "Drive API root; point it at a Drive-compatible server or proxy.", kind=Kind.URL),
    Option("drive", "credentials", _credentials, lambda d: "",
           "a path to an OAuth client or service-account JSON file, or 'anonymous' (non-Google root only)",
           "Google credentials for sign-in.", kind=Kind.JSON_FILE, label="Google credentials file"),
    Option("drive", "token", _path, lambda d: d["config"] / "drive-token.json",
           "a file path", "Where the signed-in token is kept (mode 0600).", kind=Kind.FILE),
    Option("drive", "root_folder", _str, lambda d: "NVR recordings",
           "a folder name", "Root folder created once when a room names no Drive folder."),
    Option("drive", "share", _share, lambda d: "private",
           "private, anyone, or domain:example.edu",
           "Who may read the root folder (its link-sharing is made to match at every start)."),
    Option("drive", "shared_drive", _str, lambda d: "",
           "a shared drive id, or empty", "Shared drive to upload into (service accounts need one)."),
    Option("drive", "accounts", _drive_accounts, lambda d: (),
           "[drive.accounts.NAME] tables with credentials and token (a JSON object of them in NVR_DRIVE_ACCOUNTS)",
           "More Google accounts to spread uploads over (Drive takes 750 GB a day per account); a room is "
           "assigned one with `rooms edit ROOM --drive-account NAME`.", kind=Kind.ACCOUNTS),
    Option("drive", "daily_limit", parse_size, lambda d: 750 * 1000**3,
           "a size such as 750GB", "Bytes Google Drive accepts per account per day (Pacific time): the budget "
           "the forecast alert warns about.", kind=Kind.SIZE),
    Option("drive", "cap_probe_every", _positive_duration(1, 3600), lambda d: 300.0,
           "a duration from 1s to 1h such as 5m",
           "While an account is at Drive's daily cap, how often one of its uploads tries again.",
           kind=Kind.DURATION),
    Option("log", "dir", _path, lambda d: d["log"], "a folder path", "Rotating log files.", kind=Kind.FOLDER),
    Option("log", "level", _choice("debug", "info", "warning", "error"), lambda d: "info",
           "one of debug, info, warning, error", "Log detail.", kind=Kind.CHOICE),
)
# Monitoring (metrics, alert rules, alert channels): one block of its own.
OPTIONS += (
    Option("metrics", "listen", _listen, lambda d: "",
           "HOST:PORT such as 127.0.0.1:9464, a bare port (loopback), or empty for off",
           "Serve Prometheus metrics over HTTP at /metrics (off by default)."),
    Option("alerts", "check_every", _positive_duration(1, 600), lambda d: 15.0,
           "a duration from 1s to 10m such as 15s", "How often the alert rules are evaluated.", kind=Kind.DURATION),
    Option("alerts", "camera_down_after", _off_or_duration(1, 86400), lambda d: 120.0,
           "a duration such as 2m, or 'off'",
           "Alert when a camera that should record (inside its window) has not recorded this long.",
           kind=Kind.DURATION),
    Option("alerts", "reconnects_per_hour", _int_range(0, 100000), lambda d: 10,
           "a whole number, 0 for off", "Alert when a camera reconnects more often than this in an hour.",
           kind=Kind.COUNT),
    Option("alerts", "uploads_paused_after", _off_or_duration(0, 86400), lambda d: 0.0,
           "a duration such as 0s or 10m, or 'off'", "Alert when the upload queue has been paused this long.",
           kind=Kind.DURATION),
    Option("alerts", "oldest_waiting_after", _off_or_duration(1, 30 * 86400), lambda d: 7200.0,
           "a duration such as 2h, or 'off'", "Alert when the oldest file has waited this long to be uploaded.",
           kind=Kind.DURATION),
    Option("alerts", "disk_forecast_under", _off_or_duration(1, 365 * 86400), lambda d: 86400.0,
           "a duration such as 24h, or 'off'",
           "Alert when the recordings disk is forecast to fill within this time (also: free space under "
           "retention.min_free_space).", kind=Kind.DURATION),
    Option("alerts", "node_gone_after", _off_or_duration(0, 86400), lambda d: 60.0,
           "a duration such as 1m, or 'off'",
           "Alert when a recording node sharing the database has stopped renewing its registration this long "
           "(it died or lost the network; a clean stop is no alert). Any live node reports it, once.",
           kind=Kind.DURATION),
    Option("alerts", "repeat_every", _off_or_duration(60, 30 * 86400), lambda d: 14400.0,
           "a duration from 1m such as 4h, or 'off'", "Send a firing alert again at this interval while it lasts.",
           kind=Kind.DURATION),
    Option("alerts", "desktop", _bool, lambda d: True,
           "true or false", "Show alerts as desktop notifications (the console only).", kind=Kind.BOOL),
    Option("alerts", "sound", _bool, lambda d: False,
           "true or false", "Sound the system bell when a critical alert fires and nobody has acknowledged it "
           "(the console only).", kind=Kind.BOOL),
    Option("webhook", "url", _http_url, lambda d: "",
           "an http(s) URL, or empty for off", "POST every alert as JSON to this URL.", secret=True, kind=Kind.URL),
    Option("webhook", "format", _choice("plain", "slack", "telegram"), lambda d: "plain",
           "one of plain, slack, telegram",
           "Body of the webhook: nvr-console's JSON, Slack/Mattermost {\"text\"}, or Telegram Bot API sendMessage.",
           kind=Kind.CHOICE),
    Option("webhook", "telegram_chat_id", _str, lambda d: "",
           "a Telegram chat id such as -1001234567890", "The chat a Telegram bot posts to (format = telegram)."),
    Option("email", "host", _str, lambda d: "",
           "an SMTP server name, or empty for off", "Send alerts by e-mail through this SMTP server."),
    Option("email", "port", _int_range(0, 65535), lambda d: 0,
           "a port, or 0 for the usual one (587 starttls, 465 tls, 25 none)", "SMTP port.", kind=Kind.COUNT),
    Option("email", "security", _choice("starttls", "tls", "none"), lambda d: "starttls",
           "one of starttls, tls, none", "How the SMTP connection is encrypted.", kind=Kind.CHOICE),
    Option("email", "secrets_file", _optional_path, lambda d: None,
           "a path to a TOML file with username and password (mode 0600), or empty for no login",
           "SMTP login; the file is read at each send and never logged.", kind=Kind.FILE),
    Option("email", "sender", _str, lambda d: "",
           "an e-mail address, or empty for nvr-console@<host name>", "From: address of alert e-mails."),
    Option("email", "recipients", _addresses, lambda d: (),
           "e-mail addresses separated by commas", "Who receives alert e-mails."),
    Option("email", "ca_file", _optional_path, lambda d: None,
           "a path to a PEM CA bundle, or empty for the system's", "Trust this CA for the SMTP server's certificate.",
           kind=Kind.FILE),
)

# --- several machines on one database (docs/fleet.md) ------------------------------------------------


def _node_name(v: Any) -> str:
    text = _str(v)
    if not text or len(text) > 128 or any(ord(c) < 32 for c in text):
        raise ValueError("empty, longer than 128 characters or has control characters")
    return text


def _record(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    text = _str(v).lower()
    aliases = {"yes": "true", "on": "true", "1": "true", "no": "false", "off": "false", "0": "false", "ask": "auto"}
    text = aliases.get(text, text)
    if text not in ("auto", "true", "false"):
        raise ValueError("not one of the choices")
    return text


OPTIONS += (
    Option("node", "name", _node_name, lambda d: socket.gethostname(),
           "a name of up to 128 characters, unique among the machines sharing the database",
           "This machine's name among the nodes sharing the database (default: the host name).",
           label="Node name"),
    Option("node", "record", _record, lambda d: "auto",
           "true, false or auto",
           "Whether this machine records (false: a control station). auto: the headless recorder records; "
           "the console asks once when other recorders share the database.",
           kind=Kind.CHOICE, label="Record on this node", choices=("auto", "true", "false")),
    Option("node", "max_cameras", _int_range(0, 100000), lambda d: 0,
           "a whole number, 0 for no limit", "The most cameras placement gives this node.", kind=Kind.COUNT,
           label="Most cameras on this node"),
    Option("node", "lease_ttl", _positive_duration(2, 600), lambda d: 15.0,
           "a duration from 2s to 10m such as 15s",
           "A node's cameras go to other nodes this long after it stops renewing (renewed every fifth of it)."),
    Option("node", "handover_wait", _positive_duration(0, 86400), lambda d: 60.0,
           "a duration such as 60s",
           "A planned handover waits this long at most for a segment boundary; beyond, the two nodes overlap."),
)

# --- lectures from each room's timetable (docs in README "Lectures") -------------------------------------


def _percent(v: Any) -> float | None:
    """'99 %', '99%' or 99 -> 0.99; 'off' -> None (the rule is off)."""
    if isinstance(v, str) and v.strip().lower() in ("off", "never", "no", "false"):
        return None
    if isinstance(v, bool):
        raise ValueError("not a percentage")
    text = str(v).strip().removesuffix("%").strip() if isinstance(v, str) else v
    try:
        n = float(text)
    except (TypeError, ValueError):
        raise ValueError("not a percentage") from None
    if not 0 <= n <= 100:
        raise ValueError("out of range 0..100 %")
    return n / 100


def _words(v: Any) -> tuple[str, ...]:
    items = v if isinstance(v, list) else _str(v).split(",")
    return tuple(w for w in (_str(i).lower() for i in items) if w)


def _lecture_folder(v: Any) -> str:
    text = _str(v).strip("/")
    if not text:
        raise ValueError("empty")
    parts = text.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError("a part of the path is empty, '.' or '..'")
    unknown = set(re.findall(r"{([^}]*)}", text)) - {"title", "room", "organizer"}
    if unknown:
        raise ValueError(f"unknown placeholder {{{sorted(unknown)[0]}}}; use {{title}}, {{room}} or {{organizer}}")
    return text


def _category_folders(v: Any) -> tuple[str, ...]:
    """`Mathematics=ID_OR_URL, Physics=ID_OR_URL` (or a TOML list of such) -> ('mathematics=ID', ...)."""
    items = v if isinstance(v, list) else _str(v).split(",")
    out: list[str] = []
    for item in (_str(i).strip() for i in items):
        if not item:
            continue
        category, sep, folder = item.partition("=")
        if not sep or not category.strip() or not folder.strip():
            raise ValueError(f"{item!r} is not CATEGORY=FOLDER")
        out.append(f"{category.strip().lower()}={parse_drive_folder(folder)}")
    return tuple(out)


OPTIONS += (
    Option("calendar", "refresh", _positive_duration(10, 86400), lambda d: 120.0,
           "a duration from 10s to 1d such as 2m",
           "How often each room's timetable is fetched (ETag/If-Modified-Since: an unchanged calendar costs one "
           "short request).", kind=Kind.DURATION),
    Option("calendar", "horizon", _positive_duration(3600, 366 * 86400), lambda d: 14 * 86400.0,
           "a duration from 1h to 1 year such as 14d", "How far ahead timetable events become lecture rows.",
           kind=Kind.DURATION),
    Option("calendar", "timeout", _positive_duration(1, 600), lambda d: 20.0,
           "a duration from 1s to 10m such as 20s", "How long one calendar fetch may take.", kind=Kind.DURATION),
    Option("lectures", "pre_roll", _positive_duration(0, 3600), lambda d: 300.0,
           "a duration from 0s to 1h such as 5m",
           "Timetable mode: cameras start this long before each lecture.", kind=Kind.DURATION),
    Option("lectures", "post_roll", _positive_duration(0, 3600), lambda d: 600.0,
           "a duration from 0s to 1h such as 10m",
           "Cameras record this long after each lecture (timetable mode); the lecture file is built after it.",
           kind=Kind.DURATION),
    Option("lectures", "folder", _lecture_folder, lambda d: "Lectures/{title}",
           "a folder path inside the room's folder such as Lectures/{title} ({title}, {room}, {organizer})",
           "Where each lecture's files go, inside the room's Drive folder (or its archive folder)."),
    Option("lectures", "category_folders", _category_folders, lambda d: (),
           "CATEGORY=FOLDER pairs separated by commas, such as Mathematics=https://drive.google.com/drive/folders/<id>",
           "A lecture whose event has one of these categories goes to that Drive folder (the first pair that "
           "matches; lectures.folder inside it) instead of the room's or the calendar's folder."),
    Option("lectures", "no_record", _words, lambda d: ("no-recording",),
           "categories or keywords separated by commas, such as no-recording, private",
           "An event with one of these categories, or with one of them in its title or description, is never "
           "delivered nor (timetable mode) recorded."),
    Option("lectures", "claim_ttl", _positive_duration(5, 3600), lambda d: 60.0,
           "a duration from 5s to 1h such as 60s",
           "A node assembling a lecture file renews its claim every third of this; another node takes the file "
           "over this long after the claimant stopped renewing (it died)."),
    Option("lectures", "notify_organizer", _bool, lambda d: False,
           "true or false",
           "When a lecture is delivered (verified), e-mail its organizer (the event's ORGANIZER) the title, the "
           "link and its completeness, once (again after a redo); through the email.* server.", kind=Kind.BOOL),
    Option("lectures", "notice_to", _addresses, lambda d: (),
           "e-mail addresses separated by commas, or empty",
           "Also send every lecture's delivery notice to these addresses (with or without notify_organizer)."),
    Option("lectures", "notice_webhook", _bool, lambda d: False,
           "true or false",
           "Also post every lecture's delivery notice to the alert webhook (webhook.url, in its webhook.format).",
           kind=Kind.BOOL),
    Option("alerts", "lecture_coverage_under", _percent, lambda d: 0.99,
           "a percentage such as 99 %, or 'off'",
           "Alert (lecture_incomplete) when a delivered lecture file covers less of its lecture than this."),
)

OPTIONS_BY_NAME = {o.name: o for o in OPTIONS}
OPTIONS_BY_ENV = {o.env: o for o in OPTIONS}
LIVE_OPTIONS = tuple(o for o in OPTIONS if o.live)
# Leases and the heartbeat are renewed RENEWALS_PER_TTL times per node.lease_ttl: chances before they expire.
RENEWALS_PER_TTL = 5


def default(name: str) -> Any:
    """An option's built-in default, from the option table (the one place defaults are written)."""
    return OPTIONS_BY_NAME[name].default(default_dirs())


def renew_interval(lease_ttl: float) -> float:
    """How often leases and the heartbeat are renewed for this TTL."""
    return lease_ttl / RENEWALS_PER_TTL

# Environment variables that are ours but not options.
META_ENV = {"NVR_CONFIG"}
LEGACY_DATABASE_ENV = "SQLALCHEMY_DATABASE_URI"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True)
class RecordingSettings:
    dir: Path
    segment_length: float
    timezone: str
    window: RecordingWindow
    ffmpeg: Path | None
    stall_timeout: float
    socket_timeout: float

    def zone(self) -> ZoneInfo | None:
        """The configured zone, or None for the system's local time."""
        return None if self.timezone == "local" else ZoneInfo(self.timezone)


@dataclass(frozen=True)
class UploadSettings:
    destination: str
    local_dir: Path
    workers: int
    chunk_size: int


@dataclass(frozen=True)
class RetentionSettings:
    delete_after: float | None
    min_free_space: int
    events: float


@dataclass(frozen=True)
class DriveSettings:
    api_root: str
    credentials: str
    token: Path
    root_folder: str
    share: str
    shared_drive: str
    accounts: tuple[DriveAccount, ...] = ()
    daily_limit: int = 750 * 1000**3
    cap_probe_every: float = 300.0
    # Which account credentials/token are (for_account); not an option of its own.
    account: str = field(default=DEFAULT_DRIVE_ACCOUNT, metadata={"option": False})

    def account_names(self) -> tuple[str, ...]:
        """Every account uploads may use: "default" ([drive] credentials/token) first."""
        return (DEFAULT_DRIVE_ACCOUNT, *(a.name for a in self.accounts))

    def for_account(self, name: str | None) -> DriveSettings:
        """These settings with the credentials and token of account `name` (None: "default"); KeyError names
        the fix when it is not configured."""
        if not name or name == DEFAULT_DRIVE_ACCOUNT:
            return self
        for a in self.accounts:
            if a.name == name:
                return replace(self, credentials=a.credentials, token=a.token, account=a.name)
        raise KeyError(f"Google account {name!r} is not in drive.accounts; add [drive.accounts.{name}] with "
                       "credentials and token to config.toml, or assign the room another account")


@dataclass(frozen=True)
class LogSettings:
    dir: Path
    level: str


@dataclass(frozen=True)
class MetricsSettings:
    listen: str  # "host:port", or "" = off


@dataclass(frozen=True)
class AlertsSettings:
    check_every: float
    camera_down_after: float | None  # None = rule off
    reconnects_per_hour: int  # 0 = rule off
    uploads_paused_after: float | None
    oldest_waiting_after: float | None
    disk_forecast_under: float | None
    node_gone_after: float | None
    repeat_every: float | None  # None = fire once
    desktop: bool
    sound: bool
    lecture_coverage_under: float | None  # 0..1; None = rule off


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    format: str
    telegram_chat_id: str


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    security: str
    secrets_file: Path | None
    sender: str
    recipients: tuple[str, ...]
    ca_file: Path | None


@dataclass(frozen=True)
class CalendarSettings:
    refresh: float
    horizon: float
    timeout: float


@dataclass(frozen=True)
class LecturesSettings:
    pre_roll: float
    post_roll: float
    folder: str
    no_record: tuple[str, ...]
    claim_ttl: float
    category_folders: tuple[str, ...] = ()  # "category=folder id", lower-case category
    notify_organizer: bool = False
    notice_to: tuple[str, ...] = ()
    notice_webhook: bool = False

    def category_folder(self, categories: tuple[str, ...]) -> str | None:
        """The Drive folder id for an event with these categories (the first configured pair that matches)."""
        have = {c.strip().lower() for c in categories}
        for pair in self.category_folders:
            category, _, folder = pair.partition("=")
            if category in have:
                return folder
        return None


@dataclass(frozen=True)
class NodeSettings:
    name: str
    record: str  # "true", "false" or "auto"
    max_cameras: int
    lease_ttl: float
    handover_wait: float

    @property
    def renew_every(self) -> float:
        """Leases and the heartbeat are renewed this often (renew_interval)."""
        return renew_interval(self.lease_ttl)


_SECTIONS = {
    "database": DatabaseSettings, "recording": RecordingSettings, "upload": UploadSettings,
    "retention": RetentionSettings, "drive": DriveSettings, "log": LogSettings,
    "metrics": MetricsSettings, "alerts": AlertsSettings, "webhook": WebhookSettings, "email": EmailSettings,
    "node": NodeSettings, "calendar": CalendarSettings, "lectures": LecturesSettings,
}


def _ours(variable: str) -> bool:
    return variable.startswith("NVR_") or variable == LEGACY_DATABASE_ENV


@dataclass(frozen=True)
class SettingsInputs:
    """What a Settings is built from besides the files' contents, captured once at start-up.

    The console reloads from the same inputs after its Settings dialog saves, so the reloaded settings keep
    every layer the process started with: /etc's file, the user's file (or only `--config`), `.env`, the
    environment as it was at start and the command-line flags. Files (config.toml, `.env`) are read again at
    every load: that is how a saved change is picked up.
    """

    config_path: Path | None  # --config PATH: read this file only (NVR_CONFIG does the same)
    system_config: Path  # /etc/nvr-console/config.toml, read first when present
    user_config: Path  # the user's config.toml, read after /etc's; where the console saves
    env: Mapping[str, str]  # our variables (NVR_*, SQLALCHEMY_DATABASE_URI) as they were at start
    cwd: Path  # where `.env` is read; the base of relative paths given by variables and flags
    overrides: Mapping[str, Any]  # command-line flags, "section.key" -> value
    dirs: Mapping[str, Path]  # the per-user folders the defaults are made of

    @classmethod
    def capture(
        cls,
        config_path: Path | None = None,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        system_config: Path | None = None,
    ) -> SettingsInputs:
        """The inputs of this process now: `os.environ`, the working directory and the per-user folders,
        unless given."""
        dirs = default_dirs()
        return cls(
            config_path=config_path,
            system_config=SYSTEM_CONFIG if system_config is None else system_config,
            user_config=dirs["config"] / "config.toml",
            env=MappingProxyType({k: v for k, v in (os.environ if env is None else env).items() if _ours(k)}),
            cwd=cwd or Path.cwd(),
            overrides=MappingProxyType({k: v for k, v in (overrides or {}).items() if v is not None}),
            dirs=MappingProxyType(dict(dirs)),
        )

    def environment(self) -> tuple[dict[str, str], dict[str, str]]:
        """Our variables and where each came from: the captured environment, filled in from `.env`."""
        env = dict(self.env)
        where = {k: k for k in env}
        dotenv_file = self.cwd / ".env"
        if dotenv_file.is_file():
            # .env fills in what the real environment does not set, as docker and python-dotenv do.
            for k, v in dotenv_values(dotenv_file).items():
                if v is not None and k not in env and _ours(k):
                    env[k] = v
                    where[k] = ".env"
        return env, where

    def _given_file(self, env: Mapping[str, str]) -> Path | None:
        if self.config_path is not None:
            return self.config_path
        return Path(env["NVR_CONFIG"]).expanduser() if env.get("NVR_CONFIG") else None

    def files(self, env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
        """The config files to read, in order (a later one wins): the given one, else /etc's and the user's
        that exist now."""
        given = self._given_file(self.environment()[0] if env is None else env)
        if given is not None:
            if given.is_dir():
                raise ConfigFileError(
                    f"config file {given} is a folder, not a file; give the path of a TOML file such as "
                    f"{given / 'config.toml'}"
                )
            if not given.exists():
                raise ConfigFileError(
                    f"config file {given} does not exist; create it or drop --config to use the defaults"
                )
            return (given,)
        return tuple(p for p in (self.system_config, self.user_config) if p.is_file())

    def writable_file(self) -> Path:
        """Where the console saves: the file given with --config (or NVR_CONFIG), the only one read then; else
        the user's config.toml, created if missing. Never /etc's: it is the administrator's and is read
        before the user's, so a value saved in the user's file wins over it."""
        return self._given_file(self.environment()[0]) or self.user_config

    def load(self) -> Settings:
        """Build the settings from every layer; raises ConfigError or ConfigFileError with one clear line."""
        env, env_sources = self.environment()
        files = self.files(env)
        raw: dict[str, tuple[Any, str, Path | None]] = {}  # name -> (value, source, base dir for paths)
        for path in files:
            for name, value in _read_toml(path).items():
                raw[name] = (value, str(path), path.parent)

        legacy = env.get(LEGACY_DATABASE_ENV)
        if legacy:
            raw["database.url"] = (legacy, env_sources[LEGACY_DATABASE_ENV], self.cwd)
        for key, value in env.items():
            if not key.startswith("NVR_") or key in META_ENV:
                continue
            option = OPTIONS_BY_ENV.get(key)
            if option is None:
                hint = close_matches(key, OPTIONS_BY_ENV)
                raise ConfigFileError(
                    f"unknown environment variable {key}"
                    + (f"; did you mean {hint[0]}?" if hint else
                       f"; unset it, or name a setting as NVR_SECTION_KEY (section.key; `unset {key}`, then "
                       "`nvr-console config show` lists the settings)")
                )
            raw[option.name] = (value, env_sources[key], self.cwd)

        for name, value in self.overrides.items():
            raw[name] = (value, "command line", self.cwd)

        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for o in OPTIONS:
            if o.name in raw:
                value, source, base = raw[o.name]
                try:
                    parsed = o.parse(value)
                except (ValueError, TypeError) as exc:
                    raise ConfigError(o.name, value, o.expected, source, str(exc)) from None
                if isinstance(parsed, Path) and not parsed.is_absolute() and base is not None:
                    parsed = base / parsed
                if o.kind is Kind.ACCOUNTS and base is not None:
                    parsed = tuple(a.resolved(base) for a in parsed)
                values[o.name] = parsed
                sources[o.name] = source
            else:
                values[o.name] = o.default(dict(self.dirs))
        _check_combinations(values, sources)

        sections = {}
        for section, cls in _SECTIONS.items():
            sections[section] = cls(**{f.name: values[f"{section}.{f.name}"] for f in fields(cls)
                                       if f.metadata.get("option", True)})
        return Settings(**sections, sources=sources, files=files, inputs=self)


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings
    recording: RecordingSettings
    upload: UploadSettings
    retention: RetentionSettings
    drive: DriveSettings
    log: LogSettings
    metrics: MetricsSettings
    alerts: AlertsSettings
    webhook: WebhookSettings
    email: EmailSettings
    node: NodeSettings
    calendar: CalendarSettings
    lectures: LecturesSettings
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    files: tuple[Path, ...] = ()
    # What these settings were built from: `inputs.load()` builds them again with the same layers.
    inputs: SettingsInputs = field(kw_only=True, compare=False, repr=False)

    def value(self, name: str) -> Any:
        section, key = name.split(".", 1)
        return getattr(getattr(self, section), key)

    def text(self, name: str) -> str:
        """One option's value as it would be written in config.toml (secrets not masked: not for display)."""
        return _display_value(OPTIONS_BY_NAME[name], self.value(name))

    def display(self) -> list[tuple[str, str, str]]:
        """(name, value, source) for every option, secrets masked: what `config show` prints."""
        return [(o.name, self.shown(o.name), self.sources.get(o.name, "default")) for o in OPTIONS]

    def shown(self, name: str) -> str:
        """One option's value for people: secrets masked, a webhook URL's path (which may be its token) hidden."""
        text = self.text(name)
        if name == "webhook.url" and text:
            text = redact_url_path(text)
        return mask_secrets(text)

    def for_drive_account(self, name: str | None) -> Settings:
        """These settings signed in as Google account `name` (drive.accounts; None or "default": [drive]'s).
        KeyError names the fix when it is not configured."""
        return replace(self, drive=self.drive.for_account(name))

    def effective_destination(self) -> str:
        """`auto` resolved: Drive when credentials or a token exist, else the local archive."""
        if self.upload.destination != "auto":
            return self.upload.destination
        if self.drive.credentials or self.drive.token.exists() or self.drive.accounts:
            return "drive"
        return "local"


def _display_value(option: Option, v: Any) -> str:
    if v is None:
        if option.name == "retention.delete_after":
            return "never"
        return "off" if option.section == "alerts" else ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if option.kind is Kind.ACCOUNTS:
        return "; ".join(f"{a.name}: credentials {a.credentials or '(none)'}, token {a.token}" for a in v)
    if isinstance(v, tuple):
        return ", ".join(v)
    if option.kind is Kind.SIZE:
        if v and v % 1000**3 == 0 and v % 1024**2:  # written in decimal units (750GB): shown so
            return f"{v // 1000**3}GB"
        return format_size(v, exact=True)
    if isinstance(v, RecordingWindow):
        return v.text
    if option.name == "alerts.lecture_coverage_under":
        return f"{v * 100:g} %"
    if isinstance(v, float):
        return format_duration(v)
    return str(v)


def load_settings(
    config_path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    system_config: Path | None = None,
) -> Settings:
    """Build the settings from every layer (see SettingsInputs.capture for the arguments); raises ConfigError
    or ConfigFileError with one clear line. `settings.inputs.load()` loads them again the same way."""
    return SettingsInputs.capture(config_path, overrides, env, cwd, system_config).load()


def _check_combinations(values: dict[str, Any], sources: dict[str, str]) -> None:
    if values["webhook.url"] and values["webhook.format"] == "telegram" and not values["webhook.telegram_chat_id"]:
        raise ConfigError("webhook.telegram_chat_id", "", "the chat id the bot posts to (webhook.format = telegram)",
                          sources.get("webhook.telegram_chat_id", ""))
    if values["email.host"] and not values["email.recipients"]:
        raise ConfigError("email.recipients", "", "at least one address to send alerts to (email.host is set)",
                          sources.get("email.recipients", ""))
    if values["drive.credentials"] == "anonymous" and values["drive.api_root"] == GOOGLE_API_ROOT:
        raise ConfigError(
            "drive.credentials", "anonymous",
            "a credentials file: Google's own API needs a signed-in account (anonymous works only with "
            "a non-Google drive.api_root)", sources.get("drive.credentials", ""),
        )


def _read_text(path: Path) -> str:
    """The file as UTF-8 text, or ConfigFileError with one line saying what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigFileError(
            f"config file {path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); "
            "save it as UTF-8"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"config file {path} is not valid TOML: {exc}") from None
    out: dict[str, Any] = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigFileError(
                f"config file {path}: {section!r} must be a [section] table, e.g. [database] url = \"...\""
            )
        for key, value in table.items():
            name = f"{section}.{key}"
            if name not in OPTIONS_BY_NAME:
                hint = close_matches(name, OPTIONS_BY_NAME)
                raise ConfigFileError(
                    f"config file {path}: unknown setting {name}"
                    + (f"; did you mean {hint[0]}?" if hint else "; see `nvr-console config show` for names")
                )
            out[name] = value
    return out


def ensure_runtime_dirs(settings: Settings) -> None:
    """Create the folders a running engine writes to; a folder that cannot be made is a ConfigError.

    Called before anything starts, so nothing is half-started.
    """
    wanted = [("recording.dir", settings.recording.dir), ("log.dir", settings.log.dir)]
    if settings.effective_destination() == "local":
        wanted.append(("upload.local_dir", settings.upload.local_dir))
    url = make_url(settings.database.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        # First, and private: it holds camera passwords, and the default recordings folder may be inside it.
        wanted.insert(0, ("database.url", Path(url.database).parent))
    for name, path in wanted:
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700 if name == "database.url" else 0o777)
            probe = path / ".nvr-write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                name, str(path) if name != "database.url" else settings.database.url,
                "a folder this user can create and write to", settings.sources.get(name, "default"),
                f"cannot use folder {path}: {exc.strerror or exc}",
            ) from None
