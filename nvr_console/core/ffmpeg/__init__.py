"""Running FFmpeg and ffprobe: the one runner of short jobs (job) and reading what they print on stderr
(error_lines). The recorder's long-running FFmpeg is a QProcess of its own (recording.recorder) sharing the
process-group handling (process_group) and the command building (recording.ffmpeg_command)."""
