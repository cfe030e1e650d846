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


from nvr_console.core.config.load import (
    LEGACY_DATABASE_ENV,
    META_ENV,
    SYSTEM_CONFIG,
    SettingsInputs,
    ensure_runtime_dirs,
    load_settings,
)
from nvr_console.core.config.options import (
    LIVE_OPTIONS,
    OPTIONS,
    OPTIONS_BY_ENV,
    OPTIONS_BY_NAME,
    RENEWALS_PER_TTL,
    Kind,
    Option,
    default,
    default_dirs,
    renew_interval,
)
from nvr_console.core.config.sections import (
    AlertsSettings,
    CalendarSettings,
    DatabaseSettings,
    DriveSettings,
    EmailSettings,
    LecturesSettings,
    LogSettings,
    MetricsSettings,
    NodeSettings,
    RecordingSettings,
    RetentionSettings,
    Settings,
    UploadSettings,
    WebhookSettings,
)
from nvr_console.core.config.values import (
    CHUNK_QUANTUM,
    DEFAULT_DRIVE_ACCOUNT,
    GOOGLE_API_ROOT,
    ConfigError,
    ConfigFileError,
    DriveAccount,
)

__all__ = [
    "CHUNK_QUANTUM", "DEFAULT_DRIVE_ACCOUNT", "GOOGLE_API_ROOT", "LEGACY_DATABASE_ENV", "LIVE_OPTIONS", "META_ENV",
    "OPTIONS", "OPTIONS_BY_ENV", "OPTIONS_BY_NAME", "RENEWALS_PER_TTL", "SYSTEM_CONFIG", "AlertsSettings",
    "CalendarSettings", "ConfigError", "ConfigFileError", "DatabaseSettings", "DriveAccount", "DriveSettings",
    "EmailSettings", "Kind", "LecturesSettings", "LogSettings", "MetricsSettings", "NodeSettings", "Option",
    "RecordingSettings", "RetentionSettings", "Settings", "SettingsInputs", "UploadSettings", "WebhookSettings",
    "default", "default_dirs", "ensure_runtime_dirs", "load_settings", "renew_interval",
]
