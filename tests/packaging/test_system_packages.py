"""scripts/system-packages.sh on a busy machine (issue 17: `scripts/run` printed only apt's `Could not get lock
/var/lib/dpkg/lock-frontend` and exited): it says who holds the package manager's lock and waits for it, and a
failure ends with a line of its own."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system-packages.sh"


def _bash(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"source {SCRIPT}; {command}"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env}, check=False)


def test_the_lock_holder_is_named(tmp_path: Path) -> None:
    lock = tmp_path / "lock-frontend"
    lock.touch()
    assert _bash("dpkg_lock_holder", NVR_DPKG_LOCK=str(lock)).stdout == ""
    # Another process holds it as dpkg and apt do (an fcntl write lock).
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"f = open({str(lock)!r}, 'r+b'); fcntl.lockf(f, fcntl.LOCK_EX)\n"
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        name = Path(f"/proc/{holder.pid}/comm").read_text().strip()
        assert _bash("dpkg_lock_holder", NVR_DPKG_LOCK=str(lock)).stdout.strip() == f"process {holder.pid} ({name})"
    finally:
        holder.kill()
        holder.wait()
    with open(lock, "r+b") as f:  # and it is free again: the check took nothing for itself
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.slow
def test_a_busy_package_manager_is_waited_for_and_a_failure_has_a_line_of_its_own(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not Path("/usr/bin/apt-get").exists():
        pytest.skip("installs through apt-get as root (Debian)")
    lock = tmp_path / "lock-frontend"
    lock.touch()
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, time\n"
                               f"f = open({str(lock)!r}, 'r+b'); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(60)"])
    try:
        time.sleep(0.5)
        # A package apt cannot find: the real apt-get runs and fails; the script says so in its own words.
        got = _bash("ensure_debian_packages nvr-console-test-no-such-package", NVR_DPKG_LOCK=str(lock),
                    NVR_APT_LOCK_WAIT="5")
    finally:
        holder.kill()
        holder.wait()
    assert got.returncode == 1
    assert f"==> waiting up to 5 s for the package manager's lock, held by process {holder.pid}" in got.stdout
    assert got.stderr.splitlines()[-2].startswith(
        "error: could not install the system packages nvr-console-test-no-such-package"), got.stderr
    assert "run again once it is done, or install them with: apt-get install -y" in got.stderr.splitlines()[-1]
