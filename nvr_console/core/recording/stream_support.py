"""Which camera streams the recorder keeps as they are (no re-encoding), and the words for one it cannot.

The rules are the measured ones of ffmpeg_command's module notes and the stream matrix
(tests/core/recording/test_stream_matrix.py): H.264 (any profile, with or without B-frames) and H.265 go into
the final MP4 as they are; any audio is kept (G.711 and others become AAC in the MP4). Other video (Motion
JPEG, MPEG-4 Part 2, raw video...) would need re-encoding to play in a browser, which the recorder does not
do: such a camera is failed with a reason that names what it sends and what to set it to.
"""

from __future__ import annotations

from nvr_console.core.recording.ffmpeg_command import RECORDABLE_VIDEO_CODECS
from nvr_console.core.recording.probe import MediaInfo

# FFmpeg codec names as an operator knows them from the camera's web page.
CODEC_LABELS = {
    "h264": "H.264", "hevc": "H.265", "mjpeg": "Motion JPEG (MJPEG)", "mpeg4": "MPEG-4 Part 2",
    "rawvideo": "uncompressed video", "vp8": "VP8", "vp9": "VP9", "av1": "AV1", "mpeg2video": "MPEG-2",
    "aac": "AAC", "pcm_alaw": "G.711 A-law", "pcm_mulaw": "G.711 µ-law", "adpcm_g726": "G.726",
    "adpcm_g726le": "G.726", "opus": "Opus", "mp3": "MP3", "mp2": "MPEG audio layer 2", "pcm_s16be": "L16 PCM",
}
SET_ENCODER_TO = "set its encoder to H.264 (or H.265); B-frames and any profile are fine"


def codec_label(codec: str | None) -> str:
    """The name operators know for an FFmpeg codec name ("h264" -> "H.264")."""
    if not codec:
        return "nothing"
    return CODEC_LABELS.get(codec, codec.upper())


def stream_summary(streams: MediaInfo, picture: tuple[int, int] | None = None) -> str:
    """One line for the console's camera table: "H.264 1280x720 · AAC", "H.265 · no audio", "sound only: G.711
    A-law". `picture`: the size the camera's in-band parameter sets say (they win over the SDP's)."""
    video, audio = streams.video, streams.audio
    sound = codec_label(audio.codec) if audio is not None else "no audio"
    if video is None:
        return f"sound only: {sound}"
    width, height = picture or (video.width, video.height)
    size = f" {width}x{height}" if width and height else ""
    return f"{codec_label(video.codec)}{size} · {sound}"


def unrecordable_reason(streams: MediaInfo) -> str | None:
    """Why a camera sending these streams cannot be recorded as is, in words with the fix; None if it can.
    A stream without video (a camera that sends only sound) is recordable."""
    video = streams.video
    if video is None or video.codec in RECORDABLE_VIDEO_CODECS:
        return None
    return (f"the camera sends {codec_label(video.codec)} video, which cannot be recorded because an MP4 that "
            f"browsers and players open holds only H.264 or H.265 video as it is and the recorder does not "
            f"re-encode; {SET_ENCODER_TO}")
