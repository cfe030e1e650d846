"""The console's tabs and the views in them (tables, the timeline, the live wall)."""
