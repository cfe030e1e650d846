"""Run the `nvr-console` command line in-process, as a user would type it, and collect what it printed."""

from __future__ import annotations

import pytest

from nvr_console.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `nvr-console *argv`; argparse's SystemExit counts as the exit code."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
