"""The desktop console: PySide6 widgets, table models, delegates, dialogs, tray. No business rules."""
