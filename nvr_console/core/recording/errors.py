"""Turn FFmpeg's stderr into one error kind and a message an operator can act on (passwords masked).

Messages measured with FFmpeg 5.1 against a real RTSP server (tests/core/recording/test_errors.py):
  401 -> "method DESCRIBE failed: 401 Unauthorized" / "Server returned 401 Unauthorized"
  404 -> "Server returned 404 Not Found"
  closed port -> "Connection to tcp://...: Connection refused"
  server answers nothing while connecting -> "<url>: Invalid data found when processing input"
  stream stalls mid-recording -> "<url>: Connection timed out" (exit status 0!)
  server ends the stream -> no error line at all (exit status 0)
  G.711 copied into MP4 -> "Could not find tag for codec pcm_alaw ... not currently supported in container"
FFmpeg prints the input URL, password included, in most of these lines: every message is masked.
"""

from __future__ import annotations

import re
from enum import StrEnum

from nvr_console.core.ffmpeg.error_lines import is_error_line, last_error_line
from nvr_console.core.text.masking import mask_secrets

__all__ = ["FfmpegErrorKind", "classify_ffmpeg_error", "last_error_line"]  # last_error_line: ffmpeg.error_lines


class FfmpegErrorKind(StrEnum):
    AUTH = "auth"
    NOT_FOUND = "not_found"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    HOST_UNREACHABLE = "host_unreachable"
    DNS = "dns"
    PROTOCOL = "protocol"
    UNSUPPORTED_CODEC = "unsupported_codec"
    NO_SUCH_FILE = "no_such_file"
    PERMISSION = "permission"
    DISK_FULL = "disk_full"
    ENCODER_MISSING = "encoder_missing"
    STREAM_ENDED = "stream_ended"
    # The recorder cannot write what the camera sends (stream_support: its video codec; or packets the file
    # muxer refuses). Retried a few times, then failed for good until the operator starts it again.
    UNRECORDABLE = "unrecordable"
    UNWRITABLE = "unwritable"
    UNKNOWN = "unknown"


# strerror(ENOSPC) as FFmpeg prints it (Linux, macOS; MinGW builds say the same).
NO_SPACE = "No space left on device"
DISK_FULL_MESSAGE = ("The recordings disk is full. Free space or choose another recordings folder; uploads and "
                     "retention free space as files are verified, and the camera starts again as soon as there "
                     "is room.")

# First match wins: the specific causes come before the generic "Invalid data".
_RULES: tuple[tuple[FfmpegErrorKind, re.Pattern[str], str], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE), message)
    for kind, pattern, message in (
        (FfmpegErrorKind.AUTH, r"\b401\b|Unauthorized|authorization failed",
         "The camera refused the login: wrong user or password. Check the user name and password in "
         "the camera URL (rtsp://user:password@host/path)."),
        (FfmpegErrorKind.NOT_FOUND, r"\b404\b|\b454\b",
         "No such stream path on the camera: the server answered 404. Check the path after the host "
         "in the URL (see the camera's manual for its RTSP path)."),
        (FfmpegErrorKind.AUTH, r"\b403\b|Forbidden",
         "The camera forbids this stream for this user (403). Give the user streaming rights on the camera."),
        (FfmpegErrorKind.CONNECTION_REFUSED, r"Connection refused",
         "Connection refused: nothing listens on that host and port. Check the port in the URL and "
         "that the camera's RTSP service is on."),
        (FfmpegErrorKind.DNS, r"Failed to resolve hostname|Name or service not known|"
         r"nodename nor servname|No address associated",
         "The camera's host name cannot be resolved. Check the host in the URL or use its IP address."),
        (FfmpegErrorKind.HOST_UNREACHABLE, r"No route to host|Network is unreachable|Host is unreachable",
         "The camera cannot be reached on the network. Check that it is powered, cabled and on this subnet."),
        (FfmpegErrorKind.TIMEOUT, r"timed out|Operation timed out|timeout",
         "The camera stopped answering (timeout). Check its network link and power; recording "
         "restarts by itself when it answers again."),
        (FfmpegErrorKind.UNWRITABLE, r"Can't write packet with unknown timestamp",
         "The camera sends video packets without timestamps, which cannot be recorded because the recording "
         "file needs a time for every frame; set its encoder to a fixed keyframe interval (1-2 s) and, if "
         "this stays, B-frames off."),
        (FfmpegErrorKind.UNSUPPORTED_CODEC, r"Could not find tag for codec|not currently supported in container|"
         r"Unsupported codec|codec not currently supported|Decoder \(codec .*\) not found|"
         r"unsupported (?:video|audio) codec",
         "The stream uses a codec this file type cannot hold. Set the camera to H.264/H.265 video "
         "and AAC or G.711 audio."),
        (FfmpegErrorKind.ENCODER_MISSING, r"Unknown encoder|Encoder not found",
         "This FFmpeg lacks an encoder the app needs. Install a full FFmpeg build (with libx264 and aac)."),
        (FfmpegErrorKind.DISK_FULL, NO_SPACE, DISK_FULL_MESSAGE),
        (FfmpegErrorKind.PERMISSION, r"Permission denied",
         "FFmpeg may not write there (permission denied). Check the recordings folder's permissions."),
        (FfmpegErrorKind.NO_SUCH_FILE, r"No such file or directory",
         "A file or folder FFmpeg needs does not exist. Check the recordings folder (and the URL if it "
         "is a file path)."),
        (FfmpegErrorKind.PROTOCOL, r"Invalid data found when processing input|Protocol not found|"
         r"method \w+ failed|\b5\d\d\b [A-Z]",
         "The camera answered, but not with a stream FFmpeg understands. Check that the URL is the "
         "camera's RTSP address and that the port is the RTSP port, not the web page."),
    )
)

def classify_ffmpeg_error(stderr_text: str) -> tuple[FfmpegErrorKind, str]:
    """Map FFmpeg's stderr to (kind, operator message). The message ends with FFmpeg's own error line
    for support, with any password replaced by ***. No error line at all means the source ended the
    stream (FFmpeg exits 0 then, too)."""
    text = stderr_text or ""
    detail = last_error_line(text)
    if detail is None:
        return (FfmpegErrorKind.STREAM_ENDED,
                "The stream ended without an error from FFmpeg (the camera closed it). Recording "
                "restarts by itself.")
    # Search the error lines only: stream dumps contain words such as "Not Found" rarely, but never
    # classify from a URL path or title.
    error_lines = [ln.strip() for ln in text.splitlines() if is_error_line(ln)]
    for kind, pattern, message in _RULES:
        # The last line that names this cause is the most useful one to show.
        hit = next((ln for ln in reversed(error_lines) if pattern.search(ln)), None)
        if hit is not None:
            return kind, f"{message} (FFmpeg: {mask_secrets(hit)})"
    return FfmpegErrorKind.UNKNOWN, f"FFmpeg failed: {detail}"
