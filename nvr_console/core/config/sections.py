"""The settings object: one frozen dataclass per section of the option table, and Settings holding them with
where each value came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from nvr_console.core.config.options import OPTIONS, OPTIONS_BY_NAME, Kind, Option, renew_interval
from nvr_console.core.config.values import DEFAULT_DRIVE_ACCOUNT, DriveAccount
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.text.durations import format_duration
from nvr_console.core.text.masking import mask_secrets, redact_url_path
from nvr_console.core.text.sizes import format_size

if TYPE_CHECKING:
    from nvr_console.core.config.load import SettingsInputs


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


