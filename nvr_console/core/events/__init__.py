"""Camera events: state changes, operator commands and engine starts/stops, stored as they happen."""
