"""Widgets the views and the main window are built from (status bar, banner, badge, tray, tiles, timeline)."""
