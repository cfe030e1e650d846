"""The core/UI split is enforced, as napari does: import-linter contracts from pyproject.toml."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def test_import_contracts_hold() -> None:
    result = subprocess.run([LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_contract_catches_a_widget_import_in_core(tmp_path: Path) -> None:
    pkg = tmp_path / "app" / "core"
    pkg.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "fine.py").write_text("from PySide6.QtCore import QObject\n")
    (pkg / "bad.py").write_text("from PySide6 import QtCore, QtWidgets\n")
    (pkg / "bad2.py").write_text("import PySide6.QtGui\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = app\ninclude_external_packages = True\n"
        "contract_types =\n    forbidden_submodules: tests.support.import_contracts.ForbiddenSubmodulesContract\n"
        "[importlinter:contract:qt]\nname = core imports QtCore at most\ntype = forbidden_submodules\n"
        "source_modules = app.core\nforbidden_submodules =\n    PySide6.QtWidgets\n    PySide6.QtGui\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    result = subprocess.run([LINT, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "app.core.bad imports PySide6.QtWidgets" in result.stdout
    assert "app.core.bad2 imports PySide6.QtGui" in result.stdout
    assert "app.core.fine" not in result.stdout
