"""A custom import-linter contract: forbid chosen SUBMODULES of an external package.

The stock `forbidden` contract only forbids whole external packages, but our engine may import
`PySide6.QtCore` and must never import `PySide6.QtWidgets` or `PySide6.QtGui`. grimp records each
import's source line, so the line tells which submodule was imported.
"""

from __future__ import annotations

import re

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class ForbiddenSubmodulesContract(Contract):
    source_modules = fields.ListField(subfield=fields.ModuleField())
    forbidden_submodules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        violations = []
        # The class attributes are field declarations; importlinter sets the parsed lists on the instance.
        for source in self.source_modules:  # type: ignore[attr-defined]  # a list here, not the ListField
            for module in sorted({source.name} | graph.find_descendants(source.name)):
                for imported in graph.find_modules_directly_imported_by(module):
                    for forbidden in self.forbidden_submodules:  # type: ignore[attr-defined]  # (the same)
                        package, _, sub = str(forbidden).partition(".")
                        if imported != package:
                            continue
                        pkg, name = re.escape(package), re.escape(sub)
                        pattern = rf"\b{pkg}\.{name}\b|from\s+{pkg}\s+import\s+.*\b{name}\b"
                        for detail in graph.get_import_details(importer=module, imported=imported):
                            if re.search(pattern, detail["line_contents"]):
                                violations.append((module, forbidden, detail["line_number"], detail["line_contents"]))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, forbidden, line, text in check.metadata["violations"]:
            output.print_error(f"{module} imports {forbidden} (line {line}: {text})")
            output.new_line()
