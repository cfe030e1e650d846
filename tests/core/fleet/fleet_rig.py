"""What the multi-process fleet tests share: a database of cameras on the RTSP test server's /frames mount,
node processes with short timings, and the rows read back per camera and slot."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.models import CameraLiveStatus, NodeRole, Recording
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from tests.support.fleet_nodes import NodeProcess
from tests.support.fleet_units import wanted_units

SEGMENT = 3  # seconds: handovers switch at the next cut, never far away
TTL = 4  # seconds: a dead node's cameras move after this
TIMINGS = {"segment_length": SEGMENT, "lease_ttl": f"{TTL}s", "handover_wait": "60s", "stall_timeout": "8s"}


@dataclass(frozen=True)
class Row:
    id: int
    camera: str
    node: str
    token: int | None
    slot: datetime
    start: datetime | None
    end: datetime | None
    path: Path
    status: str
    notes: str


def make_db(url: str, cameras: int, rtsp_url: str) -> Database:
    db = Database(url)
    prepare_database(db)
    catalog.add_room(db, "R")
    for i in range(1, cameras + 1):
        catalog.add_camera(db, "R", f"c{i}", rtsp_url)
    return db


def recorders_reporting(db: Database, recording: dict[int, str]) -> None:
    """What a control station finds: recorder srv1 renewing, srv2 about to stop reporting (TTL 1 s), each
    holding the leases of its cameras in `recording` ({camera id: node}) and having written their live rows."""
    registry.register(db, "srv1", NodeRole.RECORDER, lease_ttl=30, process="srv1:1")
    registry.register(db, "srv2", NodeRole.RECORDER, lease_ttl=1.0, process="srv2:1")
    units = {u.camera_id: u.key for u in wanted_units(db)}
    leases.ensure_rows(db, wanted_units(db))
    for camera_id, node in recording.items():
        leases.acquire(db, units[camera_id], node, 30, 0)
    now = datetime.now(UTC)
    with db.session() as s:
        for camera_id, node in recording.items():
            s.add(CameraLiveStatus(camera_id=camera_id, node=node, state="recording", since=now,
                                   current_file="/x.mkv", file_size=10, bitrate_kbps=1.0, last_error="",
                                   lease_token=1, updated_at=now))


def rows(db: Database) -> list[Row]:
    with db.session() as s:
        return [Row(r.id, r.camera_name, r.node, r.lease_token, r.slot_start, r.start_time, r.end_time,
                    Path(r.local_path), str(r.status), r.notes)
                for r in s.query(Recording).order_by(Recording.start_time)]


def opened(r: Row) -> datetime:
    """When FFmpeg opened the file (its name, local time; to the second, but exact, unlike a row's start
    estimate)."""
    return datetime.strptime(f"{r.path.parent.name} {r.path.stem}", "%Y-%m-%d %H-%M-%S")


def holders(db: Database) -> dict[str, str | None]:
    """camera name -> the node holding its lease live."""
    names = {c.id: c.name for c in catalog.list_cameras(db)}
    return {names[cid]: (h.node if h.live else None) for cid, h in leases.camera_holders(db).items() if cid in names}


def alive(db: Database, node: str) -> bool:
    """The node is registered and renewing (False before it registered, unlike registry.get_node)."""
    return any(n.name == node and n.alive for n in registry.list_nodes(db))


def recorded_twice(all_rows: list[Row], since: datetime | None = None,
                   until: datetime | None = None) -> dict[str, float]:
    """{camera: seconds it was recorded by two nodes at once}, from the rows' start and end times, within
    [since, until]: what a handover's overlap (the new node starts first) or a partition costs; nothing else
    may."""
    out: dict[str, float] = {}
    spans: dict[str, list[tuple[float, float, str]]] = {}
    lo = since.timestamp() if since else float("-inf")
    hi = until.timestamp() if until else float("inf")
    for r in all_rows:
        if r.start is None or r.end is None:
            continue
        a, b = max(r.start.timestamp(), lo), min(r.end.timestamp(), hi)
        if b > a:
            spans.setdefault(r.camera, []).append((a, b, r.node))
    for cam, items in spans.items():
        total = 0.0
        for i, (a1, b1, n1) in enumerate(items):
            for a2, b2, n2 in items[i + 1:]:
                if n1 != n2:
                    total += max(0.0, min(b1, b2) - max(a1, a2))
        if total > 0:
            out[cam] = round(total, 2)
    return out


def wait_for(cond: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def cameras_of(node: NodeProcess, cameras: Iterable[str] = ("c1", "c2")) -> set[str]:
    """The cameras whose recorder FFmpeg runs under this node (from their command lines)."""
    lines = [cmdline(pid) for pid in node.ffmpeg_pids()]
    return {cam for cam in cameras for line in lines if f"/R/{cam}/" in line and "segment" in line}


def cmdline(pid: int) -> str:
    """A live process's command line (Linux /proc), "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""
