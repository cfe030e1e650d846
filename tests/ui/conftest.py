"""Console test fixtures on top of tests/conftest.py (isolated HOME, settings_factory, db): offscreen Qt
and QSettings pointed into the per-test home (Qt caches its path once per process otherwise)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture(autouse=True)
def _qsettings_in_home(isolated_env: Path) -> None:
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(isolated_env / ".config"))
