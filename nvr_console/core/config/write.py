"""Write settings chosen in the console into a config.toml, validated by the same option parsers that read them
(core.config.OPTIONS), so a value the console saves always loads again.

The file is edited, not regenerated (tomlkit): the operator's comments, blank lines, key order and every key
the console did not change stay as they were; a changed value keeps its line and its trailing comment; a new
key goes under its commented-out default if the file has one, else after the last key of its section; a new
section goes at the end. The file is replaced atomically (a
temporary file in the same folder), keeping its mode; a new file is private (0600: it may hold a database
password).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Comment, InlineTable, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

from nvr_console.core.config import OPTIONS_BY_NAME, ConfigError, ConfigFileError


def validate_setting(name: str, text: str) -> Any:
    """The parsed value, or ConfigError naming the key, the value and what is expected."""
    option = OPTIONS_BY_NAME.get(name)
    if option is None:
        raise ConfigError(name, text, "a known setting name (see `nvr-console config show`)")
    try:
        return option.parse(text)
    except (ValueError, TypeError) as exc:
        raise ConfigError(name, text, option.expected, "the settings dialog", str(exc)) from None


def _as_written(text: str, value: Any) -> str | int:
    # Whole numbers stay numbers in the file; everything else keeps the operator's own spelling.
    if isinstance(value, int) and not isinstance(value, bool) and text.strip().isdigit():
        return value
    return text.strip()


def _read(path: Path) -> TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise ConfigFileError(f"cannot update config file {path}: {exc}; fix or remove it first") from None


def _section(doc: TOMLDocument, path: Path, section: str) -> Table | InlineTable:
    table = doc.get(section)
    if table is None:
        if doc.body:  # a blank line before a new section, as people write them
            text = doc.as_string()
            for _ in range(2 - (len(text) - len(text.rstrip("\n")))):
                doc.add(tomlkit.nl())
        doc.add(section, tomlkit.table())
        table = doc[section]
    if not isinstance(table, Table | InlineTable):
        raise ConfigFileError(
            f"cannot update config file {path}: {section!r} is not a [{section}] table; fix or remove it first"
        )
    return table


def _set(table: Table | InlineTable, key: str, value: str | int) -> None:
    if key in table or isinstance(table, InlineTable):
        table[key] = value  # in place: the line keeps its position and its trailing comment
        return
    body: Container = table.value
    items = body.body
    # Under its commented-out default when the file has one (`# workers = 2`, as config.example.toml does);
    # else after the section's last key: blank lines and comments after it introduce what follows.
    commented = re.compile(rf"^#\s*{re.escape(key)}\s*=")
    at = next((i + 1 for i, (k, item) in enumerate(items)
               if k is None and isinstance(item, Comment) and commented.match(item.as_string().strip())), None)
    if at is None:
        at = len(items)
        while at > 0 and items[at - 1][0] is None and isinstance(items[at - 1][1], Whitespace | Comment):
            at -= 1
    if at == len(items):
        table[key] = value
    else:
        body._insert_at(at, key, value)  # tomlkit has no public insert at a position


def _apply(doc: TOMLDocument, path: Path, updates: Mapping[str, str | int]) -> None:
    for name, value in updates.items():
        section, key = name.split(".", 1)
        _set(_section(doc, path, section), key, value)


def write_settings(path: Path, updates: Mapping[str, str]) -> None:
    """Validate every update, then merge them into `path` (created if missing). Raises ConfigError first,
    so nothing is written when any value is bad, or ConfigFileError when the file cannot be updated."""
    written = {name: _as_written(text, validate_setting(name, text)) for name, text in updates.items()}
    target = path.resolve() if path.is_symlink() else path  # edit the file a link points at, keep the link
    doc = _read(target)
    _apply(doc, target, written)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(doc.as_string())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o600)  # may hold a database password
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
