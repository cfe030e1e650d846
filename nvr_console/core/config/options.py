"""The option table: every option declared once, typed, with its default, what it expects, its help, its kind,
whether a running engine applies it at once, and its label in the console's Settings dialog."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import platformdirs

from nvr_console import APP_NAME
from nvr_console.core.config.values import (
    GOOGLE_API_ROOT,
    _addresses,
    _api_root,
    _bool,
    _choice,
    _chunk_size,
    _credentials,
    _database_url,
    _delete_after,
    _drive_accounts,
    _http_url,
    _int_range,
    _listen,
    _off_or_duration,
    _optional_path,
    _path,
    _positive_duration,
    _segment_length,
    _share,
    _str,
    _timezone,
    _window,
)
from nvr_console.core.schedule.window import EXPECTED as WINDOW_EXPECTED
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.stream_url import parse_drive_folder
from nvr_console.core.text.sizes import parse_size

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
    # A running engine applies a new value at once (through core.config.holder to whoever uses it; tests/core/
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

