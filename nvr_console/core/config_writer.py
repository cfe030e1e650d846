"""Write settings chosen in the console to the user's config.toml, validated by the same option parsers
that read them (core.config.OPTIONS), so a value the console saves always loads again.

The file is rewritten whole (atomically, via a temporary file in the same folder); comments in it are not
kept. Only the keys given change; every other key in the file stays as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nvr_console.core.config import OPTIONS_BY_NAME, ConfigError, ConfigFileError, default_dirs

# Settings an engine can apply while running (through its apply_settings slot); the rest need a restart.
APPLIES_LIVE = frozenset({
    "recording.segment_length", "recording.window", "recording.stall_timeout", "upload.workers",
    "retention.delete_after", "retention.min_free_space",
})


def user_config_path(settings_files: tuple[Path, ...] = ()) -> Path:
    """Where the console saves: the last config file the settings were loaded from if it is the user's own
    (or the one given with --config), else the per-user config.toml."""
    user = default_dirs()["config"] / "config.toml"
    for f in reversed(settings_files):
        if not str(f).startswith("/etc/"):
            return f
    return user


def validate_setting(name: str, text: str) -> Any:
    """The parsed value, or ConfigError naming the key, the value and what is expected."""
    option = OPTIONS_BY_NAME.get(name)
    if option is None:
        raise ConfigError(name, text, "a known setting name (see `nvr-console config show`)")
    try:
        return option.parse(text)
    except (ValueError, TypeError) as exc:
        raise ConfigError(name, text, option.expected, "the settings dialog", str(exc)) from None


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        escaped = v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    raise TypeError(f"cannot write {type(v).__name__} to config.toml")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_value(k)


def dumps(data: Mapping[str, Mapping[str, Any]]) -> str:
    """TOML text for a {section: {key: scalar}} mapping (all our config files are this shape)."""
    out: list[str] = []
    for section, table in data.items():
        out.append(f"[{_key(section)}]")
        out += [f"{_key(k)} = {_toml_value(v)}" for k, v in table.items()]
        out.append("")
    return "\n".join(out)


def write_settings(path: Path, updates: Mapping[str, str]) -> None:
    """Validate every update, then merge them into `path` (created if missing). Raises ConfigError first,
    so nothing is written when any value is bad, or ConfigFileError when the file is unreadable."""
    parsed = {name: (text, validate_setting(name, text)) for name, text in updates.items()}
    data: dict[str, dict[str, Any]] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigFileError(f"cannot update config file {path}: {exc}; fix or remove it first") from None
    for name, (text, value) in parsed.items():
        section, key = name.split(".", 1)
        # Whole numbers stay numbers in the file; everything else keeps the operator's own spelling.
        plain = value if isinstance(value, int) and not isinstance(value, bool) and text.strip().isdigit() else text
        data.setdefault(section, {})[key] = plain.strip() if isinstance(plain, str) else plain
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps(data))
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o600)  # may hold a database password
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
