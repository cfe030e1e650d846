"""Export a time range of one camera (or every camera of a room) into one MP4 each, without re-encoding."""
