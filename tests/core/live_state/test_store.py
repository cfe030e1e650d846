import time
from datetime import UTC, datetime, timedelta

from nvr_console.core import catalog
from nvr_console.core.db.models import Recording
from nvr_console.core.db.session import Database
from nvr_console.core.live_state.store import current_pause, read_report, write_engine_status, write_statuses
from nvr_console.core.status import CameraState, CameraStatus, QueueStatus


def test_written_status_is_reported_and_goes_stale(db: Database) -> None:
    catalog.add_room(db, "A")
    cam = catalog.add_camera(db, "A", "front", "rtsp://h/1")
    catalog.add_camera(db, "A", "side", "rtsp://h/2")
    write_statuses(db, [CameraStatus(cam.id, "A", "front", CameraState.FAILED, time.time(),
                                     last_error="wrong user or password for rtsp://u:pw9876@h/1"),
                        CameraStatus(9999, "A", "gone", CameraState.RECORDING, time.time())], node="n1")
    cams, queue = read_report(db)
    by = {c.camera: c for c in cams}
    assert by["front"].state == "failed" and by["front"].node == "n1"
    assert "pw9876" not in by["front"].last_error
    assert by["side"].state == "unknown"
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert {c.camera: c.state for c in read_report(db, now=later)[0]}["front"] == "stale"
    assert queue.waiting_files == 0


def test_queue_counts(db: Database) -> None:
    now = datetime.now(UTC)
    with db.session() as s:
        for i, (status, size) in enumerate([("ready", 100), ("uploading", 50), ("failed", 7), ("uploaded", 1)]):
            s.add(Recording(room_name="A", camera_name="c", slot_start=now, local_path=f"/x{i}", local_path_key=str(i),
                            status=status, size=size, last_error="quota" if status == "failed" else None))
    _, q = read_report(db)
    assert (q.waiting_files, q.waiting_bytes, q.uploading, q.failed, q.uploaded) == (2, 150, 1, 1, 1)
    assert q.last_error == "quota"


def test_dead_local_node_detection() -> None:
    import socket
    import subprocess
    import sys

    from nvr_console.core.system.node_identity import dead_local_node, node_name

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert dead_local_node(node_name(proc.pid))
    assert not dead_local_node(node_name())  # ourselves
    assert not dead_local_node(f"{socket.gethostname()}:1")  # alive (init)
    assert not dead_local_node("other-host:12345")  # not ours to judge
    assert not dead_local_node(None)


def test_a_paused_queue_is_reported_with_its_reason_until_resumed_or_stale(db: Database) -> None:
    started = time.time()
    write_engine_status(db, started, QueueStatus(0, 0, 0.0), node="n1")
    assert current_pause(db) is None
    reason = "Google Drive storage is full: free space or buy storage, then click Resume"
    write_engine_status(db, started, QueueStatus(3, 300, 0.0, paused=True, reason=reason + " token=ya29.SECRET"),
                        node="n1")
    pause = current_pause(db)
    assert pause is not None and pause.node == "n1" and pause.reason.startswith(reason) and pause.since
    assert "ya29.SECRET" not in pause.reason  # masked like every other stored text
    first_since = pause.since
    write_engine_status(db, started, QueueStatus(3, 300, 0.0, paused=True, reason=reason), node="n1")
    assert current_pause(db).since == first_since  # the pause began once, not at every report
    _, queue = read_report(db)
    assert (queue.paused_node, queue.paused_reason) == ("n1", reason)
    # An engine that stopped reporting long ago is not paused "now".
    assert current_pause(db, now=datetime.now(UTC) + timedelta(minutes=5)) is None
    write_engine_status(db, started, QueueStatus(0, 0, 0.0), node="n1")  # resumed
    assert current_pause(db) is None and read_report(db)[1].paused_reason == ""
