"""The console's dialogs and the questions it asks."""
