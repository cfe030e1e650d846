"""read_mp4() on real MP4s written by FFmpeg agrees with ffprobe, and refuses truncated or malformed files."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from nvr_console.core.recording.ffmpeg_command import build_finalize_command
from nvr_console.core.recording.mp4_boxes import read_mp4, sample_times, video_keyframe_times
from nvr_console.core.recording.probe import ProbeError
from tests.core.engine_support import ffprobe_json


def _encoders() -> str:
    return subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True,
                          check=False).stdout


def _mkv(path: Path, *, audio: str | None, rate: int = 8000, layout: str = "mono", video: str = "libx264",
         seconds: float = 2.0) -> Path:
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=sample_rate={rate}:duration={seconds + 0.37}", "-ac",
                 "2" if layout == "stereo" else "1", "-c:a", audio]
    args += ["-c:v", video, "-g", "25", *(["-preset", "ultrafast"] if video == "libx264" else [])]
    subprocess.run([*args, "-f", "matroska", str(path)], check=True, timeout=120, capture_output=True)
    return path


def _finalized(tmp_path: Path, name: str, audio_codec: str | None, **kw: object) -> Path:
    """An MP4 as the finalizer writes it (remux, +faststart, G.711 -> AAC) from a made-up segment."""
    raw = _mkv(tmp_path / f"{name}.mkv", audio=audio_codec, **kw)  # type: ignore[arg-type]
    out = tmp_path / f"{name}.mp4"
    subprocess.run(build_finalize_command("ffmpeg", raw, out, audio_codec=audio_codec), check=True, timeout=120,
                   capture_output=True)
    return out


def _assert_like_ffprobe(path: Path) -> None:
    info = read_mp4(path)
    ref = ffprobe_json(path)
    assert info.duration_s == pytest.approx(float(ref["format"]["duration"]), abs=0.0015)
    ref_streams = [s for s in ref["streams"] if s["codec_type"] in ("video", "audio")]
    assert [(s.kind, s.codec) for s in info.streams] == [(s["codec_type"], s["codec_name"]) for s in ref_streams]
    for ours, theirs in zip(info.streams, ref_streams, strict=True):
        assert ours.frames == int(theirs["nb_frames"])
        # The track's media length (mdhd): for encoded audio it also counts the encoder's priming samples
        # that the edit list hides from ffprobe (at most one frame: 1024 samples for AAC, 1152 for MP3).
        frame = {"aac": 1024, "mp3": 1152}.get(ours.codec, 0) if ours.kind == "audio" else 0
        priming = frame / int(theirs["sample_rate"]) if frame else 0.0
        assert float(theirs["duration"]) - 0.0015 <= ours.duration_s <= float(theirs["duration"]) + priming + 0.0015
        if ours.kind == "video":
            assert (ours.width, ours.height) == (theirs["width"], theirs["height"])
            num, den = theirs["avg_frame_rate"].split("/")
            assert ours.fps == pytest.approx(int(num) / int(den), rel=1e-3)
        else:
            assert ours.sample_rate == int(theirs["sample_rate"])
            if ours.channels is not None:
                assert ours.channels == theirs["channels"]


def test_g711_camera_file_finalized_with_aac(tmp_path: Path) -> None:
    mp4 = _finalized(tmp_path, "alaw", "pcm_alaw")
    _assert_like_ffprobe(mp4)
    info = read_mp4(mp4)
    assert info.video is not None and info.video.codec == "h264" and info.video.frames == 50
    assert info.audio is not None and (info.audio.codec, info.audio.sample_rate, info.audio.channels) == \
        ("aac", 16000, 1)
    # The audio runs 0.37 s past the video: the movie lasts as long as its longest track, as ffprobe says.
    assert info.duration_s == pytest.approx(2.37, abs=0.03)


def test_video_only_file(tmp_path: Path) -> None:
    mp4 = _finalized(tmp_path, "video", None)
    _assert_like_ffprobe(mp4)
    info = read_mp4(mp4)
    assert info.audio is None and info.video is not None and info.duration_s == pytest.approx(2.0, abs=0.05)
    assert info.format_name is not None and "mp4" in info.format_name and info.duration_source == "container"


def test_copied_stereo_aac(tmp_path: Path) -> None:
    _assert_like_ffprobe(_finalized(tmp_path, "aac", "aac", rate=48000, layout="stereo"))


@pytest.mark.parametrize(("video", "audio", "fourcc", "codec"), [("libx265", "libmp3lame", b"hvc1", "hevc")])
def test_hevc_and_mp3(tmp_path: Path, video: str, audio: str, fourcc: bytes, codec: str) -> None:
    if video not in _encoders() or audio not in _encoders():
        pytest.skip(f"this FFmpeg has no {video} or {audio}")
    mp4 = tmp_path / "hevc.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=1",
                    "-f", "lavfi", "-i", "sine=sample_rate=44100:duration=1", "-c:v", video, "-tag:v",
                    fourcc.decode(), "-c:a", audio, "-movflags", "+faststart", str(mp4)],
                   check=True, timeout=120, capture_output=True)
    _assert_like_ffprobe(mp4)
    info = read_mp4(mp4)
    assert info.video is not None and info.video.codec == codec
    assert info.audio is not None and info.audio.codec == "mp3"  # an mp4a entry whose esds says MPEG audio


def test_moov_at_the_end_is_read_too(tmp_path: Path) -> None:
    raw = _mkv(tmp_path / "a.mkv", audio=None)
    mp4 = tmp_path / "a.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-c", "copy", str(mp4)], check=True, timeout=60)
    data = mp4.read_bytes()
    assert data.index(b"mdat") < data.index(b"moov")
    _assert_like_ffprobe(mp4)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _finalized(tmp_path_factory.mktemp("mp4"), "good", "pcm_alaw")


def _top_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    boxes, pos = {}, 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        boxes[kind.decode()] = (pos, size)
        pos += size
    return boxes


@pytest.mark.parametrize("keep", [0.999, 0.5, 0.02])
def test_truncated_file_is_refused(good: Path, tmp_path: Path, keep: float) -> None:
    data = good.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * keep)])
    # Stricter than the ffprobe run this replaces: FFmpeg 5.1's ffprobe reads an MP4 cut inside its
    # mdat without an error (exit 0, nothing on stderr).
    with pytest.raises(ProbeError, match=r"cut\.mp4: truncated"):
        read_mp4(cut)


def test_mdat_shorter_than_the_sample_tables(good: Path, tmp_path: Path) -> None:
    data = good.read_bytes()
    boxes = _top_boxes(data)
    start, size = boxes["mdat"]
    half = (size - 8) // 2
    short = tmp_path / "short.mp4"
    # A well-formed box structure whose mdat holds half the media the moov describes.
    short.write_bytes(data[:start] + struct.pack(">I4s", 8 + half, b"mdat") + data[start + 8: start + 8 + half])
    with pytest.raises(ProbeError, match="more data than the 'mdat' box holds"):
        read_mp4(short)


def test_no_moov_no_mdat_and_not_mp4(good: Path, tmp_path: Path) -> None:
    data = good.read_bytes()
    boxes = _top_boxes(data)
    ftyp_end = sum(boxes["ftyp"])
    moov_start, moov_size = boxes["moov"]
    no_moov = tmp_path / "no_moov.mp4"
    no_moov.write_bytes(data[:ftyp_end] + data[moov_start + moov_size:])  # e.g. the muxer was killed
    with pytest.raises(ProbeError, match="no 'moov' box"):
        read_mp4(no_moov)
    empty_mdat = tmp_path / "empty_mdat.mp4"
    empty_mdat.write_bytes(data[:moov_start + moov_size] + struct.pack(">I4s", 8, b"mdat"))
    with pytest.raises(ProbeError, match="no media data"):
        read_mp4(empty_mdat)
    mkv = tmp_path / "segment.mkv"
    mkv.write_bytes(b"\x1a\x45\xdf\xa3" + b"\0" * 64)
    with pytest.raises(ProbeError, match="segment.mkv: "):
        read_mp4(mkv)
    with pytest.raises(ProbeError, match="no such file"):
        read_mp4(tmp_path / "missing.mp4")


def test_a_track_without_audio_or_video_handler(good: Path, tmp_path: Path) -> None:
    data = bytearray(good.read_bytes())
    for kind in (b"vide", b"soun"):  # rename the handlers: no audio or video track is left
        pos = data.index(b"hdlr")
        while pos >= 0:
            if data[pos + 12: pos + 16] == kind:
                data[pos + 12: pos + 16] = b"meta"
            pos = data.find(b"hdlr", pos + 4)
    odd = tmp_path / "odd.mp4"
    odd.write_bytes(bytes(data))
    with pytest.raises(ProbeError, match="no audio or video streams"):
        read_mp4(odd)



def _ffprobe_keyframes(path: Path) -> list[float]:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
                          "-show_entries", "frame=pts_time", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [float(x.strip(",")) for x in out.split()]


@pytest.mark.parametrize("bframes", [0, 2])
def test_keyframe_times_match_ffprobes(tmp_path: Path, bframes: int) -> None:
    src = tmp_path / "k.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=7",
                    "-f", "lavfi", "-i", "sine=sample_rate=16000:duration=7", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "30", "-bf", str(bframes), "-c:a", "aac", "-movflags", "+faststart",
                    str(src)], check=True, timeout=60, capture_output=True)
    ours = video_keyframe_times(src)
    theirs = _ffprobe_keyframes(src)
    assert len(ours) == len(theirs) >= 5
    assert ours == pytest.approx(theirs, abs=0.0015)
    audio = [t for t, _key in sample_times(src, "audio")]
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time",
                          "-of", "csv=p=0", str(src)], capture_output=True, text=True, check=True).stdout
    assert audio == pytest.approx([float(x.strip(",")) for x in out.split()], abs=0.0015)
    with pytest.raises(ProbeError, match="no video track"):
        audio = tmp_path / "a.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(src), "-vn", "-c", "copy", str(audio)], check=True,
                       timeout=60)
        video_keyframe_times(audio)
