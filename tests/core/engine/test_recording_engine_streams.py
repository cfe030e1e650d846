"""The engine with what lecture-hall devices send (issue 22), in ONE engine run (the 2-core budget).

  hall   H.264 High with 3 B-frames + AAC, as Epiphan/Matrox/Extron encoders send: recorded, every file ready
  hevc   H.265 with 4 B-frames, parameter sets only in the SDP: recorded, every MP4 tagged hvc1
  mjpeg  Motion JPEG: failed with the reason in words after GIVE_UP_AFTER tries, no more tries, no file counted,
         and the camera_down alert fires with the same reason
  nokey  H.264 whose only keyframe comes untimed (a keyframe interval far longer than the run) + G.711 sound:
         the files hold sound but no frame of the announced video, so each is failed with the reason
  sound  a camera whose SDP has only sound (G.711): still recorded, audio-only files, ready
  change a camera whose settings are changed from H.264 320x180 to H.265 640x360 (it restarts its stream, as
         cameras do when the codec or resolution is changed): the file open at the change is closed whole, the
         next files are H.265 640x360 tagged hvc1, every file ready
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Q_ARG, QMetaObject, Qt

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.monitor import Monitor
from nvr_console.core.recording.restart_backoff import GIVE_UP_AFTER
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, codecs, ffprobe_json, wait_until
from tests.support.fixtures_rtsp import _require_gst
from tests.support.rtsp_peer import RtspServer
from tests.support.stream_matrix import MATRIX, MJPEG_LAUNCH, SOUND_ONLY_LAUNCH, StreamCase, encode_file, launch

HALL = next(c for c in MATRIX if c.name == "h264_high_bf3_aac")
HEVC = next(c for c in MATRIX if c.name == "h265_main_bf4_sdp")
NOKEY = ("videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=180,framerate=25/1 "
         "! x264enc speed-preset=ultrafast key-int-max=100000 bitrate=300 ! video/x-h264,profile=baseline "
         "! rtph264pay name=pay0 pt=96 config-interval=-1 "
         "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audio/x-raw,rate=8000,channels=1 "
         "! alawenc ! rtppcmapay name=pay1 pt=8")
BEFORE = StreamCase("before", "h264", "main", 2, 1, None, live=True)
AFTER = launch(StreamCase("after", "hevc", "main", 0, 1, None, live=True), Path()).replace(
    "width=320,height=180", "width=640,height=360")


pytestmark = pytest.mark.peer  # starts RTSP servers of its own: not in scripts/test --quick


@pytest.mark.slow
def test_engine_records_lecture_hall_streams_and_fails_what_it_cannot(
    settings_factory: Callable[..., Settings], qapp: object, tmp_path: Path,
) -> None:
    _require_gst()
    media = tmp_path / "media"
    media.mkdir()
    for case in (HALL, HEVC):
        encode_file(case, media, 90)
    mounts = {"/hall": launch(HALL, media), "/hevc": launch(HEVC, media), "/mjpeg": MJPEG_LAUNCH, "/nokey": NOKEY,
              "/sound": SOUND_ONLY_LAUNCH}
    settings = settings_factory(**{"recording.segment_length": "4", "upload.destination": "none",
                                   "alerts.check_every": "1s", "alerts.camera_down_after": "3s",
                                   "alerts.repeat_every": "off"})
    db = Database(settings.database.url)
    prepare_database(db)
    changing = RtspServer(mounts={"/change": launch(BEFORE, media)})
    with RtspServer(mounts=mounts) as server, changing:
        catalog.add_room(db, "Hall-1")
        ids = {name: catalog.add_camera(db, "Hall-1", name, server.url(f"/{name}")).id
               for name in ("hall", "hevc", "mjpeg", "nokey", "sound")}
        ids["change"] = catalog.add_camera(db, "Hall-1", "change", changing.url("/change")).id
        host = EngineHost(settings, db)
        got = Collected()
        got.attach(host.engine)
        monitor = Monitor(settings, db)
        monitor.attach(host.engine)
        monitor.start()
        host.start()
        try:
            def state(name: str) -> CameraState | None:
                s = got.latest(ids[name])
                return s.state if s else None

            assert wait_until(lambda: state("hall") is CameraState.RECORDING
                              and state("hevc") is CameraState.RECORDING, 40), (state("hall"), state("hevc"))
            # The unrecordable camera: FAILED with the reason and the fix, then no more tries.
            assert wait_until(lambda: "not retried any more" in (got.latest(ids["mjpeg"]).last_error
                                                                  if got.latest(ids["mjpeg"]) else ""), 60), \
                got.latest(ids["mjpeg"])
            last = got.latest(ids["mjpeg"])
            assert last is not None and last.state is CameraState.FAILED
            assert "Motion JPEG" in last.last_error and "set its encoder to H.264" in last.last_error
            assert f"Tried {GIVE_UP_AFTER} times" in last.last_error
            assert last.next_retry_in == 0
            starts = [line for line in got.logs if line.camera_id == ids["mjpeg"] and "starting:" in line.text]
            assert len(starts) == GIVE_UP_AFTER

            def mjpeg_alert() -> list[alert_store.AlertRecord]:
                return [a for a in alert_store.firing(db) if a.rule == "camera_down" and a.subject == "Hall-1 / mjpeg"]

            assert wait_until(lambda: bool(mjpeg_alert()), 20), alert_store.firing(db)
            assert "Motion JPEG" in mjpeg_alert()[0].summary and "set its encoder to H.264" in mjpeg_alert()[0].summary
            # The console's Stream column: what each recorder's FFmpeg saw.
            assert got.latest(ids["hall"]).stream == "H.264 320x180 · AAC"  # type: ignore[union-attr]
            assert got.latest(ids["hevc"]).stream == "H.265 320x180 · no audio"  # type: ignore[union-attr]
            # Three boundaries for the good cameras (4 s segments).
            assert wait_until(lambda: len(got.files("hall")) >= 3 and len(got.files("hevc")) >= 3, 40)
            # The camera's codec and resolution are changed: its stream restarts.
            assert wait_until(lambda: len(got.files("change")) >= 2, 20)
            changing.stop()
            changing.mounts["/change"] = AFTER
            changing.start()
            assert wait_until(lambda: getattr(got.latest(ids["change"]), "stream", "") == "H.265 640x360 · no audio",
                              40), got.latest(ids["change"])
            before = len(got.files("change"))
            assert wait_until(lambda: len(got.files("change")) >= before + 2, 30)
            assert state("mjpeg") is CameraState.FAILED
            def mjpeg_starts() -> int:
                return len([ln for ln in got.logs if ln.camera_id == ids["mjpeg"] and "starting:" in ln.text])

            assert mjpeg_starts() == GIVE_UP_AFTER, "a camera that gave up was started again"
            # The operator presses Start (after changing the camera, say): tried again, and again bounded.
            QMetaObject.invokeMethod(host.engine, "start_camera", Qt.ConnectionType.QueuedConnection,
                                     Q_ARG(int, ids["mjpeg"]))
            assert wait_until(lambda: mjpeg_starts() == 2 * GIVE_UP_AFTER
                              and getattr(got.latest(ids["mjpeg"]), "next_retry_in", 1) == 0
                              and state("mjpeg") is CameraState.FAILED, 60), got.latest(ids["mjpeg"])
            wait_until(lambda: False, 3)
            assert mjpeg_starts() == 2 * GIVE_UP_AFTER
        finally:
            monitor.stop()
            assert host.stop(60)

    rows = catalog.list_recordings(db)
    by_camera: dict[str, list] = {}  # type: ignore[type-arg]
    for r in rows:
        by_camera.setdefault(r.camera, []).append(r)
    hall = by_camera["hall"]
    assert len(hall) >= 3 and all(r.status == "ready" for r in hall), [(r.local_path, r.status, r.notes)
                                                                         for r in hall]
    for r in hall:
        assert codecs(Path(r.local_path)) == {"video": "h264", "audio": "aac"}, r.local_path
    hevc = by_camera["hevc"]
    assert len(hevc) >= 3 and all(r.status == "ready" for r in hevc), [(r.local_path, r.status, r.notes)
                                                                         for r in hevc]
    for r in hevc:
        video = next(s for s in ffprobe_json(Path(r.local_path))["streams"] if s["codec_type"] == "video")
        assert (video["codec_name"], video["codec_tag_string"]) == ("hevc", "hvc1"), r.local_path
    # Nothing the MJPEG camera sent is counted as a recording: every file it left is failed with the reason.
    for r in by_camera.get("mjpeg", []):
        assert r.status == "failed" and "Motion JPEG" in r.notes, (r.local_path, r.status, r.notes)
    # By start, not slot: the last piece of the old stream and the first of the new one share a slot.
    change = sorted(by_camera["change"], key=lambda r: r.start_time or r.slot_start)
    assert all(r.status == "ready" for r in change), [(r.local_path, r.status, r.notes) for r in change]
    seen = []
    for r in change:
        video = next(s for s in ffprobe_json(Path(r.local_path))["streams"] if s["codec_type"] == "video")
        seen.append((video["codec_name"], video["codec_tag_string"], video["width"], video["height"]))
    assert seen[0] == ("h264", "avc1", 320, 180) and seen[-1] == ("hevc", "hvc1", 640, 360), seen
    switch = seen.index(seen[-1])
    assert set(seen[:switch]) == {seen[0]} and set(seen[switch:]) == {seen[-1]}, seen  # no file mixes the two
    sound = by_camera["sound"]
    assert sound and all(r.status == "ready" and codecs(Path(r.local_path)) == {"audio": "aac"} for r in sound), \
        [(r.local_path, r.status, r.notes) for r in sound]
    nokey = by_camera["nokey"]
    assert nokey and all(r.status == "failed" and "no frame of the camera's video" in r.notes for r in nokey), \
        [(r.local_path, r.status, r.notes) for r in nokey]
