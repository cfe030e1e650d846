"""The engine's stop (core/engine/stop_sequence): handover first, then recorders stopped and files finalized, once."""

from __future__ import annotations

from collections.abc import Callable

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.status import CameraState
from tests.core.engine_support import Collected, ffmpeg_pids_writing_to, wait_until

DEMO = "lavfi:testsrc2=size=320x180:rate=10"


def test_a_stop_asked_twice_before_start_reports_stopped_once(settings: Settings, db: Database,
                                                              qapp: object) -> None:
    engine = Engine(settings, db)
    fired: list[bool] = []
    engine.stopped.connect(lambda: fired.append(True))
    engine.shutdown()
    engine.shutdown()
    assert fired == [True]


def test_a_lone_node_hands_over_to_nobody_then_stops_its_recorders_and_finalizes(
        settings_factory: Callable[..., Settings], qapp: object) -> None:
    settings = settings_factory(**{"recording.segment_length": "10", "upload.destination": "local",
                                   "retention.delete_after": "never"})
    db = Database(settings.database.url)
    prepare_database(db)
    catalog.add_room(db, "R")
    cam = catalog.add_camera(db, "R", "demo", DEMO)
    host = EngineHost(settings, db)
    got = Collected()
    got.attach(host.engine)
    stops: list[bool] = []
    host.engine.stopped.connect(lambda: stops.append(True))
    host.start()
    folder = settings.recording.dir / "R" / "demo"
    try:
        assert wait_until(lambda: (s := got.latest(cam.id)) is not None and s.state is CameraState.RECORDING, 30)
        assert wait_until(lambda: any(p.stat().st_size > 0 for p in folder.rglob("*.mkv")), 20)
    finally:
        assert host.stop(60)
    texts = [line.text for line in got.logs]
    # It held the camera: the stop offered it to other nodes first; with none, it went straight on.
    handing = next(i for i, t in enumerate(texts) if t.startswith("stopping: handing this node's cameras over"))
    stopping = texts.index("stopping all recorders")
    assert handing < stopping < texts.index("engine stopped")
    assert stops == [True]
    assert not ffmpeg_pids_writing_to(folder)
    # The segment being written when the stop came is finalized, not left raw.
    assert got.files("demo") and all(e.status == "ready" for e in got.files("demo"))
    assert not list(folder.rglob("*.mkv"))
    db.dispose()
