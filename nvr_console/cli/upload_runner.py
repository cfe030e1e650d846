"""Run the Uploader alone, headless, on the configured database: `python -m nvr_console.cli.upload_runner`.

For operators (drain a backlog without recording: `--until-idle`) and for tests that SIGKILL an uploading
process and start it again. Settings come from the usual layers plus `--set section.key=value`.
Prints one line per progress event (`progress ID STATE SENT TOTAL`) and `idle` when the queue is empty.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt

from nvr_console.core.config import ConfigError, ConfigFileError, load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.status import UploadProgress
from nvr_console.core.upload import queue
from nvr_console.core.upload.uploader import Uploader


def main(argv: list[str] | None = None) -> int:
    """Main thread: start the uploader, wait for SIGTERM/SIGINT (or an empty queue with --until-idle)."""
    p = argparse.ArgumentParser(prog="python -m nvr_console.cli.upload_runner", description=__doc__)
    p.add_argument("--config", type=Path)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting, e.g. upload.workers=4")
    p.add_argument("--until-idle", action="store_true", help="exit when nothing is left to upload")
    p.add_argument("--lease", type=float, default=120.0, help="claim lease in seconds")
    p.add_argument("--retry-base", type=float, default=2.0, help="first retry delay in seconds")
    p.add_argument("--poll", type=float, default=15.0, help="seconds between queue polls when idle")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(levelname)s %(message)s")
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key.strip()] = value
    try:
        settings = load_settings(args.config, overrides)
    except (ConfigError, ConfigFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    QCoreApplication.instance() or QCoreApplication(["nvr-upload"])
    db = Database(settings.database.url)
    prepare_database(db)
    up = Uploader(settings, db, lease_s=args.lease, retry_base_s=args.retry_base, poll_s=args.poll)

    def show(p: UploadProgress) -> None:
        print(f"progress {p.recording_id} {p.state.value} {p.bytes_sent} {p.total}", flush=True)

    # Direct: printed from the worker thread; this runner has no event loop to queue into.
    up.upload_progress.connect(show, Qt.ConnectionType.DirectConnection)
    stop = False

    def on_signal(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    up.start()
    try:
        while not stop:
            time.sleep(0.1)
            if args.until_idle and up.is_idle() and queue.totals(db)[0] == 0:
                print("idle", flush=True)
                break
            paused, reason = up.is_paused()
            if args.until_idle and paused:
                print(f"paused {reason}", flush=True)
                break
    finally:
        up.stop()
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
