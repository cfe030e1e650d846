"""Words and numbers for people: sizes, durations, masked secrets, close matches of a mistyped name."""
