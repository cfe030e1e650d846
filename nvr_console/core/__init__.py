"""The engine: recording, uploads, data. Imports QtCore at most (enforced by import-linter)."""
