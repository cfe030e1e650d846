"""A small file system of its own for a test: a tmpfs mounted with a size limit, so a full disk is a real one.

Mounting needs root (the CI and `scripts/test` as root run the suite so); elsewhere the test is skipped,
saying why. With NVRTEST_REQUIRE_TMPFS=1 (set by scripts/test when it runs as root) it fails instead.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _cannot(reason: str) -> None:
    if os.environ.get("NVRTEST_REQUIRE_TMPFS") == "1":
        pytest.fail(f"{reason} (NVRTEST_REQUIRE_TMPFS=1: this test must run here)")
    pytest.skip(reason)


@contextlib.contextmanager
def small_disk(where: Path, size: int) -> Iterator[Path]:
    """`where` as a tmpfs of `size` bytes for the `with` block; unmounted (with everything on it) after."""
    if sys.platform != "linux":
        _cannot("a small disk for this test is a Linux tmpfs")
    if os.geteuid() != 0:
        _cannot("mounting a tmpfs for this test needs root (the CI runs the suite as root)")
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "nvr-test-disk", str(where)],
                          capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        _cannot(f"cannot mount a tmpfs on {where}: {proc.stderr.strip() or proc.returncode} "
                "(a container needs CAP_SYS_ADMIN)")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, timeout=30, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)
