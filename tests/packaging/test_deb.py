"""The Debian package end to end: packaging/build-deb.sh builds it with Briefcase and our template,
installs it (scratch root, or dpkg -i when CI=true and root) and smoke-tests the installed copy.

Slow (about 2 minutes here; 8 is the budget), so it runs only when NVRTEST_PACKAGING=1
(scripts/test sets it when CI is set).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "build-deb.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("NVRTEST_PACKAGING") != "1", reason="NVRTEST_PACKAGING=1 builds the .deb"),
    pytest.mark.skipif(
        not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None,
        reason="needs a Debian-family Linux (dpkg-deb)",
    ),
    pytest.mark.timeout(900),
]


def test_deb_builds_installs_and_runs(tmp_path: Path) -> None:
    # The autouse fixture gives every test a scratch HOME; the script needs the real environment
    # otherwise (PATH, CI), and its smoke runs use their own bare environment anyway.
    env = {**os.environ, "BUILD_DEB_OUT": str(tmp_path / "dist"), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=REPO, env=env, capture_output=True, text=True, timeout=840)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    debs = list((tmp_path / "dist").glob("nvr-console_*.deb"))
    assert len(debs) == 1, output[-3000:]
    assert "nvr-console --version: nvr-console " in output
    assert "headless run exited 0 after SIGTERM" in output
    # The live wall's decoder came with the package and played a tile from it.
    assert "live tile: 320x180 frame after" in output and "/app_packages/av/" in output
