"""The streams lecture-hall cameras and encoders send, as RTSP test-server mounts (rtsp_server.py --mount).

Pre-encoded files are made by FFmpeg at test time (libx264 with the profile and B-frames of each case,
libx265 with and without B-frames, AAC) and served by ``filesrc ! qtdemux ! h26Xparse ! rtph26Xpay``, which
sends what a hardware encoder sends, B-frames included. Live cases use GStreamer's own encoders (x264enc
bframes=N, x265enc) with G.711 A-law / µ-law audio. ``config-interval=-1`` repeats the parameter sets
in-band before every keyframe; ``config-interval=0`` leaves them only in the SDP (sprop-parameter-sets).

Closed GOPs throughout (x265 ``open-gop=0``): cameras send IDR keyframes; an open GOP cut at a CRA keeps
frames that do not decode (ffmpeg_command module notes).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FPS = 25
SIZE = "320x180"  # small: many cases run at once on 2 cores


@dataclass(frozen=True)
class StreamCase:
    """One row of the matrix: what the camera sends and how it is reached."""

    name: str  # mount path without the slash; also the test id
    video: Literal["h264", "hevc"]
    profile: str  # H.264: baseline/main/high; H.265: main
    bframes: int
    gop_s: int  # keyframe interval
    audio: Literal["aac", "pcm_alaw", "pcm_mulaw"] | None
    transport: Literal["tcp", "udp"] = "tcp"
    sdp_only: bool = False  # parameter sets only in the SDP
    live: bool = False  # GStreamer encodes live (x264enc/x265enc); else a pre-encoded file

    @property
    def mount(self) -> str:
        return f"/m_{self.name}"

    @property
    def file_name(self) -> str:
        return f"{self.name}.mp4"

    @property
    def record_s(self) -> float:
        """How long to record so that at least two boundaries of 3 s segments pass after the first kept
        keyframe (which may come one keyframe interval after connecting)."""
        return max(14.0, 2.0 * self.gop_s + 4.0 * 3 + 2.0)


MATRIX: tuple[StreamCase, ...] = (
    StreamCase("h264_baseline_aac", "h264", "baseline", 0, 1, "aac"),
    StreamCase("h264_main_bf2_sdp", "h264", "main", 2, 1, None, sdp_only=True),
    StreamCase("h264_high_bf3_aac", "h264", "high", 3, 1, "aac"),
    StreamCase("h264_high_bf3_aac_udp", "h264", "high", 3, 1, "aac", transport="udp"),
    StreamCase("h264_high_bf3_sdp_aac", "h264", "high", 3, 1, "aac", sdp_only=True),
    StreamCase("h264_high_bf2_gop10", "h264", "high", 2, 10, None),
    StreamCase("h265_main_aac", "hevc", "main", 0, 1, "aac"),
    StreamCase("h265_main_bf4_sdp", "hevc", "main", 4, 1, None, sdp_only=True),
    StreamCase("h265_main_bf4_aac_udp", "hevc", "main", 4, 1, "aac", transport="udp"),
    StreamCase("x264_live_bf2_alaw", "h264", "high", 2, 1, "pcm_alaw", live=True),
    StreamCase("x265_live_mulaw_udp", "hevc", "main", 0, 1, "pcm_mulaw", transport="udp", live=True),
)

# A camera sending Motion JPEG: FFmpeg reads it, but an MP4 for browsers cannot hold it as it is.
# RTP/JPEG carries sizes in multiples of 8 only (rtpjpegpay refuses 180 lines: the media never prepares).
MJPEG_LAUNCH = (f"videotestsrc is-live=true ! video/x-raw,width=320,height=176,framerate={FPS}/1,format=I420 "
                "! jpegenc ! rtpjpegpay name=pay0 pt=26")
# A camera whose SDP has only sound.
SOUND_ONLY_LAUNCH = ("audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audio/x-raw,rate=8000,channels=1 "
                     "! alawenc ! rtppcmapay name=pay0 pt=8")


def encode_file(case: StreamCase, folder: Path, seconds: float, ffmpeg: str = "ffmpeg") -> Path:
    """The case's pre-encoded MP4 (testsrc2 with a frame counter, plus a tone when it has audio)."""
    target = folder / case.file_name
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}"]
    if case.audio == "aac":
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000"]
    gop = case.gop_s * FPS
    argv += ["-t", f"{seconds:g}", "-pix_fmt", "yuv420p"]
    if case.video == "h264":
        argv += ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", case.profile, "-bf", str(case.bframes),
                 "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"]
    else:
        argv += ["-c:v", "libx265", "-preset", "veryfast", "-x265-params",
                 f"bframes={case.bframes}:keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error"]
    if case.audio == "aac":
        argv += ["-c:a", "aac", "-b:a", "32k"]
    argv += [str(target)]
    subprocess.run(argv, check=True, timeout=300, capture_output=True)
    return target


def launch(case: StreamCase, folder: Path) -> str:
    """The gst-launch description that serves the case."""
    interval = 0 if case.sdp_only else -1
    if case.live:
        gop = case.gop_s * FPS
        src = f"videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate={FPS}/1"
        if case.video == "h264":
            video = (f"{src} ! x264enc speed-preset=ultrafast bframes={case.bframes} key-int-max={gop} bitrate=400 "
                     f"! video/x-h264,profile={case.profile} ! rtph264pay name=pay0 pt=96 config-interval={interval}")
        else:
            video = (f"{src} ! x265enc speed-preset=ultrafast key-int-max={gop} bitrate=400 "
                     f"option-string=bframes={case.bframes}:open-gop=0:scenecut=0 "
                     f"! rtph265pay name=pay0 pt=96 config-interval={interval}")
        enc, pay, pt = {"pcm_alaw": ("alawenc", "rtppcmapay", 8), "pcm_mulaw": ("mulawenc", "rtppcmupay", 0)}.get(
            case.audio or "", ("", "", 0))
        if not enc:
            return video
        return (f"{video} audiotestsrc is-live=true wave=sine freq=440 volume=0.3 "
                f"! audio/x-raw,rate=8000,channels=1 ! {enc} ! {pay} name=pay1 pt={pt}")
    parse, pay = ("h264parse", "rtph264pay") if case.video == "h264" else ("h265parse", "rtph265pay")
    text = (f"filesrc location={folder / case.file_name} ! qtdemux name=d d.video_0 ! queue ! {parse} "
            f"! {pay} name=pay0 pt=96 config-interval={interval}")
    if case.audio == "aac":
        text += " d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97"
    return text
