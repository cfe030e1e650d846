"""nvr-console: gapless camera recording with verified uploads to Google Drive."""

__version__ = "0.1.0"
APP_NAME = "nvr-console"
