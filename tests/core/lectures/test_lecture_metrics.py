"""Lectures by state and the delay from a lecture's end to its verified delivery, scraped from /metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import LectureFileState
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store
from nvr_console.core.lectures.timetable_parse import Occurrence
from nvr_console.core.monitoring.monitor import Monitor
from tests.core.monitoring.test_metrics import scrape, wait
from tests.ui.engine_double import EngineDouble


def test_lectures_by_state_and_delivery_delay(settings_factory: Callable[..., Settings], tmp_path: Path) -> None:
    settings = settings_factory(**{"metrics.listen": "127.0.0.1:0", "alerts.check_every": "1s",
                                   "lectures.post_roll": "0s"})
    db = Database(settings.database.url)
    prepare_database(db)
    room = catalog.add_room(db, "A-101")
    cam = catalog.add_camera(db, "A-101", "front", "rtsp://127.0.0.1:1/s", enabled=False)
    now = datetime.now(UTC)
    ended = now - timedelta(seconds=90)
    occs = [Occurrence("a@uni", "", "Algebra", "", "", ended - timedelta(hours=1), ended),
            Occurrence("b@uni", "", "Biology", "", "", now + timedelta(hours=1), now + timedelta(hours=2)),
            Occurrence("c@uni", "", "Exam", "", "", now + timedelta(hours=3), now + timedelta(hours=4), "keyword 'x'")]
    assert lecture_store.sync(db, room.id, "A-101", occs, now - timedelta(days=1), now + timedelta(days=1)).added == 3
    [algebra] = [x for x in lecture_store.between(db, now - timedelta(days=1), now) if x.title == "Algebra"]
    assert lecture_store.begin_assembly(db, algebra, [(cam.id, cam.name)])
    f = lecture_store.claim_file(db, algebra.id, "node-a", 60)
    assert f is not None and lecture_store.claim_file(db, algebra.id, "node-b", 60) is None  # one claimant
    assert lecture_store.file_done(db, f.id, f.claim_token, state=LectureFileState.DONE, coverage=1.0, gaps="")
    done = lecture_store.finish(db, algebra.id, 0.99)
    assert done is not None and done.state == "delivered"

    engine = EngineDouble({cam.id: ("A-101", "front")})
    monitor = Monitor(settings, db, node="node-a")
    monitor.attach(engine)
    monitor.start()
    try:
        assert monitor.metrics is not None
        assert wait(lambda: ("nvr_lectures", (("state", "delivered"),)) in scrape(monitor.metrics.url)[1])
        _, m = scrape(monitor.metrics.url)
        assert m[("nvr_lectures", (("state", "delivered"),))] == 1.0
        assert m[("nvr_lectures", (("state", "scheduled"),))] == 1.0
        assert m[("nvr_lectures", (("state", "skipped"),))] == 1.0
        assert 89 <= m[("nvr_lecture_delivery_seconds_last", ())] <= 120
        assert m[("nvr_lecture_delivery_seconds_max", ())] == m[("nvr_lecture_delivery_seconds_last", ())]
    finally:
        monitor.stop()
        db.dispose()
