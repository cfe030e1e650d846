"""FFmpeg argument lists of an export (pure functions).

Measured with Debian FFmpeg 5.1 on finalized recordings (tests/core/export/test_run.py):
- The concat demuxer with `-c copy` joins the pieces without re-encoding. `inpoint` on the first piece starts
  the copy at the keyframe at or before it (the packets from that keyframe are kept, with timestamps before
  the in point); `-avoid_negative_ts make_zero` then starts the file at that keyframe, both streams shifted
  alike, so the sound stays in sync. `outpoint` on the last piece drops packets from there on.
- Each piece's timeline continues from the previous piece's length (its longest stream, or its `outpoint`).
  Recorded pieces' sound runs on ~40 ms past their video (the packet straddling the cut is in both files), so
  run.py gives every piece but the last an `outpoint` at its video's end: the video stays continuous and the
  sound in step at every join. The one audio packet that still overlaps the next piece is moved by a tick by
  the MP4 muxer ("Non-monotonous DTS"); the packets after it keep their times: no drift.
- The concat demuxer does not rescale timestamps between files: every file must have the same track timescales
  (a re-encoded head at another timescale broke every timestamp after it; run.py keeps pieces of different
  timescales apart). Streams are matched by index, so every file needs the same streams in the same order.
- Exact cut: the first partial GOP goes into an MP4 of its own, listed first with a `duration` of exactly
  (next keyframe K1 - asked start), and the rest is the same concat from K1. Its video is re-encoded (`-ss`
  before the input to the keyframe, then after it to the frame: decoded and dropped up to there; no B-frames;
  the source's timescale). Its sound is copied: the packets from the asked start up to the packet the concat's
  seek to K1 starts the rest's sound with (the last one at or before K1), counted from the audio sample table,
  so none is dropped or doubled and sync holds to the sample (measured: 0.1 ms off at every marker). The
  concat demuxer gives each MP4 its own SPS/PPS in band (it converts H.264 to Annex B per file), so the copied
  part decodes after the re-encoded head.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PROGRESS = ["-progress", "pipe:1", "-nostats"]


@dataclass(frozen=True)
class ListEntry:
    path: Path
    inpoint: float | None = None
    outpoint: float | None = None
    duration: float | None = None


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def concat_list(entries: Sequence[ListEntry]) -> str:
    """An ffconcat file (absolute paths, so FFmpeg needs `-safe 0`)."""
    lines = ["ffconcat version 1.0"]
    for e in entries:
        lines.append(f"file {_quote(e.path.resolve())}")
        if e.duration is not None:
            lines.append(f"duration {e.duration:.6f}")
        if e.inpoint is not None:
            lines.append(f"inpoint {e.inpoint:.6f}")
        if e.outpoint is not None:
            lines.append(f"outpoint {e.outpoint:.6f}")
    return "\n".join(lines) + "\n"


def copy_command(ffmpeg: str, pieces: Path, out: Path, *, audio: bool) -> list[str]:
    """Join the listed pieces with `-c copy`."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
            "-i", str(pieces), "-map", "0:v:0", *(["-map", "0:a:0"] if audio else [])]
    argv += ["-c", "copy", "-avoid_negative_ts", "make_zero", "-movflags", "+faststart", *PROGRESS,
             "-f", "mp4", str(out)]
    return argv


@dataclass(frozen=True)
class Silence:
    """Sound to make for a head whose piece has none in its time (a room's sound source that started late)."""

    codec: str
    sample_rate: int
    channels: int


def head_command(ffmpeg: str, piece: Path, keyframe_s: float, start_s: float, length_s: float, out: Path,
                 *, audio_packets: int | None, codec: str = "h264", timescale: int = 90000,
                 silence: Silence | None = None) -> list[str]:
    """Re-encode the video from `start_s` (inside the GOP that begins at `keyframe_s`) for `length_s`: the
    frames up to the next keyframe, so the export starts on the asked frame. The sound is copied: the
    `audio_packets` packets from the asked start up to where the copied rest's sound begins (None: no sound;
    0 with `silence`: the piece has no sound there, so the head gets silence in the same format, as the concat
    demuxer needs the same streams in every file)."""
    # No B-frames: the head's decode order then equals its presentation order and starts at 0, as the copied
    # camera video does; with them the joined video's timestamps broke right after the head (measured).
    encoder = {"h264": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-bf", "0", "-pix_fmt", "yuv420p"],
               "hevc": ["-c:v", "libx265", "-preset", "veryfast", "-crf", "20", "-x265-params", "bframes=0",
                        "-tag:v", "hvc1"]}[codec]
    sound = ["-map", "0:a:0", "-frames:a", str(audio_packets), "-c:a", "copy"] if audio_packets else ["-an"]
    quiet: list[str] = []
    if audio_packets == 0 and silence is not None:
        layout = "mono" if silence.channels == 1 else "stereo"
        # As long as what the output -ss skips plus the head: that -ss skips the silence's start as well.
        quiet = ["-f", "lavfi", "-t", f"{max(0.0, start_s - keyframe_s) + length_s:.6f}", "-i",
                 f"anullsrc=r={silence.sample_rate}:cl={layout}"]
        sound = ["-map", "1:a:0", "-c:a", "aac" if silence.codec == "aac" else silence.codec,
                 "-ar", str(silence.sample_rate), "-ac", str(silence.channels)]
    # -ss before the input goes to the keyframe; after it, frames are decoded and dropped up to the asked one
    # (and copied sound packets before it are dropped; the second -ss applies to the first input only).
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-ss", f"{keyframe_s:.6f}", "-i", str(piece), *quiet, "-ss", f"{max(0.0, start_s - keyframe_s):.6f}",
            "-t", f"{length_s:.6f}", "-map", "0:v:0", *encoder, "-fps_mode", "passthrough",
            # The encoder's time base at the track's: its default (1/frame rate) moved each frame up to half a
            # frame, out of step with the copied sound (measured: 10-20 ms).
            "-enc_time_base:v", f"1:{timescale}", "-video_track_timescale", str(timescale), *sound,
            "-movflags", "+faststart", *PROGRESS,
            "-f", "mp4", str(out)]


def conform_audio_command(ffmpeg: str, piece: Path, out: Path, *, has_audio: bool, codec: str, sample_rate: int,
                          channels: int, video_s: float | None = None) -> list[str]:
    """A piece whose sound is missing (silence is added) or differs from the others (it is re-encoded to
    match), video copied, so the concat demuxer sees the same streams in every piece."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(piece)]
    layout = "mono" if channels == 1 else "stereo"
    if has_audio:
        argv += ["-map", "0:v:0", "-map", "0:a:0"]
    else:
        # As long as the video, not longer: the next piece's timeline starts after the longest stream.
        argv += ["-f", "lavfi", "-i", f"anullsrc=r={sample_rate}:cl={layout}", "-map", "0:v:0", "-map", "1:a:0",
                 *(["-t", f"{video_s:.6f}"] if video_s else ["-shortest"])]
    argv += ["-c:v", "copy", "-c:a", "aac" if codec == "aac" else codec, "-ar", str(sample_rate), "-ac",
             str(channels), *(["-b:a", "64k"] if codec == "aac" else []), "-movflags", "+faststart", *PROGRESS,
             "-f", "mp4", str(out)]
    return argv
