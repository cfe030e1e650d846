"""Exports that start or end on (or near) a segment boundary, tested exhaustively: every whole-second start
across two boundaries and every whole-second end across them, plain and `--exact`, for plain pieces, a
reconnect gap, a restart piece and a room with a sound source. A lecture starts on the hour, so a start on a
boundary is the common case.

One recording serves the whole module (the 2-core budget): 3 s segments, real FFmpeg from the loopback RTSP
server, one engine run with an outage of `front`'s server, then a second engine run (a restart piece).

Two boundaries of `front` are then given what a loaded machine gave them (issue 17), built rather than waited
for: the wall-clock estimates of consecutive pieces overlapping across the cut.
  late:   the previous piece's video ends before the boundary while its sound runs past it, and the
          next piece's first frame is 60 ms before the cut (FFmpeg got an in point after the out point)
  keyframe: the previous piece holds the next one's first keyframe and frames, past the boundary
"""

from __future__ import annotations

import math
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings, load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.export.run import ExportResult, export_range
from nvr_console.core.recording.mp4_boxes import read_mp4, video_keyframe_times
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, wait_until
from tests.support.rtsp_peer import RtspServer

SEGMENT = 3.0
GOP = 2.0  # the test server's keyframe interval
FRAME = 0.04  # 25 fps
SLACK = 0.06  # the wall-clock estimates of recorded pieces (and the joins' sound/video overlap)


@dataclass(frozen=True)
class Span:
    """A recorded piece on the wall clock: where its video is, and its keyframes' wall times."""

    start: datetime
    video_end: datetime
    keyframes: tuple[datetime, ...]
    last_frame: datetime  # when its last frame begins


@dataclass
class Recorded:
    settings: Settings
    db: Database
    outage: tuple[datetime, datetime]  # front's server stopped .. started again
    restart: datetime  # the second engine run started
    loaded: tuple[datetime, datetime] | None = None  # the boundaries built as a loaded machine recorded them


def _spans(db: Database, camera: str) -> list[Span]:
    out = []
    for r in sorted((r for r in catalog.list_recordings(db) if r.camera == camera and r.status == "ready"),
                    key=lambda r: r.start_time):
        info = read_mp4(r.local_path)
        assert info.video is not None and info.video.duration_s
        start = r.start_time
        keys = video_keyframe_times(r.local_path)
        # The video may begin after the sound (a run's first piece: 56 ms in a loaded run): it ends that much later.
        video_end = start + timedelta(seconds=(keys[0] if keys else 0.0) + info.video.duration_s)
        out.append(Span(start, video_end, tuple(start + timedelta(seconds=k) for k in keys),
                        start + timedelta(seconds=_last_frame(Path(r.local_path)))))
    return out


def _last_frame(path: Path) -> float:
    """When the last frame FFmpeg decodes from the file begins (FFmpeg's reading: for a piece cut short at an
    outage it differs from the sample tables' by a frame)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
                          "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    return max(float(line.split(",")[0]) for line in out.split() if line and "D" not in line.split(",")[1])


def _run_engine(settings: Settings, db: Database, until: object) -> None:
    host = EngineHost(settings, db, shell="headless")
    got = Collected()
    got.attach(host.engine)
    host.start()
    try:
        until(got)  # type: ignore[operator]
        assert host.stop(60)
    finally:
        host.stop(60)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, qapp: object,
             rtsp_server_session: RtspServer) -> Iterator[Recorded]:
    tmp = tmp_path_factory.mktemp("boundaries")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                         ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
            mp.setenv(var, str(tmp / "home" / sub))
        for var in list(os.environ):
            if var.startswith("NVR_"):
                mp.delenv(var)
        settings = load_settings(overrides={
            "database.url": f"sqlite:///{(tmp / 'nvr.sqlite3').as_posix()}", "recording.dir": str(tmp / "rec"),
            "upload.local_dir": str(tmp / "archive"), "log.dir": str(tmp / "log"),
            "drive.token": str(tmp / "drive-token.json"), "upload.destination": "none",
            "recording.segment_length": "3", "recording.timezone": "Europe/Moscow",
            "recording.socket_timeout": "3", "recording.stall_timeout": "4"})
        db = Database(settings.database.url)
        prepare_database(db)
        own = RtspServer().start()
        try:
            catalog.add_room(db, "A-101")
            front = catalog.add_camera(db, "A-101", "front", own.url("/cam_aac")).id
            catalog.add_room(db, "B-202", sound_source=rtsp_server_session.url("/audio"))
            hall = catalog.add_camera(db, "B-202", "hall", rtsp_server_session.url("/cam")).id
            outage: list[datetime] = []

            def first_run(got: Collected) -> None:
                def state(cid: int) -> CameraState | None:
                    s = got.latest(cid)
                    return s.state if s else None

                assert wait_until(lambda: state(front) is state(hall) is CameraState.RECORDING, 40)
                # Four whole pieces of front before the outage (two boundaries are built from them).
                assert wait_until(lambda: len([e for e in got.files("front") if e.status == "ready"]) >= 4, 40)
                outage.append(datetime.now(UTC))
                own.stop()
                assert wait_until(lambda: state(front) in (CameraState.RECONNECTING, CameraState.FAILED), 15)
                wait_until(lambda: False, 2)
                own.start()
                outage.append(datetime.now(UTC))
                assert wait_until(lambda: state(front) is CameraState.RECORDING, 40)
                wait_until(lambda: False, 2 * SEGMENT + 1)

            def second_run(got: Collected) -> None:
                assert wait_until(lambda: all(got.latest(c) and got.latest(c).state is CameraState.RECORDING
                                              for c in (front, hall)), 40)
                wait_until(lambda: False, 2 * SEGMENT + 1.5)

            _run_engine(settings, db, first_run)
            restart = datetime.now(UTC)
            _run_engine(settings, db, second_run)
        finally:
            own.close()
        rec = Recorded(settings, db, (outage[0], outage[1]), restart)
        _build_loaded_boundaries(rec, tmp)
        yield rec
        db.dispose()


def _rows(db: Database, camera: str) -> list[Recording]:
    with db.session() as s:
        rows = [r for r in s.query(Recording).filter(Recording.camera_name == camera, Recording.status == "ready")]
        s.expunge_all()
    return sorted(rows, key=lambda r: r.start_time)


def _set(db: Database, row_id: int, **values: object) -> None:
    with db.session() as s:
        row = s.get(Recording, row_id)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _build_loaded_boundaries(rec: Recorded, tmp: Path) -> None:
    """Two boundaries of `front` as a loaded machine recorded them (see the module's docstring); each is put on
    a whole second, as the demo cameras' cuts are."""
    rows = [r for r in _rows(rec.db, "front") if _aware(r.end_time) <= rec.outage[0]]
    assert len(rows) >= 4, [(r.start_time, r.end_time) for r in rows]
    # late: piece 0's video ends before the boundary, its sound past it; piece 1 starts 60 ms early.
    p, n = rows[0], rows[1]
    b1 = _second(_aware(n.start_time))
    info = read_mp4(p.local_path)
    assert info.video is not None and info.video.duration_s and info.duration_s
    keys_p = video_keyframe_times(p.local_path)
    video_end_s = (keys_p[0] if keys_p else 0.0) + info.video.duration_s  # the video may begin after the sound
    overrun = info.duration_s - video_end_s
    assert overrun > 0.005, "the recorded sound runs on past the video"
    # (in issue 17: video 27 ms short of the boundary, sound 48 ms past it; here half of this file's overrun, at
    # most 25 ms, so the video ends less than 30 ms before the boundary whatever the sound did)
    p_start = b1 - timedelta(seconds=video_end_s + min(overrun / 2, 0.025))
    _set(rec.db, p.id, start_time=p_start, end_time=p_start + timedelta(seconds=info.duration_s))
    n_start = b1 - timedelta(seconds=0.06)
    _set(rec.db, n.id, start_time=n_start, end_time=n_start + timedelta(seconds=n.duration))
    # keyframe: piece 2 gets piece 3's first keyframe and the frames after it, its last keyframe 20 ms past the
    # boundary; piece 3 starts 60 ms before the cut.
    n, nn = rows[2], rows[3]
    b2 = _second(_aware(nn.start_time))
    joined = tmp / "joined.mp4"
    listing = tmp / "joined.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{n.local_path}'\nfile '{nn.local_path}'\noutpoint 0.15\n")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v",
                    "-map", "0:a", "-c", "copy", "-movflags", "+faststart", str(joined)], check=True)
    before = read_mp4(n.local_path).video
    keys = video_keyframe_times(joined)
    assert before is not None and before.duration_s and keys[-1] > before.duration_s - 0.05, keys
    os.replace(joined, n.local_path)
    info = read_mp4(n.local_path)
    n_start = b2 + timedelta(seconds=0.02 - keys[-1])
    _set(rec.db, n.id, start_time=n_start, end_time=n_start + timedelta(seconds=info.duration_s or 0),
         duration=info.duration_s, size=Path(n.local_path).stat().st_size)
    nn_start = b2 - timedelta(seconds=0.06)
    _set(rec.db, nn.id, start_time=nn_start, end_time=nn_start + timedelta(seconds=nn.duration))
    rec.loaded = (b1, b2)


def _second(near: datetime) -> datetime:
    """The whole second nearest to `near`."""
    return datetime.fromtimestamp(round(near.timestamp()), UTC)


def _whole(t: datetime) -> datetime:
    return datetime.fromtimestamp(math.floor(t.timestamp()), UTC)


def _check(spans: list[Span], start: datetime, end: datetime, r: ExportResult, exact: bool) -> str | None:
    """None when the export is right; else what is wrong."""
    # An exact cut starts on a frame at or after the asked start: a piece whose last frame began before the
    # start (less than a frame of it left there) is nothing to cut from.
    def usable_end(s: Span) -> datetime:
        return s.last_frame + timedelta(seconds=0.002) if exact else s.video_end

    if not any(s.start < end and usable_end(s) > start for s in spans):
        return None if r.path is None else "exported from nothing"
    if r.path is None or not r.path.is_file() or r.media_start is None:
        return "nothing exported"
    # Where a piece's pictures begin: its first keyframe. Its row starts with its first packet, which may be
    # sound: after a reconnect under load the picture came 28 ms after the sound, and an asked start 58 ms
    # before the row's (in the gap) was taken for one inside the piece (a 4-worker run).
    def first_frame(s: Span) -> datetime:
        return s.keyframes[0] if s.keyframes else s.start

    covered = [s for s in spans if first_frame(s) - timedelta(seconds=SLACK) <= start < usable_end(s)]
    if covered:
        # The keyframe at or before the asked start (the frame itself with --exact).
        earliest = start - timedelta(seconds=(FRAME if exact else GOP) + SLACK)
        if not earliest <= r.media_start <= start + timedelta(seconds=SLACK):
            return f"starts at {r.media_start:%H:%M:%S.%f}, asked {start:%H:%M:%S.%f}"
    else:  # in a gap: from the next piece's first frame
        nxt = min((first_frame(s) for s in spans if first_frame(s) >= start), default=None)
        if nxt is None or not start <= r.media_start <= nxt + timedelta(seconds=SLACK):
            return f"starts at {r.media_start:%H:%M:%S.%f} in a gap, next piece at {nxt}"
    # What the pieces hold of the range: at least their union; at most their sum (where the previous piece
    # runs past the next one's start both are joined whole: nothing is dropped).
    parts = sorted((max(start, s.start), min(end, s.video_end)) for s in spans if s.start < end and s.video_end > start)
    total = sum((b - a).total_seconds() for a, b in parts)
    union, reach = 0.0, parts[0][0]
    for a, b in parts:
        union += max(0.0, (b - max(a, reach)).total_seconds())
        reach = max(reach, b)
    lead = (start - r.media_start).total_seconds() if r.media_start < start else 0.0
    joins = len(parts) - 1
    video = read_mp4(r.path).video
    seconds = video.duration_s if video and video.duration_s else 0.0
    low = union - SLACK * (joins + 1) - (FRAME if exact else 0.0)  # the re-encoded head may end a frame early
    high = total + lead + (FRAME if exact else 0.0) + 0.1 + SLACK * (joins + 1)  # + the out point's margin
    if not low <= seconds <= high:
        return f"its video lasts {seconds:.3f} s, expected {low:.3f}-{high:.3f} (lead {lead:.3f})"
    return None


def _sweep(rec: Recorded, tmp: Path, room: str, camera: str, first: datetime, last: datetime,
           length: float = 4.0) -> list[str]:
    """Export every whole-second start in [first, last] for `length` seconds, and every whole-second end in
    (first, last + length] from `first`, plain and exact; the wrong ones, described."""
    spans = _spans(rec.db, camera)
    wrong = []
    n = 0
    starts = [first + timedelta(seconds=i) for i in range(int((last - first).total_seconds()) + 1)]
    asks = [(s, s + timedelta(seconds=length)) for s in starts]
    asks += [(first, first + timedelta(seconds=i)) for i in range(1, int((last - first).total_seconds()) + 1)
             if first + timedelta(seconds=i) != first + timedelta(seconds=length)]
    for a, b in asks:
        for exact in (False, True):
            n += 1
            out = tmp / f"{n}.mp4"
            try:
                (r,) = export_range(rec.settings, rec.db, room, camera, a, b, out, exact=exact)
            except Exception as exc:  # every failure is reported, with its time
                wrong.append(f"{a:%H:%M:%S}-{b:%H:%M:%S} exact={exact}: {exc}")
                continue
            why = _check(spans, a, b, r, exact)
            if why:
                wrong.append(f"{a:%H:%M:%S}-{b:%H:%M:%S} exact={exact}: {why}")
            out.unlink(missing_ok=True)
    assert n >= 16
    return wrong


def _around(boundaries: list[datetime]) -> tuple[datetime, datetime]:
    """Whole seconds from one before the first boundary to one after the last."""
    return _whole(boundaries[0]) - timedelta(seconds=1), _whole(boundaries[-1]) + timedelta(seconds=1)


def test_every_start_and_end_across_loaded_boundaries(recorded: Recorded, tmp_path: Path) -> None:
    assert recorded.loaded is not None
    b1, b2 = recorded.loaded
    spans = _spans(recorded.db, "front")
    # As built: a piece whose video ends before b1 while the next starts before it; one whose last keyframe
    # lies past b2 while the next starts before it.
    assert any(s.video_end < b1 < s.video_end + timedelta(seconds=0.03) for s in spans)
    assert any(b2 < s.keyframes[-1] < b2 + timedelta(seconds=0.03) for s in spans)
    assert sum(1 for s in spans if b1 - timedelta(seconds=0.07) < s.start < b1) == 1
    assert sum(1 for s in spans if b2 - timedelta(seconds=0.07) < s.start < b2) == 1
    wrong = _sweep(recorded, tmp_path, "A-101", "front", *_around([b1, b2]))
    assert not wrong, "\n".join(wrong)


def test_every_start_and_end_across_plain_boundaries(recorded: Recorded, tmp_path: Path) -> None:
    spans = [s for s in _spans(recorded.db, "hall") if s.start < recorded.outage[0]]
    b1, b2 = spans[2].start, spans[3].start
    wrong = _sweep(recorded, tmp_path, "B-202", "hall", *_around([b1, b2]))
    assert not wrong, "\n".join(wrong)


def test_every_start_and_end_across_a_reconnect_gap(recorded: Recorded, tmp_path: Path) -> None:
    spans = _spans(recorded.db, "front")
    before = max((s for s in spans if s.start < recorded.outage[0]), key=lambda s: s.start)
    after = min((s for s in spans if s.start > recorded.outage[0]), key=lambda s: s.start)
    assert (after.start - before.video_end).total_seconds() > 1, "a gap between them"
    wrong = _sweep(recorded, tmp_path, "A-101", "front", *_around([before.start, after.start]))
    assert not wrong, "\n".join(wrong)


def test_every_start_and_end_across_a_restart_piece(recorded: Recorded, tmp_path: Path) -> None:
    for camera, room in (("front", "A-101"), ("hall", "B-202")):
        spans = _spans(recorded.db, camera)
        last_before = max((s for s in spans if s.start < recorded.restart), key=lambda s: s.start)
        restart_piece = min((s for s in spans if s.start >= recorded.restart), key=lambda s: s.start)
        following = min((s for s in spans if s.start > restart_piece.start), key=lambda s: s.start)
        wrong = _sweep(recorded, tmp_path, room, camera, *_around([last_before.video_end, following.start]))
        assert not wrong, "\n".join(wrong)


def test_the_sound_source_room_keeps_its_sound(recorded: Recorded) -> None:
    """The sweeps of `hall` above were of a room with a sound source: its pieces hold the room's sound."""
    rows = [r for r in catalog.list_recordings(recorded.db) if r.camera == "hall" and r.status == "ready"
            and r.duration and r.duration > 1]
    assert len(rows) >= 6 and all(read_mp4(r.local_path).audio is not None for r in rows)
    assert all("room audio muxed" in (r.notes or "") for r in rows), [r.notes for r in rows]
