"""No class in nvr_console over 400 lines and no function over 60 (migrations aside): past those sizes a class
holds several jobs and a function several steps, and both want names of their own (issue 18)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "nvr_console"
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 60


def sizes(root: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """(kind, where, lines) of every class and function, lines counted from its def (decorators aside) to its
    last line, docstring and comments included."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                where = f"{path.relative_to(root.parent)}:{node.lineno} {node.name}"
                found.append((kind, where, node.end_lineno - node.lineno + 1))
    return found


def test_no_class_over_400_lines_and_no_function_over_60() -> None:
    limits = {"class": MAX_CLASS_LINES, "function": MAX_FUNCTION_LINES}
    over = [f"{kind} {where}: {lines} lines (at most {limits[kind]})"
            for kind, where, lines in sizes() if lines > limits[kind]]
    assert not over, "split along a real seam (a named helper or class that says what it does):\n" + "\n".join(over)


def test_the_measure_counts_what_it_should(tmp_path: Path) -> None:
    pkg = tmp_path / "nvr_console"
    (pkg / "core" / "db" / "migrations").mkdir(parents=True)
    body = "\n".join(f"        x{i} = {i}" for i in range(60))
    (pkg / "core" / "long.py").write_text(f"class A:\n    def f(self):\n{body}\n", encoding="utf-8")
    (pkg / "core" / "db" / "migrations" / "m.py").write_text(f"def upgrade():\n{body}\n", encoding="utf-8")
    got = {(kind, where.split()[-1]): lines for kind, where, lines in sizes(pkg)}
    # f: its def line and 60 statements, 61 lines (one too many); A: its own line too; the migration not at all
    assert got == {("class", "A"): 62, ("function", "f"): 61}
