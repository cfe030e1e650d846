"""The core/UI split is enforced, as napari does: import-linter contracts from pyproject.toml."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def test_import_contracts_hold() -> None:
    result = subprocess.run([LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def _core_layers() -> LayersContract:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    options = next(c for c in config["contracts"] if c["type"] == "layers")
    # (as import-linter reads its TOML: scalars as text)
    options = {k: str(v).lower() if isinstance(v, bool) else v for k, v in options.items()}
    return LayersContract(options["name"], {"root_packages": ["nvr_console"]}, options)


def test_the_core_layers_contract_catches_an_import_up_the_layers() -> None:
    """Our own layers contract on the real import graph, with one import added from the bottom to the top."""
    graph = grimp.build_graph("nvr_console")
    assert _core_layers().check(graph, verbose=False).kept
    graph.add_import(importer="nvr_console.core.upload.queue", imported="nvr_console.core.fleet.leases",
                     line_number=1, line_contents="from nvr_console.core.fleet import leases")
    assert not _core_layers().check(graph, verbose=False).kept  # fleet and upload are independent
    graph = grimp.build_graph("nvr_console")
    graph.add_import(importer="nvr_console.core.db.session", imported="nvr_console.core.engine.recording_engine",
                     line_number=1, line_contents="from nvr_console.core.engine.recording_engine import Engine")
    assert not _core_layers().check(graph, verbose=False).kept
    graph = grimp.build_graph("nvr_console")
    graph.add_module("nvr_console.core.unplaced")  # exhaustive: a new module of core must be given a layer
    assert not _core_layers().check(graph, verbose=False).kept


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
