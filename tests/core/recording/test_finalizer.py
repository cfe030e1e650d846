"""The finalizer on real files made by FFmpeg: MP4 out, G.711 -> AAC, room audio, failures kept with reasons;
one FFmpeg run per file when the recorder knows the streams."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.recording import finalizer, lifecycle
from nvr_console.core.recording.ffmpeg_locate import locate_tools
from nvr_console.core.recording.finalizer import FinalizeJob, NoRoom, SoundPiece, finalize
from nvr_console.core.recording.lifecycle import register_segment
from nvr_console.core.recording.probe import MediaInfo, StreamInfo
from tests.core.engine_support import codecs, ffprobe_json
from tests.core.recording.test_matroska_media import CLUSTER, header_only_mkv, one_frame_mkv
from tests.support.av_markers import AUDIO, av_offsets, make_marker_clip
from tests.support.small_disk import small_disk

SLOT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _make(path: Path, seconds: float, *, video: bool = True, audio: str | None = "pcm_alaw") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=8000:duration={seconds}"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]
    if audio:
        args += ["-c:a", audio]
    subprocess.run([*args, "-f", "matroska", str(path)], check=True, timeout=60)
    return path


def _job(db: Database, raw: Path, **kw: object) -> FinalizeJob:
    rid = register_segment(db, None, "R", "cam", raw, SLOT)
    return FinalizeJob(rid, None, "R", "cam", raw, SLOT.timestamp(), SLOT.timestamp() + 2, **kw)  # type: ignore[arg-type]


def test_g711_segment_becomes_mp4_with_aac(db: Database, tmp_path: Path) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    event = finalize(_job(db, raw), locate_tools(), db, None)
    assert event.status == "ready", event.notes
    final = Path(event.path)
    assert final == tmp_path / "R" / "cam" / "2026-11-24" / "09-30-00.mp4"
    assert codecs(final) == {"video": "h264", "audio": "aac"}
    assert not raw.exists()
    # +faststart: the moov atom comes before the media data.
    head = final.read_bytes()[:200_000]
    assert head.index(b"moov") < head.index(b"mdat")
    row = catalog.list_recordings(db)[0]
    assert row.status == "ready" and row.size == final.stat().st_size and abs(row.duration - 2) < 0.2


def test_room_audio_is_muxed_with_offset(db: Database, tmp_path: Path) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2, audio=None)
    sound = _make(tmp_path / "R" / ".sound" / "2026-11-24_09-29-59.mkv", 4, video=False, audio="aac")
    piece = SoundPiece(sound, SLOT.timestamp() - 1.0, SLOT.timestamp() + 3.0)
    event = finalize(_job(db, raw, sounds=(piece,)), locate_tools(), db, None)
    assert event.status == "ready"
    assert "room audio muxed (offset -1.000 s)" in event.notes
    info = ffprobe_json(Path(event.path))
    assert {s["codec_type"] for s in info["streams"]} == {"video", "audio"}
    assert float(info["format"]["duration"]) < 2.3  # capped at the video's length


def _marker_sound(path: Path, source_start: float, seconds: float) -> Path:
    """A sound piece as the room's recorder writes it from a G.711 source (A-law in Matroska; a fixture
    encoded to AAC here would start with the encoder's 64 ms of priming), cut from a beep at every whole
    second of the marker source, from `source_start` on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", AUDIO, "-af",
                    f"atrim=start={source_start}:duration={seconds},asetpts=PTS-STARTPTS", "-ar", "8000",
                    "-c:a", "pcm_alaw", "-f", "matroska", str(path)], check=True, timeout=60)
    return path


@pytest.mark.parametrize("cut", [0.04, 0.5, 1.5, 1.96])
def test_room_audio_covers_a_piece_that_runs_past_a_sound_boundary(db: Database, tmp_path: Path, cut: float) -> None:
    # Measured with the recorders on loopback: the camera cuts at the keyframe after the wall-clock boundary,
    # the sound recorder at the boundary, so a 4 s camera piece spans two sound pieces. Wall clock: the
    # video starts at SLOT with a flash every whole second; the beeps of the sound are at whole seconds too, and
    # the sound boundary is `cut` s into the video (a keyframe 0.04-1.96 s after it on a 2 s GOP).
    clip = make_marker_clip(tmp_path / "clip.mkv", 4, gop=100, audio=False)
    raw = tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv"
    raw.parent.mkdir(parents=True)
    clip.rename(raw)
    t0 = SLOT.timestamp()
    first = _marker_sound(tmp_path / "R" / ".sound" / "2026-11-24_09-29-57.mkv", 4 + cut - 3, 3)
    second = _marker_sound(tmp_path / "R" / ".sound" / "2026-11-24_09-30-01.mkv", 4 + cut, 4)
    pieces = (SoundPiece(first, t0 + cut - 3, t0 + cut), SoundPiece(second, t0 + cut, t0 + cut + 4))
    job = FinalizeJob(register_segment(db, None, "R", "cam", raw, SLOT), None, "R", "cam", raw, t0, t0 + 4,
                      sounds=pieces)
    event = finalize(job, locate_tools(), db, None)
    assert event.status == "ready", event.notes
    assert f"room audio muxed (2 pieces, offsets {cut - 3:+.3f} s, {cut:+.3f} s)" in event.notes
    info = ffprobe_json(Path(event.path))
    durations = {s["codec_type"]: float(s["duration"]) for s in info["streams"]}
    assert durations["audio"] >= 0.97 * durations["video"], durations
    offsets = av_offsets(Path(event.path))
    # Every second but the first (a beep at 0 has no silence before it to be found by): both pieces in sync.
    assert len(offsets) >= 3 and all(abs(o) < 0.05 for o in offsets), offsets


def test_broken_sound_source_never_stops_video(db: Database, tmp_path: Path) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 1, audio=None)
    bogus = tmp_path / "R" / ".sound" / "2026-11-24_09-30-00.mkv"
    bogus.parent.mkdir(parents=True)
    bogus.write_bytes(b"not media at all")
    event = finalize(_job(db, raw, sounds=(SoundPiece(bogus, SLOT.timestamp(), None),)), locate_tools(), db, None)
    assert event.status == "ready"
    assert "room audio missing" in event.notes
    assert catalog.list_recordings(db)[0].notes == event.notes


def test_empty_and_unreadable_segments_fail_with_reason(db: Database, tmp_path: Path) -> None:
    empty = tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv"
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    e1 = finalize(_job(db, empty), locate_tools(), db, None)
    assert e1.status == "failed" and "empty segment" in e1.notes
    junk = tmp_path / "R" / "cam" / "2026-11-24_09-30-05.mkv"
    junk.write_bytes(b"\x1a\x45\xdf\xa3garbage" * 100)
    e2 = finalize(_job(db, junk), locate_tools(), db, None)
    assert e2.status == "failed" and "unreadable" in e2.notes
    assert junk.exists()  # never silently dropped
    rows = {r.id: r for r in catalog.list_recordings(db)}
    assert rows[e2.recording_id].last_error == e2.notes


def test_a_header_only_segment_is_removed_and_anything_with_media_kept(db: Database, tmp_path: Path) -> None:
    # A recorder stopped the moment FFmpeg opened its file: a header, no packet, which ffprobe calls unreadable.
    # It is not a recording: it goes (it used to be kept as "unreadable segment" forever).
    header = header_only_mkv(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv")
    event = finalize(_job(db, header), locate_tools(), db, None)
    assert event.status == "failed" and "empty segment" in event.notes and "removed" in event.notes
    assert not header.exists()
    # A single frame is media: made into an MP4 as usual.
    one = one_frame_mkv(tmp_path / "R" / "cam" / "2026-11-24_09-30-05.mkv")
    assert finalize(_job(db, one), locate_tools(), db, None).status == "ready"
    # A file cut short inside its first cluster that cannot be read is kept with its reason.
    cut_src = one_frame_mkv(tmp_path / "src.mkv").read_bytes()
    cut = tmp_path / "R" / "cam" / "2026-11-24_09-30-10.mkv"
    cut.write_bytes(cut_src[:cut_src.index(CLUSTER) + 6])
    kept = finalize(_job(db, cut), locate_tools(), db, None)
    assert kept.status == "failed" and "empty segment" not in kept.notes and cut.exists()


def test_no_room_for_the_mp4_keeps_the_segment_finalizing_until_there_is(db: Database, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 4 * 1024**2) as disk:
        raw = _make(disk / "R" / "cam" / "2026-11-24_09-30-00.mkv", 4)
        filler = disk / "filler"
        filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - raw.stat().st_size // 2))
        job = _job(db, raw)
        lifecycle.begin_finalizing(db, job.recording_id)
        with pytest.raises(NoRoom, match="no room on the disk for the MP4"):
            finalize(job, locate_tools(), db, None)
        assert raw.exists() and not job.final.exists() and not list(job.final.parent.glob(".*partial"))
        assert catalog.list_recordings(db)[0].status == "finalizing"  # not failed: it is finalized later
        filler.unlink()
        assert finalize(job, locate_tools(), db, None).status == "ready"
        assert job.final.exists() and not raw.exists()


def _streams(video: str | None = "h264", audio: str | None = "pcm_alaw") -> MediaInfo:
    """What a recorder learns from its FFmpeg's header (probe.parse_ffmpeg_output_streams)."""
    streams = []
    if video:
        streams.append(StreamInfo(0, "video", video))
    if audio:
        streams.append(StreamInfo(len(streams), "audio", audio))
    return MediaInfo("segment", None, None, tuple(streams))


class _Runs:
    """Counts the finalizer's FFmpeg runs and forbids probing the raw file (monkeypatched in)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, probe_allowed: bool) -> None:
        self.argv: list[list[str]] = []
        self.probed: list[Path] = []
        real_run, real_probe = finalizer._run, finalizer.probe

        def run(argv: list[str]) -> tuple[int, str]:
            self.argv.append(argv)
            return real_run(argv)

        def probe(path: Path, **kw: object) -> MediaInfo:
            assert probe_allowed, f"probed {path}"
            self.probed.append(Path(path))
            return real_probe(path, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(finalizer, "_run", run)
        monkeypatch.setattr(finalizer, "probe", probe)


def test_known_streams_take_one_ffmpeg_run_and_no_probe(db: Database, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    runs = _Runs(monkeypatch, probe_allowed=False)
    event = finalize(_job(db, raw, streams=_streams(), sound_note="room audio missing: why"), locate_tools(), db,
                     None)
    assert event.status == "ready", event.notes
    assert len(runs.argv) == 1 and not runs.probed
    final = Path(event.path)
    assert codecs(final) == {"video": "h264", "audio": "aac"}  # G.711 still becomes AAC
    assert abs(event.duration - float(ffprobe_json(final)["format"]["duration"])) < 0.002
    assert event.notes == "room audio missing: why" and not raw.exists()
    row = catalog.list_recordings(db)[0]
    assert row.status == "ready" and row.size == final.stat().st_size and abs(row.duration - 2) < 0.2
    assert not list(final.parent.glob(".*partial"))


def test_known_streams_that_do_not_fit_fall_back_to_probing(db: Database, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The header said AAC (copied), the file holds G.711, which MP4 refuses: the quick remux fails.
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    runs = _Runs(monkeypatch, probe_allowed=True)
    event = finalize(_job(db, raw, streams=_streams(audio="aac")), locate_tools(), db, None)
    assert event.status == "ready", event.notes
    assert runs.probed == [raw] and len(runs.argv) == 2
    assert codecs(Path(event.path)) == {"video": "h264", "audio": "aac"}


def test_known_streams_keep_the_failure_reasons(db: Database, tmp_path: Path) -> None:
    junk = tmp_path / "R" / "cam" / "2026-11-24_09-30-05.mkv"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"\x1a\x45\xdf\xa3garbage" * 100)
    e1 = finalize(_job(db, junk, streams=_streams()), locate_tools(), db, None)
    assert e1.status == "failed" and "unreadable" in e1.notes and junk.exists()
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob(".*partial"))


def test_a_camera_that_sends_only_sound_gets_audio_recordings(db: Database, tmp_path: Path) -> None:
    # Its stream has no video at all (the recorder maps video only when the camera announces it).
    audio_only = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-10.mkv", 1, video=False)
    e2 = finalize(_job(db, audio_only, streams=_streams(video=None)), locate_tools(), db, None)
    assert e2.status == "ready", e2.notes
    assert codecs(Path(e2.path)) == {"audio": "aac"} and not audio_only.exists()


def test_a_file_without_the_announced_video_is_not_a_recording(db: Database, tmp_path: Path) -> None:
    # The camera announced video (the segment has a video track), but no frame of it was written before
    # the file closed: only sound, as a B-frame camera's files were before issue 22. Not a recording.
    raw = tmp_path / "R" / "cam" / "2026-11-24_09-30-20.mkv"
    raw.parent.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:d=1",
                    "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-map", "0:a", "-map", "1:v",
                    "-c:a", "pcm_alaw", "-c:v", "libx264", "-frames:v", "0", "-f", "matroska", str(raw)],
                   check=True, timeout=60)
    for streams in (_streams(), None):  # from the recorder's header, or unknown (probed)
        event = finalize(_job(db, raw, streams=streams), locate_tools(), db, None)
        assert event.status == "failed", event.notes
        assert "not a recording: the file holds no frame of the camera's video" in event.notes and raw.exists()
    assert not list(tmp_path.rglob("*.mp4")) and not list(tmp_path.rglob(".*partial"))
    rows = catalog.list_recordings(db)
    assert rows and all(r.status == "failed" for r in rows)


def test_final_mp4_checked_by_its_boxes_on_the_full_path(db: Database, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    runs = _Runs(monkeypatch, probe_allowed=True)
    event = finalize(_job(db, raw), locate_tools(), db, None)  # streams unknown: probe the raw file only
    assert event.status == "ready" and runs.probed == [raw] and len(runs.argv) == 1
