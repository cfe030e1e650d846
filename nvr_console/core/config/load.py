"""Loading the settings in layers: defaults, /etc's and the user's config.toml (or --config), .env, the
environment and the command-line flags; reading the files."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dotenv import dotenv_values
from sqlalchemy.engine import make_url

from nvr_console.core.config.options import OPTIONS, OPTIONS_BY_ENV, OPTIONS_BY_NAME, Kind, default_dirs
from nvr_console.core.config.sections import _SECTIONS, Settings
from nvr_console.core.config.values import GOOGLE_API_ROOT, ConfigError, ConfigFileError
from nvr_console.core.text.close_matches import close_matches

SYSTEM_CONFIG = Path("/etc/nvr-console/config.toml")
# Environment variables that are ours but not options.
META_ENV = {"NVR_CONFIG"}
LEGACY_DATABASE_ENV = "SQLALCHEMY_DATABASE_URI"


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

