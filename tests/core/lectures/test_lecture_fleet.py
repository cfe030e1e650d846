"""Two recorder nodes (`nvr-console --no-gui`, separate OS processes) on one MariaDB deliver each lecture file
exactly once, also when the node assembling one is SIGKILLed mid-upload: its claim expires and the other node
builds and uploads the file; the Drive-protocol test server ends with one file per camera."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import LectureFile, Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.lectures import lecture_store, timetable_store
from tests.core.lectures.ics_samples import calendar, event
from tests.support.av_markers import make_marker_clip
from tests.support.drive_server import DriveServer
from tests.support.fleet_nodes import NodeFleet, NodeProcess
from tests.support.mariadb import MariaDBServer

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]
SEG = 6.0
CLAIM_TTL = 6.0


def _wait(cond: Callable[[], object], timeout: float, what: str, nodes: list[NodeProcess]) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.2)
    logs = "\n".join(f"--- {n.name}:\n{n.log_tail(3000)}" for n in nodes)
    raise AssertionError(f"{what} within {timeout} s\n{logs}")


def test_two_nodes_deliver_each_lecture_file_once_even_after_a_sigkill(mariadb_server: MariaDBServer,
                                                                     tmp_path: Path) -> None:
    url = mariadb_server.create_database()
    db = Database(url)
    prepare_database(db)
    # A lecture of 12 s that ended 20 s ago, recorded by two cameras; its pieces are in the shared archive.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(seconds=32)
    start = start - timedelta(seconds=start.timestamp() % SEG)
    end = start + timedelta(seconds=12)
    catalog.add_room(db, "A-101")
    clip = make_marker_clip(tmp_path / "clip.mp4", SEG, gop=25)
    data = clip.read_bytes()
    archive = tmp_path / "shared-archive"
    for cam_name in ("front", "side"):
        cam = catalog.add_camera(db, "A-101", cam_name, "rtsp://127.0.0.1:9/none", enabled=False)
        for i in range(-1, 4):
            at = start + timedelta(seconds=SEG * i)
            piece = archive / cam_name / f"{i + 1}.mp4"
            piece.parent.mkdir(parents=True, exist_ok=True)
            piece.write_bytes(data)
            with db.session() as s:
                s.add(Recording(camera_id=cam.id, room_name="A-101", camera_name=cam_name, slot_start=at,
                                start_time=at, end_time=at + timedelta(seconds=SEG), local_path=f"/gone/{cam_name}/{i}",
                                local_path_key=f"{cam_name}-{i}", size=len(data), duration=SEG,
                                md5=hashlib.md5(data).hexdigest(), status=RecordingStatus.UPLOADED.value,
                                destination="local", web_link=piece.as_uri(), node="old"))
    ics = tmp_path / "timetable.ics"
    ics.write_bytes(calendar(event("seminar@uni", f"{start:%Y%m%dT%H%M%S}", f"{end:%Y%m%dT%H%M%S}", "Seminar",
                                   tzid="")))
    timetable_store.configure(db, "A-101", source=str(ics))

    with DriveServer() as drive, NodeFleet(tmp_path / "nodes", url) as fleet:
        drive.delay_next("upload_chunk", 15.0)  # the first upload hangs: the node holding it is killed then
        nodes = []
        for name in ("a", "b"):
            node = fleet.node(name, segment_length=int(SEG))
            node.env.update({"NVR_DRIVE_API_ROOT": drive.root_url, "NVR_DRIVE_CREDENTIALS": "anonymous",
                             "NVR_UPLOAD_DESTINATION": "drive", "NVR_LECTURES_CLAIM_TTL": f"{CLAIM_TTL:g}s",
                             "NVR_LECTURES_POST_ROLL": "0s", "NVR_CALENDAR_REFRESH": "10s"})
            nodes.append(node.start())

        def uploading() -> str | None:
            if drive.sessions_created() < 1:
                return None
            with db.session() as s:
                return s.scalar(LectureFile.__table__.select().with_only_columns(LectureFile.claimed_by)
                                .where(LectureFile.state == "assembling", LectureFile.claimed_by.is_not(None))
                                .limit(1))

        victim_name = _wait(uploading, 60, "no node started uploading a lecture file", nodes)
        victim = fleet.nodes[str(victim_name)]
        victim.kill()
        survivor = next(n for n in nodes if n is not victim)

        def delivered() -> bool:
            lectures = lecture_store.between(db, start - timedelta(minutes=1), end)
            return bool(lectures) and lectures[0].state in ("delivered", "incomplete")

        _wait(delivered, 90, "the lecture was not delivered by the surviving node", nodes)
        [lec] = lecture_store.between(db, start - timedelta(minutes=1), end)
        assert lec.state == "delivered" and lec.coverage == pytest.approx(1.0), lec
        files = lecture_store.files_of(db, lec.id)
        assert [(f.camera, f.state) for f in files] == [("front", "done"), ("side", "done")]
        # The killed node's file was claimed again (a new token), by the survivor.
        assert max(f.claim_token for f in files) >= 2
        mp4 = sorted(f["name"] for f in drive.files() if f["name"].endswith(".mp4") and not f.get("trashed"))
        local = start.astimezone()
        assert mp4 == [f"{local:%Y-%m-%d_%H-%M}_A-101_{c}_Seminar.mp4" for c in ("front", "side")], mp4
        for meta in drive.files():
            if meta["name"].endswith(".mp4"):
                assert meta["md5Checksum"] in {f.md5 for f in files}
        assert survivor.running
        drive.wait_idle(30)  # the killed node's delayed request ends before the server goes
    db.dispose()
