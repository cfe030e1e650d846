"""The engines (recording, control station), their host, and what only an engine does: reconcile its
cameras with the database, remove one, guard the disk, stop in order."""
