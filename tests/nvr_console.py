"""Briefcase's test entry: `briefcase dev --test` (and `briefcase run --test`) run this module.

Runs a quick subset of the pytest suite (settings, parsing, masking, schedule, migrations, admin
commands: no FFmpeg, RTSP peer, MariaDB or display needed) and prints the sentinel line Briefcase
reads the exit code from. The whole suite is `pytest` from the repository root.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

QUICK = (
    "core/test_config.py",
    "core/test_config_writer.py",
    "core/test_sizes.py",
    "core/test_close_matches.py",
    "core/test_durations.py",
    "core/test_masking.py",
    "core/test_stream_url.py",
    "core/schedule",
    "core/db/test_migrate.py",
    "cli/test_admin_commands.py",
)


def run(extra: list[str]) -> int:
    tests = Path(__file__).resolve().parent
    # Only what exists, so renaming a test file does not break the Briefcase entry.
    paths = [str(tests / p) for p in QUICK if (tests / p).exists()]
    args = [
        *paths,
        "-q",
        "-m",
        "not slow and not mariadb",
        "-p",
        "no:cacheprovider",
        # Briefcase's dev environment installs the requirements, not the project itself, so it has
        # no `nvr-console` console script for this test to run.
        "-k",
        "not test_entry_points_run",
        "--rootdir",
        str(tests.parent),
        *extra,
    ]
    return int(pytest.main(args))


if __name__ == "__main__":
    rc = run(sys.argv[1:])
    # Briefcase's default exit regex: ^>>>>>>>>>> EXIT (?P<returncode>.*) <<<<<<<<<<$
    print(f">>>>>>>>>> EXIT {rc} <<<<<<<<<<", flush=True)
    sys.exit(rc)
