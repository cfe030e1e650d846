"""The engine against a real RTSP server, many scenarios at once in ONE engine run (the 2-core budget).

One engine records, with 5 s segments and Moscow time names:
  A-101 (room sound source /audio): front (/cam), side (/secure, right password)
  B-202: alaw (/cam_alaw, G.711), bye (disabled by `nvr-console cameras disable` mid-run),
         gone (deleted mid-run)
  C-303: wrongpath (/nope), wrongport (nothing listens), wrongpass (/secure, wrong password)
  E-505 (sound source with a wrong path): nosound (/cam) records anyway, the reason in its notes
  D-404: outage (its own RTSP server: first frozen with SIGSTOP for 10 s -> stall watchdog, then
         stopped for 15 s and restarted -> reconnect)
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.recording.segment_names import RUN_DIR
from nvr_console.core.schedule.boundaries import slot_of_epoch
from nvr_console.core.status import CameraState
from tests.core.engine_support import (
    Collected,
    codecs,
    decodes_cleanly,
    ffmpeg_pids_writing_to,
    ffprobe_json,
    wait_until,
)
from tests.support.ports import free_port
from tests.support.rtsp_peer import SECURE_PASSWORD, SECURE_USER, RtspServer

ZONE = "Europe/Moscow"
SEGMENT = 5.0
WRONG_PASSWORD = "wr0ng-Pa55"


def _cli(settings: Settings, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "nvr_console.cli.main", *args, "--database-url", settings.database.url],
                   check=True, capture_output=True, timeout=60, env={**os.environ})


@pytest.mark.slow
def test_engine_records_many_cameras_through_failures_and_changes(
    fresh_rtsp_server: RtspServer,
    settings_factory: Callable[..., Settings],
    qapp: object,
) -> None:
    rtsp_server = fresh_rtsp_server  # ten clients at once: a server of its own, not the shared one
    # A long socket timeout, so the frozen server is caught by OUR stall watchdog, not FFmpeg's timeout.
    settings = settings_factory(**{"recording.segment_length": "5", "recording.timezone": ZONE,
                                   "recording.socket_timeout": "30", "recording.stall_timeout": "4",
                                   "upload.destination": "none"})
    root = settings.recording.dir
    db = Database(settings.database.url)
    prepare_database(db)
    own = RtspServer(auto_restart=True).start()
    try:
        catalog.add_room(db, "A-101", sound_source=rtsp_server.url("/audio"))
        catalog.add_room(db, "B-202")
        catalog.add_room(db, "C-303")
        catalog.add_room(db, "D-404")
        catalog.add_room(db, "E-505", sound_source=rtsp_server.url("/no-such-sound"))
        cams = {
            "front": catalog.add_camera(db, "A-101", "front", rtsp_server.url("/cam")),
            "side": catalog.add_camera(db, "A-101", "side", rtsp_server.url("/secure", SECURE_USER, SECURE_PASSWORD)),
            "alaw": catalog.add_camera(db, "B-202", "alaw", rtsp_server.url("/cam_alaw")),
            "bye": catalog.add_camera(db, "B-202", "bye", rtsp_server.url("/cam")),
            "gone": catalog.add_camera(db, "B-202", "gone", rtsp_server.url("/cam")),
            "wrongpath": catalog.add_camera(db, "C-303", "wrongpath", rtsp_server.url("/nope")),
            "wrongport": catalog.add_camera(db, "C-303", "wrongport", f"rtsp://127.0.0.1:{free_port()}/cam"),
            "wrongpass": catalog.add_camera(db, "C-303", "wrongpass",
                                            rtsp_server.url("/secure", SECURE_USER, WRONG_PASSWORD)),
            "outage": catalog.add_camera(db, "D-404", "outage", own.url("/cam")),
            "nosound": catalog.add_camera(db, "E-505", "nosound", rtsp_server.url("/cam")),
        }
        ids = {k: v.id for k, v in cams.items()}
        host = EngineHost(settings, db)
        got = Collected()
        got.attach(host.engine)
        host.start()

        def state(name: str) -> CameraState | None:
            s = got.latest(ids[name])
            return s.state if s else None

        good = ["front", "side", "alaw", "bye", "gone", "outage", "nosound"]
        assert wait_until(lambda: all(state(n) is CameraState.RECORDING for n in good), 40), \
            {n: state(n) for n in good}
        # Wrong path / port / password: the right state and an operator sentence, others unaffected.
        assert wait_until(lambda: state("wrongpath") is CameraState.FAILED
                          and state("wrongpass") is CameraState.FAILED
                          and state("wrongport") in (CameraState.RECONNECTING, CameraState.FAILED), 30)
        assert "No such stream path" in got.latest(ids["wrongpath"]).last_error
        assert "wrong user or password" in got.latest(ids["wrongpass"]).last_error
        assert "refused" in got.latest(ids["wrongport"]).last_error.lower()
        assert got.latest(ids["wrongpass"]).next_retry_in > 0

        # A camera that freezes (connection open, no data): stalled -> restarted -> recording again.
        freeze_start = time.time()
        os.killpg(own._proc.pid, signal.SIGSTOP)  # type: ignore[union-attr]
        try:
            assert wait_until(lambda: state("outage") is CameraState.STALLED, 15)
            wait_until(lambda: time.time() >= freeze_start + 10, 10)
        finally:
            os.killpg(own._proc.pid, signal.SIGCONT)  # type: ignore[union-attr]
        freeze_end = time.time()
        assert wait_until(lambda: state("outage") is CameraState.RECORDING, 40)
        assert "stalled" in " ".join(s.last_error for s in got.statuses if s.camera_id == ids["outage"])
        wait_until(lambda: False, 3)
        assert state("front") is CameraState.RECORDING

        outage_stop = time.time()
        own.stop()

        # Another process disables a camera: it stops within 5 s, its FFmpeg is gone.
        _cli(settings, "cameras", "disable", "--room", "B-202", "--name", "bye")
        t_disabled = time.monotonic()
        assert wait_until(lambda: state("bye") is CameraState.STOPPED, 5.0)
        assert time.monotonic() - t_disabled <= 5.0
        assert got.latest(ids["bye"]).enabled is False
        assert wait_until(lambda: not ffmpeg_pids_writing_to(root / "B-202" / "bye", recorders_only=True), 2)

        # Another console deletes a camera: removed within 5 s, no orphan FFmpeg.
        catalog.remove_camera(db, "B-202", "gone")
        t_removed = time.monotonic()
        assert wait_until(lambda: ids["gone"] in got.removed, 5.0)
        assert time.monotonic() - t_removed <= 5.0
        assert wait_until(lambda: not ffmpeg_pids_writing_to(root / "B-202" / "gone", recorders_only=True), 3)

        assert wait_until(lambda: state("outage") is CameraState.RECONNECTING, 10)
        wait_until(lambda: time.time() >= outage_stop + 15, 20)
        own.start()
        outage_restart = time.time()
        assert wait_until(lambda: state("outage") is CameraState.RECORDING, 40)
        reconnected = time.time()
        # Let every camera cross at least one more boundary after the reconnect.
        wait_until(lambda: False, SEGMENT + 3)

        assert state("front") is CameraState.RECORDING  # never disturbed by the others
        assert host.stop(60)
        assert not ffmpeg_pids_writing_to(root)
        assert not list((root / RUN_DIR).glob("*.pid"))
    finally:
        own.close()

    rows = {r.local_path: r for r in catalog.list_recordings(db)}
    assert rows
    assert all(r.status in ("ready", "failed") for r in rows.values()), [(r.local_path, r.status)
                                                                         for r in rows.values()]

    def files(camera: str) -> list:
        return sorted((r for r in rows.values() if r.camera == camera), key=lambda r: r.start_time or r.slot_start)

    # Gapless: consecutive files of a healthy camera meet within a frame or two; cuts at boundaries.
    front = files("front")
    assert len(front) >= 6 and all(r.status == "ready" for r in front)
    for a, b in itertools.pairwise(front):
        gap = (b.start_time - a.end_time).total_seconds()
        assert abs(gap) < 0.15, (a.local_path, b.local_path, gap)
    span = (front[-1].end_time - front[0].start_time).total_seconds()
    assert sum(r.duration for r in front) / span > 0.99
    zone = ZoneInfo(ZONE)
    for r in front[1:]:
        start = r.start_time.timestamp()
        # The cut is on the first keyframe at or after the boundary (GOP 2 s); the start time we store
        # comes from the wall clock and packet times, so it may read a few ms before the boundary (seen
        # in CI: 3.4 ms before): measured against the nearest boundary, with 0.1 s of that jitter.
        boundary = slot_of_epoch(start + 0.1, SEGMENT, zone).timestamp()
        assert -0.1 <= start - boundary < 2.6, (r.local_path, start - boundary)
        # Local names in the configured zone: <room>/<camera>/<YYYY-MM-DD>/<HH-MM-SS>.mp4
        named = datetime.strptime(f"{Path(r.local_path).parent.name} {Path(r.local_path).stem}",
                                  "%Y-%m-%d %H-%M-%S").replace(tzinfo=zone)
        assert abs(named.timestamp() - start) < 1.5
        assert Path(r.local_path).relative_to(root).parts[:2] == ("A-101", "front")

    # Room audio in every camera file of that room.
    for r in front + files("side"):
        assert codecs(Path(r.local_path)).get("audio") == "aac", r.local_path
        assert "room audio muxed" in r.notes, (r.local_path, r.notes)
    # ... all through it: a camera cuts at the keyframe after a boundary, the sound at the boundary, so each file
    # takes the end of one sound segment and the start of the next (the next still being written: 4.0 s of video
    # had 2.4 s of sound when only one sound segment was muxed). Not the first file (it may start before the
    # sound source's first packet) nor the last (stopped with the engine).
    for r in front[1:-1]:
        streams = {s["codec_type"]: float(s["duration"]) for s in ffprobe_json(Path(r.local_path))["streams"]}
        assert streams["audio"] >= 0.97 * streams["video"], (r.local_path, streams, r.notes)
    # A broken room sound source never stops or delays video: files go ready, the reason is recorded.
    nosound = files("nosound")
    assert len(nosound) >= 5 and all(r.status == "ready" for r in nosound)
    assert all("room audio missing" in r.notes and "No such stream path" in r.notes for r in nosound[1:])
    # G.711 camera -> MP4 with AAC.
    alaw = files("alaw")
    assert alaw and all(codecs(Path(r.local_path)) == {"video": "h264", "audio": "aac"} for r in alaw)
    assert all("room audio" not in r.notes for r in alaw)

    # Freeze and outage: recorded up to each, back after each; only those spans are missing.
    outage = [r for r in files("outage") if r.status == "ready"]
    gaps = [(a.end_time.timestamp(), b.start_time.timestamp()) for a, b in itertools.pairwise(outage)
            if (b.start_time - a.end_time).total_seconds() > 0.15]
    why = ([(Path(r.local_path).name, r.start_time.timestamp(), r.end_time.timestamp(), r.duration) for r in outage],
           gaps, freeze_start, freeze_end, outage_stop, outage_restart)
    assert len(gaps) == 2, why
    (f_from, f_to), (o_from, o_to) = gaps
    # Wall-clock times come from FFmpeg's timeline anchored at progress arrival, so they carry the
    # source's delivery latency (measured up to ~1.2 s on this loaded 2-core box): tolerances allow 2.5 s.
    assert freeze_start - 2.5 < f_from <= freeze_start + 2.5 and freeze_end - 2.5 <= f_to < freeze_end + 15, why
    assert outage_stop - 2.5 < o_from <= outage_stop + 2.5 and outage_restart - 2.5 <= o_to < reconnected + 3, why
    assert CameraState.RECONNECTING in got.states(ids["outage"])
    before = [r for r in outage if r.end_time.timestamp() <= o_from + 0.01]
    after = [r for r in outage if r.start_time.timestamp() >= o_to - 0.01]

    # Files play: decode the ones that crossed failures and changes, and a few normal ones.
    for r in [before[-1], after[0], front[1], alaw[-1], *files("bye")[-1:]]:
        assert decodes_cleanly(Path(r.local_path)), r.local_path

    # Credentials never leave: not in signals, statuses or the logs on disk.
    texts = [x.text for x in got.logs] + [s.last_error for s in got.statuses] + [s.current_file for s in got.statuses]
    for secret in (SECURE_PASSWORD, WRONG_PASSWORD):
        assert not any(secret in t for t in texts)
        for f in settings.log.dir.rglob("*.log*"):
            assert secret not in f.read_text(errors="replace"), f
    assert any("***@" in t for t in texts)
    db.dispose()

