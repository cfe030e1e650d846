"""Entry point of `nvr-console`: parse, load settings, dispatch, map errors to exit codes.

Exit codes: 0 ok, 2 bad usage or invalid input, 1 anything else. Errors are one line on stderr
that names the thing and the fix; tracebacks only with --verbose.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from nvr_console.cli.parser import build_parser
from nvr_console.core.config import ConfigError, ConfigFileError, ensure_runtime_dirs, load_settings
from nvr_console.core.db.migrate import SchemaTooNew
from nvr_console.core.db.session import DatabaseUnavailable
from nvr_console.core.stream_url import InvalidInput
from nvr_console.core.system.logging_setup import configure_logging
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger("nvr_console")


def _fail(message: str, code: int) -> int:
    print(f"nvr-console: error: {mask_secrets(message)}", file=sys.stderr)
    return code


def _restore_dashdash(args: argparse.Namespace) -> None:
    """argparse (Python 3.11 at least) turns the value of `--url=--` into [], as it drops a '--' from every
    option's values: put it back, so the option's own check judges it (one line, exit 2) rather than the
    command crashing on a list. No option of ours takes a list."""
    for key, value in vars(args).items():
        if value == []:
            setattr(args, key, "--")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 on bad usage, as argparse does
    _restore_dashdash(args)
    verbose = bool(getattr(args, "verbose", False))
    overrides = {"database.url": getattr(args, "database_url", None)}
    try:
        settings = load_settings(getattr(args, "config", None), overrides)
    except (ConfigError, ConfigFileError) as exc:
        return _fail(str(exc), 2)

    try:
        if args.command:
            configure_logging(settings.log.level if not verbose else "debug", verbose=verbose)
            if args.command == "drive":
                from nvr_console.cli.drive_commands import run_drive

                return run_drive(args, settings)
            if args.command == "alerts" or (args.command == "status" and args.check):
                from nvr_console.cli.monitoring_commands import run_alerts, run_check

                return run_check(args, settings) if args.command == "status" else run_alerts(args, settings)
            from nvr_console.cli.admin_commands import run_admin

            return run_admin(args, settings)
        ensure_runtime_dirs(settings)  # before anything starts: nothing is half-started
        configure_logging(settings.log.level, settings.log.dir, verbose=verbose)
        if args.no_gui:
            from nvr_console.cli.headless import run_headless

            return run_headless(settings, demo=args.demo)
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
        ):
            return _fail("no display found for the desktop console; on a server run `nvr-console --no-gui`, "
                         "or set DISPLAY", 2)
        from nvr_console.ui.app import run_gui

        return run_gui(settings, demo=args.demo, no_record=args.no_record)
    except (ConfigError, ConfigFileError, InvalidInput) as exc:
        return _fail(str(exc), 2)
    except (DatabaseUnavailable, SchemaTooNew) as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `nvr-console cameras list | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence: one sentence, details in the log
        log.debug("unexpected error", exc_info=True)
        return _fail(f"{type(exc).__name__}: {exc} (run with -v for details)", 1)


if __name__ == "__main__":
    sys.exit(main())
