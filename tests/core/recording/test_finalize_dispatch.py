"""Finalizing dispatch on real segments made by FFmpeg: rows from the recorder's signals, room sound paired,
the worker pool's results back on the calling thread, recovery at start."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.recording.ffmpeg_locate import locate_tools
from nvr_console.core.recording.finalize_dispatch import FinalizingDispatch
from nvr_console.core.recording.recorder import RecorderSpec
from nvr_console.core.recording.segment_names import FinishedSegment
from nvr_console.core.status import CameraState, LogLine, RecordingEvent
from tests.core.engine_support import codecs, wait_until


def _make(path: Path, seconds: float, *, video: bool = True, audio: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    args = ["ffmpeg", "-v", "error", "-y"]
    if video:
        args += ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}"]
    if video:
        args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]
    if audio:
        args += ["-c:a", "aac"]
    subprocess.run([*args, "-f", "matroska", str(path)], check=True, timeout=60)
    return path


class _Rig:
    def __init__(self, db: Database, sound_state: tuple[CameraState, str] | None = None) -> None:
        self.events: list[RecordingEvent] = []
        self.logs: list[LogLine] = []
        self.sound_state = sound_state
        self.dispatch = FinalizingDispatch(db, lambda room: self.sound_state,
                                           lambda level, text, cid: self.logs.append(LogLine(0, level, cid, text)))
        self.dispatch.job_done.connect(self.events.append)
        self.dispatch.configure(locate_tools(), None, 30.0)
        self.dispatch.start()


def _spec(root: Path, camera_id: int | None, room: str = "R", name: str = "cam") -> RecorderSpec:
    return RecorderSpec(f"camera:{camera_id}", camera_id, 1, room, name, "rtsp://h/x", "tcp", root / room / name)


def test_a_segment_gets_its_row_when_opened_and_is_ready_when_closed(db: Database, tmp_path: Path,
                                                                      qapp: object) -> None:
    catalog.add_room(db, "R")
    cam = catalog.add_camera(db, "R", "cam", "rtsp://h/x")
    rig = _Rig(db)
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    rig.dispatch.segment_started((_spec(tmp_path, cam.id), raw))
    (row,) = catalog.list_recordings(db)
    assert row.status == RecordingStatus.RECORDING and row.camera_id == cam.id
    assert row.slot_start == datetime(2026, 11, 24, 9, 30).astimezone()  # the 30 s grid, local time

    start = datetime(2026, 11, 24, 9, 30).timestamp()
    rig.dispatch.segment_finished(FinishedSegment(f"camera:{cam.id}", cam.id, "R", "cam", raw, start, start + 2))
    assert rig.dispatch.busy and rig.dispatch.busy_with(cam.id) and not rig.dispatch.busy_with(cam.id + 1)
    assert wait_until(lambda: bool(rig.events), 30)
    (event,) = rig.events
    assert (event.recording_id, event.status) == (row.id, "ready") and not rig.dispatch.busy
    assert codecs(Path(event.path)) == {"video": "h264", "audio": "aac"}
    assert catalog.list_recordings(db)[0].status == RecordingStatus.READY
    rig.dispatch.shutdown()


def test_room_sound_is_paired_or_its_absence_explained(db: Database, tmp_path: Path, qapp: object) -> None:
    rig = _Rig(db, (CameraState.RECORDING, ""))
    rig.dispatch.rooms_with_sound = {"R"}
    start = datetime(2026, 11, 24, 9, 30).timestamp()
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2, audio=False)
    rig.dispatch.segment_finished(FinishedSegment("camera:1", None, "R", "cam", raw, start, start + 2))
    wait_until(lambda: False, 0.5)
    assert rig.events == [] and rig.dispatch.busy  # waits for the room's sound segment
    sound = _make(tmp_path / "R" / ".sound" / "2026-11-24_09-30-00.mkv", 3, video=False)
    rig.dispatch.segment_finished(FinishedSegment("sound:1", None, "R", "sound source", sound, start, start + 3))
    assert wait_until(lambda: bool(rig.events), 30)
    assert rig.events[0].status == "ready" and "room audio muxed" in rig.events[0].notes
    assert codecs(Path(rig.events[0].path)) == {"video": "h264", "audio": "aac"}

    # The sound source fails now: the next segment does not wait, and says why it has no room audio.
    rig.sound_state = (CameraState.FAILED, "wrong user or password")
    raw2 = _make(tmp_path / "R" / "cam" / "2026-11-24_09-31-00.mkv", 2, audio=False)
    rig.dispatch.segment_finished(FinishedSegment("camera:1", None, "R", "cam", raw2, start + 60, start + 62))
    assert wait_until(lambda: len(rig.events) == 2, 30)
    assert rig.events[1].notes == "room audio missing: the sound source is failed: wrong user or password"
    rig.dispatch.drop_old_sound(everything=True)
    assert not sound.exists()
    rig.dispatch.shutdown()


def test_start_up_recovery_finalizes_what_a_crash_left(db: Database, tmp_path: Path, qapp: object) -> None:
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_09-30-00.mkv", 2)
    rig = _Rig(db)
    rig.dispatch.recover(tmp_path)
    assert wait_until(lambda: bool(rig.events), 30)
    assert rig.events[0].status == "ready" and "recovered after an unclean stop" in rig.events[0].notes
    assert not raw.exists()
    rig.dispatch.shutdown()


def test_a_database_that_is_down_is_reported_and_the_segments_finalized_once_it_answers(
        tmp_path: Path, qapp: object) -> None:
    db = Database(f"sqlite:///{tmp_path / 'missing' / 'no.sqlite3'}")  # never migrated: no tables
    rig = _Rig(db)
    raws = [_make(tmp_path / "R" / "cam" / f"2026-11-24_09-30-0{i}.mkv", 1) for i in (0, 2)]
    for raw in raws:
        rig.dispatch.segment_finished(FinishedSegment("camera:3", 3, "R", "cam", raw, None, None))
    assert [(x.level, x.camera_id) for x in rig.logs] == [("error", 3)]  # said once
    assert "cannot finalize 2026-11-24_09-30-00.mkv now" in rig.logs[0].text
    assert "finalized as soon as the database answers" in rig.logs[0].text and not rig.dispatch.busy
    assert rig.dispatch.deferred == 2 and all(r.exists() for r in raws)
    rig.dispatch.tick()
    assert rig.dispatch.deferred == 2
    prepare_database(db)  # the database answers again: no restart needed
    rig.dispatch.tick()
    assert wait_until(lambda: len(rig.events) == 2, 30)
    assert [e.status for e in rig.events] == ["ready", "ready"]
    assert not any("recovered" in e.notes for e in rig.events)  # nothing was unclean about it
    assert rig.dispatch.deferred == 0 and rig.logs[-1].level == "info"
    rig.dispatch.shutdown()
    db.dispose()


def test_a_piece_that_began_mid_slot_shows_its_own_start_while_it_is_recorded(db: Database, tmp_path: Path,
                                                                             qapp: object) -> None:
    from nvr_console.ui.views.uploads_view import UploadsModel

    catalog.add_room(db, "R")
    cam = catalog.add_camera(db, "R", "cam", "rtsp://h/x")
    rig = _Rig(db)
    raw = _make(tmp_path / "R" / "cam" / "2026-11-24_17-52-34.mkv", 1)  # a reconnect at 17:52:34
    rig.dispatch.segment_started((_spec(tmp_path, cam.id), raw))
    (row,) = catalog.list_recordings(db)
    assert row.status == RecordingStatus.RECORDING
    assert row.slot_start == datetime(2026, 11, 24, 17, 52, 30).astimezone()  # its slot on the 30 s grid
    assert row.start_time == datetime(2026, 11, 24, 17, 52, 34).astimezone()  # the piece's own start
    # The Uploads view's Started column, fed from the same rows as the console's history.
    model = UploadsModel()
    model.load_history(catalog.list_recordings(db))
    assert model.index(0, 1).data() == "2026-11-24 17:52:34"
    rig.dispatch.shutdown()
