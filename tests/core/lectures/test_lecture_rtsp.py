"""End to end with the real recorder: an engine records two cameras of a room with a sound source from real RTSP
peers (3 s segments); the room's timetable (a local .ics) has a 15 s lecture; one camera's server goes away for a
few seconds mid-lecture and comes back (a reconnect). The lecture worker started with the engine delivers one
file per camera into the local archive: the reconnecting camera's with the gap and its reason, the other whole;
the lecture is `incomplete`."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.lectures import lecture_store, timetable_store
from tests.core.engine_support import wait_until
from tests.core.lectures.ics_samples import calendar, event
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.rtsp_peer import RtspServer

SEG = 3.0
LECTURE = 15.0


@pytest.mark.slow
def test_recorded_lecture_with_a_reconnect_is_delivered_per_camera(
        settings_factory: Callable[..., Settings], rtsp_server: RtspServer, tmp_path: Path,  # noqa: F811
        qapp: object) -> None:
    settings = settings_factory(**{"recording.segment_length": "3", "upload.destination": "local",
                                   "lectures.post_roll": "0s", "lectures.claim_ttl": "6s",
                                   "recording.timezone": "UTC"})
    db = Database(settings.database.url)
    prepare_database(db)
    own = RtspServer().start()
    try:
        catalog.add_room(db, "A-101", sound_source=rtsp_server.url("/audio"))
        catalog.add_camera(db, "A-101", "front", own.url("/cam"))
        catalog.add_camera(db, "A-101", "side", rtsp_server.url("/cam"))
        start = datetime.fromtimestamp(math.ceil(time.time() / SEG) * SEG + 4 * SEG, UTC)
        end = start + timedelta(seconds=LECTURE)
        ics = tmp_path / "timetable.ics"
        ics.write_bytes(calendar(event("lab@uni", f"{start:%Y%m%dT%H%M%S}", f"{end:%Y%m%dT%H%M%S}", "Lab: optics",
                                       tzid="")))
        timetable_store.configure(db, "A-101", source=str(ics))
        host = EngineHost(settings, db)
        host.start()
        try:
            # Mid-lecture the front camera's server goes away for 4 s (the recorder reconnects when it is back).
            assert wait_until(lambda: time.time() >= start.timestamp() + 4.5, 60)
            own.stop()
            wait_until(lambda: False, 4)
            own.start()

            def finished() -> bool:
                got = lecture_store.between(db, start - timedelta(seconds=1), end)
                return bool(got) and got[0].state in ("delivered", "incomplete")

            assert wait_until(finished, LECTURE + 90), [
                (x.state, lecture_store.files_of(db, x.id)) for x in
                lecture_store.between(db, start - timedelta(seconds=1), end)]
        finally:
            assert host.stop(30)
        [lec] = lecture_store.between(db, start - timedelta(seconds=1), end)
        files = {f.camera: f for f in lecture_store.files_of(db, lec.id)}
        assert lec.state == "incomplete", lec
        assert files["side"].state == "done" and files["side"].coverage is not None
        assert files["side"].coverage >= 0.99 and files["side"].gaps == "", files["side"]
        front = files["front"]
        assert front.state == "done" and front.coverage is not None and 0.4 < front.coverage < 0.9, front
        assert front.gaps and lec.notes.startswith("front: "), lec.notes
        folder = settings.upload.local_dir / "A-101" / "Lectures" / "Lab- optics"
        names = sorted(p.name for p in folder.iterdir())
        assert names == [f"{start:%Y-%m-%d_%H-%M}_A-101_{c}_Lab- optics.mp4" for c in ("front", "side")]
        for cam in ("front", "side"):
            out = folder / names[0 if cam == "front" else 1]
            probe = json.loads(subprocess.run(
                ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(out)],
                capture_output=True, text=True, check=True).stdout)
            kinds = sorted(s["codec_type"] for s in probe["streams"])
            assert kinds == ["audio", "video"], kinds  # the room's sound in every camera's lecture file
            length = float(probe["format"]["duration"])
            expected = LECTURE * (files[cam].coverage or 0)
            assert expected - 1.0 <= length <= expected + 4.0, (cam, length, expected)
    finally:
        own.stop()
        db.dispose()
