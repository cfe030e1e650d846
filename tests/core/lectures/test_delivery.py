"""A lecture from its timetable to one verified file per camera: assembled with the export machinery from
recordings made by real FFmpeg (sync markers: a white frame and a beep every whole second), uploaded to the
Drive-protocol test server with the real client, or copied to the local archive. A camera reconnect in the
middle leaves a gap: delivered as `incomplete`, the gap with its reason in the notes and the Drive file's
description; without it, `delivered` at 100 %."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import CameraEvent, LectureState, Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import delivery, lecture_store, refresh, timetable_store
from nvr_console.core.lectures.delivery import Deliverer
from nvr_console.core.monitoring import alert_store
from nvr_console.core.upload import drive_usage
from tests.core.lectures.ics_samples import calendar, event
from tests.support.av_markers import AUDIO, VIDEO, av_offsets, flash_times, make_marker_clip
from tests.support.drive_client_factory import drive_client
from tests.support.drive_server import DriveServer, Fault

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 5, 10, 15, 0, tzinfo=BERLIN).astimezone(UTC)  # the lecture starts on the hour's quarter
SEG = 6.0  # segment length in these tests
GOP = 1.0  # the clips' keyframe interval
LECTURE = 18.0  # three segments
TITLE = 'Algebra: Groups & Rings / Part 2?'
SAFE = "Algebra- Groups & Rings - Part 2"


def _probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    folder = tmp_path_factory.mktemp("lecture-clips")
    return {s: make_marker_clip(folder / f"{s:g}s.mp4", s, gop=int(GOP * 25)) for s in (3.0, 4.0, 6.0)}


@dataclass
class Rig:
    settings: Settings
    db: Database
    drive: DriveServer | None
    add: Callable[..., None]


def _rig(settings: Settings, clips: dict[float, Path], drive: DriveServer | None, tmp_path: Path) -> Rig:
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "A-101", sound_source="rtsp://10.0.0.9/mic")
    cams = {c: catalog.add_camera(db, "A-101", c, f"rtsp://10.0.0.5/{c}") for c in ("front", "side")}

    def add(camera: str, at: float, seconds: float) -> None:
        start = T0 + timedelta(seconds=at)
        path = settings.recording.dir / "A-101" / camera / f"{start.astimezone(BERLIN):%Y-%m-%d/%H-%M-%S}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = clips[seconds].read_bytes()
        path.write_bytes(data)
        slot = T0 + timedelta(seconds=SEG * (at // SEG))
        with db.session() as s:
            s.add(Recording(camera_id=cams[camera].id, room_name="A-101", camera_name=camera, slot_start=slot,
                            start_time=start, end_time=start + timedelta(seconds=seconds), local_path=str(path),
                            local_path_key=str(path), size=len(data), duration=seconds,
                            md5=hashlib.md5(data).hexdigest(), status=RecordingStatus.READY.value))

    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(event("algebra@uni", "20260305T101500", "20260305T101518", TITLE,
                                   "ORGANIZER;CN=Dr. Noether:mailto:noether@uni.example")))
    timetable_store.configure(db, "A-101", source=str(ics))
    [r] = refresh.refresh_all(db, settings, "node-1", T0 - timedelta(hours=1))
    assert r.sync is not None and r.sync.added == 1
    return Rig(settings, db, drive, add)


@pytest.fixture
def drive_rig(settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path) -> Iterator[Rig]:
    with DriveServer() as drive:
        settings = settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                                       "lectures.post_roll": "5s", "drive.api_root": drive.root_url,
                                       "drive.credentials": "anonymous"})
        rig = _rig(settings, clips, drive, tmp_path)
        yield rig
        rig.db.dispose()


def _deliver(rig: Rig, after_end_s: float = 6.0) -> list:
    d = Deliverer(rig.settings, rig.db, "node-1", clock=lambda: T0 + timedelta(seconds=LECTURE + after_end_s))
    return d.run_once()


def _whole_segments(rig: Rig) -> None:
    for cam in ("front", "side"):
        for at in (-6, 0, 6, 12, 18):
            rig.add(cam, at, 6.0)


def test_not_before_post_roll_then_one_verified_file_per_camera_on_drive(drive_rig: Rig, tmp_path: Path) -> None:
    rig = drive_rig
    assert rig.drive is not None
    _whole_segments(rig)
    assert _deliver(rig, after_end_s=4.0) == []  # post-roll (5 s) not over yet
    [lec] = lecture_store.between(rig.db, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert lec.state == LectureState.RECORDING.value
    [done] = _deliver(rig)
    assert done.lecture.state == LectureState.DELIVERED.value and done.lecture.coverage == pytest.approx(1.0)
    assert done.lecture.notes == ""
    files = {f["name"]: f for f in rig.drive.files() if f["mimeType"] != "application/vnd.google-apps.folder"}
    folders = {f["id"]: f for f in rig.drive.files() if f["mimeType"] == "application/vnd.google-apps.folder"}
    names = sorted(files)
    assert names == [f"2026-03-05_10-15_A-101_{cam}_{SAFE}.mp4" for cam in ("front", "side")]
    for name, meta in files.items():
        # In <root>/Lectures/<title>/, verified: the bytes on the server are what the row says.
        parent = folders[meta["parents"][0]]
        assert parent["name"] == SAFE and folders[parent["parents"][0]]["name"] == "Lectures"
        assert "Coverage: 100.0 %" in meta["description"] and "Dr. Noether" in meta["description"]
        data = rig.drive.file_bytes(meta["id"])
        out = tmp_path / name
        out.write_bytes(data)
        assert hashlib.md5(data).hexdigest() == meta["md5Checksum"]
        # The lecture's 18 s (within one keyframe interval), starting with the marker frame at the start, the
        # room's sound in sync with the picture.
        probe = _probe(out)
        length = float(probe["format"]["duration"])
        assert LECTURE <= length <= LECTURE + GOP + 0.2, length
        # The first frame is the marker frame of the lecture's first second (the video starts after the sound's
        # priming samples, as in every export).
        video_start = float(probe["streams"][0]["start_time"])
        assert 0 <= video_start < 0.064 and flash_times(out)[0] == pytest.approx(video_start, abs=0.001)
        offsets = av_offsets(out)
        assert len(offsets) >= 17 and max(abs(o) for o in offsets) < 0.045, offsets
    rows = lecture_store.files_of(rig.db, done.lecture.id)
    assert [(f.camera, f.state, f.coverage, f.destination) for f in rows] == [
        ("front", "done", 1.0, "drive"), ("side", "done", 1.0, "drive")]
    assert {f.md5 for f in rows} == {m["md5Checksum"] for m in files.values()}
    assert done.lecture.web_link and "/drive/folders/" in done.lecture.web_link
    # What went to Drive counts against the room's account's daily budget, as recordings do.
    assert drive_usage.used_today(rig.db) == {"default": sum(int(m["size"]) for m in files.values())}
    assert _deliver(rig) == []  # delivered once: nothing more to do
    assert len([f for f in rig.drive.files() if f["name"].endswith(".mp4")]) == 2
    # Copies a node left behind when it died after its upload but before recording it (two more of front's, so
    # the listing spans pages): delivering again leaves exactly one file per camera.
    front = next(m for m in files.values() if "_front_" in m["name"])
    service = drive_client(rig.drive.root_url)
    for _ in range(2):
        service.files().create(body={"name": front["name"], "parents": front["parents"]}, fields="id").execute()
    lecture_store.redo(rig.db, done.lecture.id)
    [again] = _deliver(rig)
    assert again.lecture.state == LectureState.DELIVERED.value
    assert sorted(f["name"] for f in rig.drive.files() if f["name"].endswith(".mp4")) == names


def test_camera_reconnect_mid_lecture_is_incomplete_with_the_gap_and_its_reason(drive_rig: Rig,
                                                                                 tmp_path: Path) -> None:
    rig = drive_rig
    assert rig.drive is not None
    for at in (-6, 0, 6, 12, 18):
        rig.add("side", at, 6.0)
    # front: whole first segment, then the camera drops 3 s into the second, is back 2 s later (reconnect).
    rig.add("front", -6, 6.0)
    rig.add("front", 0, 6.0)
    rig.add("front", 6, 3.0)
    rig.add("front", 11, 4.0)  # a piece: starts after the reconnect, up to the next boundary at 15? no: 11..15
    rig.add("front", 15, 3.0)
    rig.add("front", 18, 6.0)
    cam = catalog.get_camera(rig.db, "A-101", "front")
    with rig.db.session() as s:
        s.add(CameraEvent(at=T0 + timedelta(seconds=9), camera_id=cam.id, room_name="A-101", camera_name="front",
                          kind="state", state="reconnecting", reason="Connection refused", node="node-1"))
        s.add(CameraEvent(at=T0 + timedelta(seconds=11), camera_id=cam.id, room_name="A-101", camera_name="front",
                          kind="state", state="recording", reason="", node="node-1"))
    [done] = _deliver(rig)
    lec = done.lecture
    assert lec.state == LectureState.INCOMPLETE.value
    assert lec.coverage == pytest.approx(1 - 2 / LECTURE, abs=0.01)
    assert lec.notes.startswith("front: 10:15:09-10:15:11 (2s):") and "Connection refused" in lec.notes
    front = next(f for f in rig.drive.files() if "_front_" in f["name"])
    assert "Gaps (not in this file):" in front["description"] and "Connection refused" in front["description"]
    assert "Coverage: 88.9 %" in front["description"]
    side = next(f for f in rig.drive.files() if "_side_" in f["name"])
    assert "Gaps" not in side["description"]
    out = tmp_path / "front.mp4"
    out.write_bytes(rig.drive.file_bytes(front["id"]))
    length = float(_probe(out)["format"]["duration"])
    assert LECTURE - 2 <= length <= LECTURE - 2 + GOP + 0.2, length
    offsets = av_offsets(out)
    assert max(abs(o) for o in offsets) < 0.045, offsets
    alerts = alert_store.firing(rig.db)
    assert [a.rule for a in alerts] == ["lecture_incomplete"] and "88.9 %" in alerts[0].summary
    # `lectures redo` builds it again (a late piece arrived: here, none): same result, one file per camera.
    lecture_store.redo(rig.db, lec.id)
    [again] = _deliver(rig)
    assert again.lecture.state == LectureState.INCOMPLETE.value
    assert len([f for f in rig.drive.files() if f["name"].endswith(".mp4")]) == 2


def test_local_archive_destination_and_a_camera_that_recorded_nothing(
        settings_factory: Callable[..., Settings], clips: dict[float, Path], tmp_path: Path) -> None:
    settings = settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                                   "lectures.post_roll": "5s", "upload.destination": "local",
                                   "lectures.folder": "Courses/{organizer}/{title}"})
    rig = _rig(settings, clips, None, tmp_path)
    try:
        for at in (-6, 0, 6, 12, 18):
            rig.add("front", at, 6.0)
        [done] = _deliver(rig)
        assert done.lecture.state == LectureState.INCOMPLETE.value and done.lecture.coverage == 0.0
        assert "side:" in done.lecture.notes
        folder = settings.upload.local_dir / "A-101" / "Courses" / "Dr. Noether" / SAFE
        [f] = sorted(folder.iterdir())
        assert f.name == f"2026-03-05_10-15_A-101_front_{SAFE}.mp4"
        rows = {r.camera: r for r in lecture_store.files_of(rig.db, done.lecture.id)}
        assert rows["front"].md5 == hashlib.md5(f.read_bytes()).hexdigest() and rows["front"].coverage == 1.0
        assert rows["side"].state == "empty" and rows["side"].coverage == 0.0
        # Nothing left behind where files are built.
        assert not any((settings.recording.dir / ".lectures").glob("*/*"))
    finally:
        rig.db.dispose()


def test_the_calendars_own_drive_folder(drive_rig: Rig) -> None:
    rig = drive_rig
    assert rig.drive is not None
    service = drive_client(rig.drive.root_url)
    course = service.files().create(body={"name": "Algebra course", "mimeType": "application/vnd.google-apps.folder"},
                                    fields="id").execute()
    timetable_store.configure(rig.db, "A-101", lecture_folder=f"https://drive.google.com/drive/folders/{course['id']}")
    _whole_segments(rig)
    [done] = _deliver(rig)
    assert done.lecture.state == LectureState.DELIVERED.value
    folders = {f["id"]: f for f in rig.drive.files() if f["mimeType"] == "application/vnd.google-apps.folder"}
    for meta in rig.drive.files():
        if meta["name"].endswith(".mp4"):
            title_folder = folders[meta["parents"][0]]
            assert title_folder["name"] == SAFE
            assert folders[title_folder["parents"][0]]["name"] == "Lectures"
            assert folders[title_folder["parents"][0]]["parents"] == [course["id"]]


def test_a_drive_folder_per_event_category(drive_rig: Rig, settings_factory: Callable[..., Settings],
                                           tmp_path: Path) -> None:
    import os

    rig = drive_rig
    assert rig.drive is not None
    service = drive_client(rig.drive.root_url)
    folder = "application/vnd.google-apps.folder"
    maths, seminars, course = (service.files().create(body={"name": n, "mimeType": folder}, fields="id").execute()
                               for n in ("Maths courses", "Seminars", "Algebra course"))
    # The calendar has a folder of its own too: the category's is the more specific, and wins.
    timetable_store.configure(rig.db, "A-101", lecture_folder=course["id"])
    # The event gains categories; the next refresh brings them to its lecture.
    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(event("algebra@uni", "20260305T101500", "20260305T101518", TITLE,
                                   "ORGANIZER;CN=Dr. Noether:mailto:noether@uni.example",
                                   "CATEGORIES:Seminar,MATHEMATICS")))
    os.utime(ics, ns=(ics.stat().st_mtime_ns + 10**9,) * 2)
    [r] = refresh.refresh_all(rig.db, rig.settings, "node-1", T0 - timedelta(hours=1))
    assert r.sync is not None and r.sync.changed == 1
    [lecture] = lecture_store.between(rig.db, T0, T0 + timedelta(hours=1))
    assert lecture.categories == ("Seminar", "MATHEMATICS") and lecture.public()["categories"] == list(
        lecture.categories)
    # The first configured pair the event carries decides (case does not matter), not the event's order.
    settings = settings_factory(**{
        "recording.timezone": "Europe/Berlin", "recording.segment_length": "6", "lectures.post_roll": "5s",
        "drive.api_root": rig.drive.root_url, "drive.credentials": "anonymous",
        "lectures.category_folders": f"Physics=1PhysicsFolderIdXyz, Mathematics=https://drive.google.com/drive/folders/"
                                     f"{maths['id']}?usp=sharing, seminar={seminars['id']}"})
    assert settings.lectures.category_folders == ("physics=1PhysicsFolderIdXyz", f"mathematics={maths['id']}",
                                                  f"seminar={seminars['id']}")
    _whole_segments(rig)
    d = Deliverer(settings, rig.db, "node-1", clock=lambda: T0 + timedelta(seconds=LECTURE + 6.0))
    [done] = d.run_once()
    assert done.lecture.state == LectureState.DELIVERED.value
    folders = {f["id"]: f for f in rig.drive.files() if f["mimeType"] == folder}
    uploaded = [m for m in rig.drive.files() if m["name"].endswith(".mp4")]
    assert len(uploaded) == 2
    for meta in uploaded:
        title_folder = folders[meta["parents"][0]]
        assert title_folder["name"] == SAFE
        assert folders[title_folder["parents"][0]]["name"] == "Lectures"
        assert folders[title_folder["parents"][0]]["parents"] == [maths["id"]]


def test_a_category_folder_that_is_not_category_equals_folder_is_refused(
        settings_factory: Callable[..., Settings]) -> None:
    from nvr_console.core.config import ConfigError

    for bad, why in (("Mathematics", "is not CATEGORY=FOLDER"), ("=1AbCdEfGhIjKlMnOp", "is not CATEGORY=FOLDER"),
                     ("Mathematics=https://example.org/x", "neither a folder id nor a folder link")):
        with pytest.raises(ConfigError, match=r"lectures\.category_folders") as err:
            settings_factory(**{"lectures.category_folders": bad})
        assert why in str(err.value)


def test_a_restarted_node_removes_what_it_left_half_built(settings: Settings, db: Database) -> None:
    work = settings.recording.dir / ".lectures"
    (work / "7-2-3" / ".nvr-export-abc").mkdir(parents=True)
    (work / "7-2-3" / "2026-03-05_10-15_A-101_front_x.mp4").write_bytes(b"half")
    (work / "delivered" / "A-101").mkdir(parents=True)
    d = Deliverer(settings, db, "node-1")
    assert d.clean_work_dir() == 1
    assert sorted(p.name for p in work.iterdir()) == ["delivered"]


def _encoded_clip(path: Path, seconds: float, video: list[str]) -> Path:
    """A marker clip (tests/support/av_markers) encoded as cameras send it: B-frames, or H.265."""
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", VIDEO, "-f",
                    "lavfi", "-i", AUDIO, "-t", f"{seconds}", *video, "-g", str(int(GOP * 25)), "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", str(path)],
                   check=True, capture_output=True, timeout=300)
    return path


CODECS = {
    "h264-bframes": ["-c:v", "libx264", "-preset", "veryfast", "-bf", "2"],
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"],
}


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_pieces_with_b_frames_or_h265_are_delivered_whole_and_in_sync(
        codec: str, settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    clip = _encoded_clip(tmp_path / f"{codec}.mp4", 6.0, CODECS[codec])
    settings = settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                                   "lectures.post_roll": "5s", "upload.destination": "local"})
    rig = _rig(settings, {6.0: clip}, None, tmp_path)
    try:
        _whole_segments(rig)
        [done] = _deliver(rig)
        assert done.lecture.state == LectureState.DELIVERED.value and done.lecture.coverage == pytest.approx(1.0)
        folder = settings.upload.local_dir / "A-101" / "Lectures" / SAFE
        for out in sorted(folder.iterdir()):
            probe = _probe(out)
            video = next(s for s in probe["streams"] if s["codec_type"] == "video")
            assert video["codec_name"] == ("hevc" if codec == "hevc" else "h264")
            if codec == "h264-bframes":
                assert int(video.get("has_b_frames", 0)) > 0  # copied as recorded, not re-encoded
            length = float(probe["format"]["duration"])
            assert LECTURE <= length <= LECTURE + GOP + 0.2, (out.name, length)
            offsets = av_offsets(out)
            assert len(offsets) >= 17 and max(abs(o) for o in offsets) < 0.045, offsets
    finally:
        rig.db.dispose()


def test_every_start_second_around_a_segment_boundary(settings_factory: Callable[..., Settings],
                                                      clips: dict[float, Path], tmp_path: Path) -> None:
    """Lectures starting at every whole second from 3 s before a segment boundary to 3 s after it: each file
    starts with the frame of its start (keyframes every second) and holds the asked 9 s."""
    from nvr_console.core.lectures.timetable_parse import Occurrence

    settings = settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                                   "lectures.post_roll": "0s", "upload.destination": "local"})
    rig = _rig(settings, clips, None, tmp_path)
    try:
        for at in (-6, 0, 6, 12, 18):
            rig.add("front", at, 6.0)
        catalog.remove_camera(rig.db, "A-101", "side")
        room = catalog.get_room(rig.db, "A-101")
        offsets = range(3, 10)  # the boundary at T0 + 6 s: from 3 s before it to 3 s after
        occs = [Occurrence(f"o{o}@uni", "", f"Offset {o}", "", "", T0 + timedelta(seconds=o),
                           T0 + timedelta(seconds=o + 9)) for o in offsets]
        lecture_store.sync(rig.db, room.id, "A-101", occs, T0 - timedelta(hours=2), T0 + timedelta(hours=1))
        d = Deliverer(settings, rig.db, "node-1", clock=lambda: T0 + timedelta(seconds=30))
        done = {x.lecture.title: x.lecture for x in d.run_once()}
        for o in offsets:
            lec = done[f"Offset {o}"]
            assert lec.state == LectureState.DELIVERED.value and lec.coverage == pytest.approx(1.0), lec
            [f] = lecture_store.files_of(rig.db, lec.id)
            out = settings.upload.local_dir / "A-101" / "Lectures" / f"Offset {o}" / f.name
            probe = _probe(out)
            length = float(probe["format"]["duration"])
            assert 9.0 <= length <= 9.0 + 0.2, (o, length)  # starts on a keyframe: nothing before the start
            video_start = float(probe["streams"][0]["start_time"])
            assert flash_times(out)[0] == pytest.approx(video_start, abs=0.001), o
    finally:
        rig.db.dispose()


@pytest.mark.parametrize("damaged", [False, True], ids=["same-bytes", "drive-prefix-damaged"])
def test_a_node_taking_a_file_over_resumes_the_upload_session_it_left(
        damaged: bool, settings_factory: Callable[..., Settings], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Node 1 stops (as if it died: the same rows as SIGKILL) after Drive confirmed the first 256 KiB of the front
    camera's file; node 2 takes the file over after lectures.claim_ttl, builds it again (same bytes) and resumes
    node 1's session: no new session for that file, nothing sent twice, one verified copy."""
    cbr = ["-c:v", "libx264", "-preset", "ultrafast", "-b:v", "2M", "-minrate", "2M", "-maxrate", "2M",
           "-bufsize", "1M", "-x264-params", "nal-hrd=cbr"]  # ~4.5 MB lecture files: many 256 KiB chunks
    clip = _encoded_clip(tmp_path / "cbr.mp4", 6.0, cbr)
    with DriveServer() as drive:
        settings = settings_factory(**{"recording.timezone": "Europe/Berlin", "recording.segment_length": "6",
                                       "lectures.post_roll": "5s", "lectures.claim_ttl": "5s",
                                       "upload.chunk_size": "256KiB", "drive.api_root": drive.root_url,
                                       "drive.credentials": "anonymous"})
        rig = _rig(settings, {6.0: clip}, drive, tmp_path)
        try:
            _whole_segments(rig)
            if damaged:  # the bytes Drive holds are not the rebuilt file's: the MD5 check must catch it
                drive.add_fault(Fault(kind="upload_chunk", action="corrupt"))
            drive.add_fault(Fault(kind="upload_chunk", action="delay", seconds=3.0, skip=0 if damaged else 1))
            node1 = Deliverer(settings, rig.db, "node-1", clock=lambda: T0 + timedelta(seconds=LECTURE + 6))
            # Stopped while its second chunk is on the wire: Drive confirmed the first; the claim stays (it expires).
            # (the second chunk's PUT has arrived: the first was confirmed and saved before it was sent)
            stopper = threading.Thread(target=lambda: (_wait_for(lambda: len(
                [r for r in drive.requests() if r.get("kind") == "upload_chunk"]) >= 2), node1.request_stop()))
            stopper.start()
            assert node1.run_once() == []
            stopper.join(30)
            [left] = [f for f in lecture_store.files_of(rig.db, 1) if f.upload_session_uri]
            assert left.camera == "front" and left.upload_offset == 256 * 1024 and left.state == "assembling"
            assert left.upload_size and left.upload_size > 8 * 256 * 1024
            assert drive.sessions_created() == 1 and not [f for f in drive.files() if f["name"].endswith(".mp4")]
            time.sleep(5.5)  # lectures.claim_ttl: node 1's claim expires
            before = len(drive.requests())
            node2 = Deliverer(settings, rig.db, "node-2", clock=lambda: T0 + timedelta(seconds=LECTURE + 20))
            if damaged:
                monkeypatch.setattr(delivery, "RETRY_S", 0.0)
                # Resumed, refused by the MD5 check (the copy deleted, the session dropped), then sent again
                # from the start in a new session: delivered, verified.
                [done] = node2.run_once()
                assert "did not match the local file" in caplog.text
                assert done.lecture.state == LectureState.DELIVERED.value and drive.sessions_created() == 3
                files = {f["name"]: f for f in drive.files() if f["name"].endswith(".mp4")}
                rows = {r.camera: r for r in lecture_store.files_of(rig.db, done.lecture.id)}
                assert len(files) == 2 and {r.md5 for r in rows.values()} == {f["md5Checksum"] for f in files.values()}
                return
            [done] = node2.run_once()
            assert done.lecture.state == LectureState.DELIVERED.value
            # One new session (the side camera's); the front file's first PUT starts where node 1 stopped.
            assert drive.sessions_created() == 2
            front_puts = [r for r in drive.requests()[before:] if r.get("kind") == "upload_chunk"
                          and r.get("session") == left.upload_session_uri.rsplit("upload_id=", 1)[-1]]
            assert front_puts, drive.requests()[before:]
            first = next(r["content_range"] for r in front_puts if not r["content_range"].startswith("bytes */"))
            # From what Drive holds: node 1's second chunk completed on the server after node 1 stopped (it had
            # saved 256 KiB); the resumed session asks Drive first, so not a byte is sent twice.
            assert first.startswith(f"bytes {2 * 256 * 1024}-"), first
            files = {f["name"]: f for f in drive.files() if f["name"].endswith(".mp4")}
            rows = {r.camera: r for r in lecture_store.files_of(rig.db, done.lecture.id)}
            assert len(files) == 2 and {r.md5 for r in rows.values()} == {f["md5Checksum"] for f in files.values()}
            assert rows["front"].size == left.upload_size and rows["front"].upload_session_uri is None
        finally:
            rig.db.dispose()


def _wait_for(cond: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()
