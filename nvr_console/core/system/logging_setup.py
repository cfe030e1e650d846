"""Logging to stderr and a rotating file, with every record passed through the secret mask."""

from __future__ import annotations

import io
import logging
import logging.handlers
import sys
from pathlib import Path
from typing import TextIO

from nvr_console.core.system.private_files import LOG_FILE, create_private_file, narrow_mode
from nvr_console.core.text.masking import mask_secrets

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class MaskSecretsFilter(logging.Filter):
    """Rewrites the formatted message so no URL password reaches any handler: credentials never appear in
    logs (nor in the UI or error messages)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later from exc_info; pre-render and mask them here.
            record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that only its owner and group may read (0640), from its creation and after every
    rotation; an existing wider file is narrowed when opened. Logs hold no passwords (MaskSecretsFilter),
    but do hold camera addresses, user names and file paths."""

    def _open(self) -> io.TextIOWrapper:
        path = Path(self.baseFilename)
        create_private_file(path, LOG_FILE)
        narrow_mode(path, LOG_FILE)
        return super()._open()


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at emit time (test capture and re-pointed streams keep working)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str | int = "info", log_dir: Path | None = None, verbose: bool = False) -> None:
    """Set up the root logger once per process: stderr always, plus `<log_dir>/nvr-console.log`."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_nvr", False):
            root.removeHandler(h)
    lvl = logging.DEBUG if verbose else (level if isinstance(level, int) else getattr(logging, level.upper()))
    root.setLevel(lvl)
    handlers: list[logging.Handler] = [_StderrHandler()]
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        handlers.append(
            PrivateRotatingFileHandler(
                log_dir / "nvr-console.log", maxBytes=5 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
        )
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(MaskSecretsFilter())
        h._nvr = True  # type: ignore[attr-defined]  # marks our own handlers, removed on the next call
        root.addHandler(h)
    # Chatty libraries stay at warning unless asked.
    for name in ("googleapiclient.discovery_cache", "urllib3", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
