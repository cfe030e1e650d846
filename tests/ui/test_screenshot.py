"""The README screenshot: the main window with cameras in several states, rendered under Xvfb (xcb).

Saved to docs/screenshot.png when UPDATE_README_SCREENSHOT=1 (not NVR_*: tests/conftest.py clears
those), so ordinary runs leave the checkout clean,
otherwise to a temporary file; either way the image is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (apt-get install xvfb)")
def test_screenshot_of_the_main_window_under_xvfb(tmp_path: Path) -> None:
    out = ROOT / "docs" / "screenshot.png" if os.environ.get("UPDATE_README_SCREENSHOT") == "1" else tmp_path / "s.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1440x900x24", sys.executable, "-m",
                    "tests.ui.screenshot_scene", str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 1200 and image.height() >= 600


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (apt-get install xvfb)")
def test_screenshot_of_the_recordings_view_under_xvfb(tmp_path: Path) -> None:
    """docs/recordings.png: a day with files in every state, gaps with reasons, a damaged file, a selection."""
    update = os.environ.get("UPDATE_README_SCREENSHOT") == "1"
    out = ROOT / "docs" / "recordings.png" if update else tmp_path / "r.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1440x900x24", sys.executable, "-m",
                    "tests.ui.recordings_screenshot_scene", str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 1200 and image.height() >= 300


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="needs xvfb-run (apt-get install xvfb)")
def test_screenshot_of_the_live_wall_under_xvfb(tmp_path: Path) -> None:
    """docs/live.png: the Live tab, tiles playing through the real decoder, a failed camera framed red."""
    update = os.environ.get("UPDATE_README_SCREENSHOT") == "1"
    out = ROOT / "docs" / "live.png" if update else tmp_path / "l.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1440x900x24", sys.executable, "-m",
                    "tests.ui.live_screenshot_scene", str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 1200 and image.height() >= 700
