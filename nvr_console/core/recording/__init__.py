"""Recording: FFmpeg command lines, recorder supervision, finalizing, start-up recovery."""
