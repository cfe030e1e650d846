"""What every option's value may be: the parsers the option table uses (one clear line when a value is
wrong), the errors they raise, and the constants they share."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.text.durations import format_duration, parse_duration
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.text.sizes import parse_size

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


