"""When to record: wall-clock rotation boundaries and recording windows."""
