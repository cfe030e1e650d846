"""The durable upload queue: `Recording` rows, claimed atomically, nothing kept only in memory.

Row states used here (their moves, and the fields each sets, are recording.lifecycle's):
  ready      waiting; `next_attempt_at` (if set) is the earliest retry time after an error.
  uploading  claimed by a worker; `next_attempt_at` is then the claim's LEASE expiry, renewed while the
             worker lives. A process killed mid-upload leaves its rows claimed until the lease runs out,
             then any worker (of any process sharing the database) takes them over and resumes the saved
             session at the saved offset.
  uploaded   verified at the destination (size + MD5).
  failed     cannot be uploaded without the operator (`lifecycle.requeue` puts it back).
  lost       the local file vanished before it was uploaded.

All functions run on the calling thread (upload workers) with their own short sessions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update

from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT
from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Node, Recording, RecordingStatus, Room
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.db.types import utcnow
from nvr_console.core.recording import lifecycle
from nvr_console.core.recording.lifecycle import upload_eligible
from nvr_console.core.recording.ownership import adopt_legacy_rows
from nvr_console.core.system.node_identity import dead_local_node, node_name
from nvr_console.core.upload.drive_usage import room_account

READY = RecordingStatus.READY
UPLOADING = RecordingStatus.UPLOADING


@dataclass(frozen=True)
class Job:
    """A claimed recording: a plain snapshot, safe to hold on a worker thread."""

    id: int
    camera_id: int | None
    room: str
    camera: str
    slot_start: datetime
    local_path: str
    size: int | None
    md5: str | None
    session_uri: str | None
    bytes_confirmed: int
    attempts: int
    destination: str | None
    room_folder: str | None  # the room's own Drive folder id, if it names one
    start_time: datetime | None = None  # when the file itself starts (a piece of its slot is named by it)
    remote_name: str | None = None  # the destination file name, once assigned (naming.assign_remote_name)
    account: str = DEFAULT_DRIVE_ACCOUNT  # the Google account its room uploads with (rooms.drive_account)


class RoundRobin:
    """Which camera goes next: the one served least recently, then the oldest file. Thread-safe.

    So a camera with a day of backlog gets one worker turn in N, never all of them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._served: dict[tuple[str, str], int] = {}
        self._tick = 0

    def order(self, cameras: list[tuple[str, str, datetime]]) -> list[tuple[str, str]]:
        with self._lock:
            ranked = sorted(cameras, key=lambda c: (self._served.get((c[0], c[1]), -1), c[2]))
            return [(c[0], c[1]) for c in ranked]

    def served(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._tick += 1
            self._served[key] = self._tick


def _mine(node: str | None) -> ColumnElement[bool]:
    """Rows of this node (its files are on its disk); every row when `node` is None (a single engine)."""
    return Recording.node == node if node is not None else Recording.id.is_not(None)


def claim_next(db: Database, rr: RoundRobin, lease_s: float, node: str | None = None,
               skip_accounts: frozenset[str] = frozenset()) -> Job | None:
    """Claim the next recording of `node` to upload (oldest first, round-robin across cameras), or None.
    Rooms uploading with an account in `skip_accounts` (at Drive's daily cap) wait; the others go on.

    The claim is one conditional UPDATE checked by its row count, so two workers or two processes never
    take the same row. Only the node whose disk has the file uploads it (recordings.node); rows from before
    several nodes shared the database are adopted when their file is here (recording.ownership).
    """
    adopted = False
    held = [room_account(Recording.room_name).not_in(sorted(skip_accounts))] if skip_accounts else []
    for _ in range(8):  # lost races: try the next candidate
        now = utcnow()
        with db.session() as s:
            cams = s.execute(
                select(Recording.room_name, Recording.camera_name, func.min(Recording.slot_start))
                .where(upload_eligible(now), _mine(node), *held)
                .group_by(Recording.room_name, Recording.camera_name)
            ).all()
        if not cams:
            if node is not None and not adopted and adopt_legacy_rows(db, node):
                adopted = True
                continue
            return None
        for room, camera in rr.order([(r, c, t) for r, c, t in cams]):
            with db.session() as s:
                rid = s.scalar(
                    select(Recording.id)
                    .where(upload_eligible(now), _mine(node), Recording.room_name == room,
                           Recording.camera_name == camera)
                    .order_by(Recording.slot_start, Recording.id)
                    .limit(1)
                )
                if rid is None:
                    continue
            if not lifecycle.claim_upload(db, rid, now=now, lease_until=now + timedelta(seconds=lease_s),
                                          node=node_name()):
                continue
            rr.served((room, camera))
            return load_job(db, rid)
    return None


def reclaim_dead_claims(db: Database, node: str | None = None) -> int:
    """Hand back, at once, uploads claimed by an engine on this host that has died (crash, SIGKILL), and,
    with `node`, every claim of an earlier process of this node (this process is its only live one).

    Claims of live engines and of other hosts are left to their lease expiry, or to their node's
    (release_claims_of_dead_nodes).
    """
    me = node_name()
    with db.session() as s:
        rows = s.execute(select(Recording.id, Recording.claimed_by, Recording.node)
                         .where(Recording.status == UPLOADING)).all()
        dead = [rid for rid, owner, row_node in rows
                if dead_local_node(owner) or (node is not None and row_node == node and owner != me)]
    lifecycle.reclaim_uploads(db, dead)
    return len(dead)


def release_claims_of_dead_nodes(db: Database) -> int:
    """Hand back the upload claims of nodes whose node lease has expired (not after the claim's own 120 s):
    their files wait for them in the queue, ready the moment they return. Any node may call it."""
    with db.session() as s:
        ids = list(s.scalars(
            select(Recording.id).where(Recording.status == UPLOADING,
                                       Recording.node.in_(select(Node.name).where(Node.expires_at < db_now())))))
    return lifecycle.reclaim_uploads(db, ids)


def load_job(db: Database, recording_id: int) -> Job | None:
    with db.session() as s:
        r = s.get(Recording, recording_id)
        if r is None:
            return None
        room = s.execute(select(Room.drive_folder, Room.drive_account).where(Room.name == r.room_name)).first()
        folder, account = (room[0], room[1]) if room is not None else (None, None)
        return Job(
            r.id, r.camera_id, r.room_name, r.camera_name, r.slot_start, r.local_path, r.size, r.md5,
            r.upload_session_uri, r.bytes_confirmed or 0, r.attempts or 0, r.destination, folder,
            r.start_time, r.remote_name, account or DEFAULT_DRIVE_ACCOUNT,
        )


def _update(db: Database, recording_id: int, **values: object) -> bool:
    """Facts of a claimed row (its status stays): only while it is still uploading."""
    with db.session() as s:
        q = update(Recording).where(Recording.id == recording_id, Recording.status == UPLOADING)
        return bool(rows_changed(s, q.values(**values).execution_options(synchronize_session=False)))


def save_progress(db: Database, recording_id: int, session_uri: str | None, offset: int, lease_s: float) -> bool:
    """Persist the session URI and the offset the server confirmed (after every chunk), renewing the lease."""
    return _update(
        db, recording_id, upload_session_uri=session_uri, bytes_confirmed=offset,
        next_attempt_at=utcnow() + timedelta(seconds=lease_s),
    )


def renew_leases(db: Database, ids: list[int], lease_s: float) -> None:
    if not ids:
        return
    with db.session() as s:
        s.execute(
            update(Recording)
            .where(Recording.id.in_(ids), Recording.status == UPLOADING)
            .values(next_attempt_at=utcnow() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )


def next_due(db: Database, node: str | None = None) -> datetime | None:
    """When the earliest waiting row (of `node`) becomes eligible (for the workers' sleep), or None."""
    with db.session() as s:
        return s.scalar(
            select(func.min(Recording.next_attempt_at)).where(
                Recording.status.in_([READY, UPLOADING]), Recording.next_attempt_at.is_not(None), _mine(node)
            )
        )


def totals(db: Database, node: str | None = None) -> tuple[int, int]:
    """(files, bytes still to send) of the queue (of `node`, else every node's): ready + uploading rows."""
    with db.session() as s:
        files, size, sent = s.execute(
            select(func.count(Recording.id), func.coalesce(func.sum(Recording.size), 0),
                   func.coalesce(func.sum(Recording.bytes_confirmed), 0))
            .where(Recording.status.in_([READY, UPLOADING]), _mine(node))
        ).one()
        return int(files or 0), max(int(size or 0) - int(sent or 0), 0)
