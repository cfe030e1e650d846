"""Every camera of every node as a control station shows it, read from the database in a few queries per
refresh whatever the number of cameras (never one per camera).

- one query: cameras, rooms, the live status their holders wrote, their leases and the holders' nodes;
- one query: files being uploaded now (progress), by any node;
- one query: each camera's latest uploaded file (its Drive links).
Times are judged by the database's clock. Any thread; plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from nvr_console.core.db.dbtime import db_now
from nvr_console.core.db.models import Camera, CameraLease, CameraLiveStatus, Node, Recording, RecordingStatus, Room
from nvr_console.core.db.session import Database
from nvr_console.core.fleet.leases import lease_of_camera

# A live row older than this says nothing about now (its writer stopped reporting): the same rule as `status`.
STALE_AFTER_S = 60.0


@dataclass(frozen=True)
class RemoteCamera:
    camera_id: int
    room: str
    camera: str
    enabled: bool
    desired_state: str
    state: str  # the holder's last word; "offline" (holder's node gone), "stale", or "unknown"
    since: datetime | None
    node: str | None  # the lease holder (else whoever last wrote its live status)
    node_online: bool
    lease_expires: datetime | None
    current_file: str
    file_size: int
    bitrate_kbps: float
    last_error: str
    updated_at: datetime | None
    stream: str = ""  # what the camera sends, as its holder's FFmpeg saw it: the Stream column


@dataclass(frozen=True)
class RemoteUpload:
    recording_id: int
    camera_id: int | None
    node: str
    bytes_sent: int
    total: int


@dataclass(frozen=True)
class LiveView:
    now: datetime  # the database's
    cameras: list[RemoteCamera]
    uploads: list[RemoteUpload]
    links: dict[int, tuple[str | None, str | None]]  # camera id -> (latest file's web link, its folder link)


def read_live_view(db: Database) -> LiveView:
    with db.session() as s:
        rows = s.execute(
            select(Camera.id, Room.name, Camera.name, Camera.enabled, Camera.desired_state, CameraLiveStatus,
                   CameraLease.holder, CameraLease.expires_at, Node.expires_at > db_now(), db_now())
            .join(Room, Camera.room_id == Room.id)
            .outerjoin(CameraLiveStatus, CameraLiveStatus.camera_id == Camera.id)
            .outerjoin(CameraLease, lease_of_camera())
            .outerjoin(Node, Node.name == CameraLease.holder)
            .order_by(Room.name, Camera.name)
        ).all()
        now = rows[0][-1] if rows else s.scalar(select(db_now()))
        uploads = [RemoteUpload(rid, cid, node, int(sent or 0), int(size or 0)) for rid, cid, node, sent, size in
                   s.execute(select(Recording.id, Recording.camera_id, Recording.node, Recording.bytes_confirmed,
                                    Recording.size)
                             .where(Recording.status == RecordingStatus.UPLOADING.value))]
        latest = (select(func.max(Recording.id)).where(Recording.status == RecordingStatus.UPLOADED.value,
                                                       Recording.camera_id.is_not(None))
                  .group_by(Recording.camera_id).scalar_subquery())
        links = {cid: (web, folder) for cid, web, folder in s.execute(
            select(Recording.camera_id, Recording.web_link, Recording.folder_link).where(Recording.id.in_(latest)))}
    cameras = []
    for cid, room, name, enabled, desired, live, holder, expires, node_alive, db_time in rows:
        fresh = live is not None and (db_time - live.updated_at).total_seconds() <= STALE_AFTER_S
        if holder is not None and not node_alive:
            state = "offline"  # its node stopped reporting: another node takes the camera once the lease runs out
        elif live is None:
            state = "unknown"
        elif not fresh:
            state = "stale"
        else:
            state = live.state
        cameras.append(RemoteCamera(
            cid, room, name, bool(enabled), desired, state, live.since if live else None,
            holder if holder is not None else (live.node if live else None),
            bool(node_alive) if holder is not None else fresh, expires if holder else None,
            live.current_file if live and fresh else "", live.file_size if live and fresh else 0,
            live.bitrate_kbps if live and fresh else 0.0, live.last_error if live else "",
            live.updated_at if live else None, live.stream if live and fresh else "",
        ))
    assert now is not None
    return LiveView(now, cameras, uploads, links)
