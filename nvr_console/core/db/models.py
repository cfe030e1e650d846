"""The data model. Names are kept stable: the CLI's --json output and the console read them.

Recordings copy their room and camera names, so a file keeps its Drive name and stays in the upload
queue even when its camera is renamed or removed (nothing about an upload lives only elsewhere).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import LONGTEXT
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nvr_console.core.db.types import UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class DesiredState(enum.StrEnum):
    RECORDING = "recording"
    STOPPED = "stopped"


class Transport(enum.StrEnum):
    TCP = "tcp"
    UDP = "udp"


class RecordingStatus(enum.StrEnum):
    RECORDING = "recording"  # FFmpeg is writing it
    FINALIZING = "finalizing"  # complete segment being probed/remuxed/muxed with room audio
    READY = "ready"  # final file on disk, waiting in the upload queue
    UPLOADING = "uploading"
    UPLOADED = "uploaded"  # verified at the destination (size + MD5)
    FAILED = "failed"  # unusable (zero-length, unreadable) or upload failed for good; reason in last_error
    LOST = "lost"  # the local file vanished before it was uploaded


# Statuses whose local file must be kept: anything not yet verified at the destination.
UNVERIFIED = frozenset(s for s in RecordingStatus if s is not RecordingStatus.UPLOADED)


class Room(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # Normalised Drive folder id (a pasted folder URL is reduced to its id); None = the root folder.
    drive_folder: Mapped[str | None] = mapped_column(String(256), default=None)
    sound_source_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Placement preference: the node that should record this room's cameras while it is alive.
    pinned_node: Mapped[str | None] = mapped_column(String(128), default=None)
    # The Google account (drive.accounts) whose token uploads this room's files; None = "default".
    drive_account: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    cameras: Mapped[list[Camera]] = relationship(back_populates="room", order_by="Camera.name")


class Camera(Base):
    __tablename__ = "cameras"
    __table_args__ = (UniqueConstraint("room_id", "name", name="uq_cameras_room_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    stream_url: Mapped[str] = mapped_column(String(2048))
    rtsp_transport: Mapped[str] = mapped_column(String(8), default=Transport.TCP.value)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the camera should be doing; engines reconcile toward it (several engines may share a DB).
    desired_state: Mapped[str] = mapped_column(String(16), default=DesiredState.RECORDING.value)
    # Placement preference (overrides the room's): the node that should record it while that node is alive.
    pinned_node: Mapped[str | None] = mapped_column(String(128), default=None)
    # A sub-stream the live wall plays instead of stream_url (cheaper to decode); None: the wall plays stream_url.
    live_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    room: Mapped[Room] = relationship(back_populates="cameras")


class Recording(Base):
    __tablename__ = "recordings"
    __table_args__ = (
        # The upload queue: WHERE status = 'ready' ORDER BY slot_start.
        Index("ix_recordings_status_slot", "status", "slot_start"),
        # What is on screen now: the latest recording per camera.
        Index("ix_recordings_camera_slot", "camera_id", "slot_start"),
        # Each camera's latest uploaded file on a control station (live_view): the newest id per camera, read
        # from the index alone (a loose index scan on MariaDB), not by grouping every uploaded row.
        Index("ix_recordings_camera_status_id", "camera_id", "status", "id"),
        # One row per file of a node: a finalizer that runs twice (crash, recovery) updates, never duplicates;
        # two nodes may use the same recordings folder path on their own disks.
        UniqueConstraint("node", "local_path_key", name="uq_recordings_node_local_path_key"),
        # A node's own queue, recovery and retention: WHERE node = :me AND status = ...
        Index("ix_recordings_node_status", "node", "status"),
        # Two different files never share a name at the destination, whichever node uploads them.
        UniqueConstraint("remote_name_key", name="uq_recordings_remote_name_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    room_name: Mapped[str] = mapped_column(String(128))
    camera_name: Mapped[str] = mapped_column(String(128))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    start_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    end_time: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    local_path: Mapped[str] = mapped_column(String(2048))
    # A short unique key of local_path (MySQL cannot index 2048 utf8mb4 characters).
    local_path_key: Mapped[str] = mapped_column(String(64))
    # The node that recorded it: the file is on that node's disk, and only that node finalizes, uploads and
    # deletes it. '' for rows from before several nodes shared a database (not NULL, so the unique key
    # below holds for them too).
    node: Mapped[str] = mapped_column(String(128), default="", server_default="")
    # The lease token the node held when the piece started (None: held no lease, e.g. a handover standby).
    # A stale token is kept as it is: the piece is real video, recorded during a partition.
    lease_token: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # The file name at the destination, chosen once before the first upload (upload.naming.assign_remote_name).
    remote_name: Mapped[str | None] = mapped_column(String(512), default=None)
    remote_name_key: Mapped[str | None] = mapped_column(String(64), default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    # Stored as the lowercase value in a VARCHAR(16), as before the enum (no CHECK constraint, no migration);
    # changed only through core.recording.lifecycle.
    status: Mapped[RecordingStatus] = mapped_column(
        Enum(RecordingStatus, native_enum=False, length=16, validate_strings=True,
             values_callable=lambda members: [m.value for m in members]),
        default=RecordingStatus.RECORDING)
    # Why the room audio is missing, repairs made, and other non-fatal facts an operator may ask about.
    notes: Mapped[str] = mapped_column(Text, default="")
    # Why the file cannot be trusted (its media says 0.3 s for ten minutes of wall clock and the timestamps could
    # not be repaired); None for a sound file. Not a status: a damaged file still holds its frames, so it is
    # uploaded and kept like any other, and the timeline and `recordings coverage` show it as damaged.
    damaged: Mapped[str | None] = mapped_column(Text, default=None)
    destination: Mapped[str | None] = mapped_column(String(16), default=None)
    drive_file_id: Mapped[str | None] = mapped_column(String(256), default=None)
    drive_folder_id: Mapped[str | None] = mapped_column(String(256), default=None)
    web_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    folder_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    md5: Mapped[str | None] = mapped_column(String(32), default=None)
    upload_session_uri: Mapped[str | None] = mapped_column(Text, default=None)
    bytes_confirmed: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The engine (`host:pid`) that claimed the upload; a restart reclaims its dead predecessor's rows at once.
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    local_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    camera: Mapped[Camera | None] = relationship()


class DriveFolder(Base):
    """Cache of Drive folder ids by path, so lookups survive restarts and never create duplicates."""

    __tablename__ = "drive_folders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "<parent folder id>/<name>", e.g. "1AbC.../2026-11-23"; bounded so MySQL can index it.
    path: Mapped[str] = mapped_column(String(512), unique=True)
    folder_id: Mapped[str] = mapped_column(String(256))
    web_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DriveUsage(Base):
    """Bytes sent to Google Drive per account per Drive day (the Pacific date): the 750 GB/day budget.

    Every node adds to the same row with one `bytes = bytes + n` upsert, so concurrent writers lose nothing.
    """

    __tablename__ = "drive_usage"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CameraLiveStatus(Base):
    """The last state an engine reported for a camera, written at a modest rate.

    Lets `nvr-console status`, monitoring scripts and consoles on other machines see what every
    engine is doing; `node` names the engine (host:pid today, a lease owner when several engines share
    one database).
    """

    __tablename__ = "camera_status"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    node: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    current_file: Mapped[str] = mapped_column(String(2048), default="")
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    bitrate_kbps: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # What the camera sends as the recorder's FFmpeg saw it ("H.264 1280x720 · AAC"): the Stream column.
    stream: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # The writer's lease token: a write carrying an older token than the row's is refused (fencing), so a
    # node that lost the camera never overwrites its new holder's state.
    lease_token: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class EngineStatus(Base):
    """What an engine (node) last said about itself: when it reported, and whether its upload queue is paused.

    The pause lives in the uploader's memory; this row lets `nvr-console status`, `drive status` and consoles on
    other machines say why nothing uploads (quota full, sign-in revoked...) without asking the engine.
    """

    __tablename__ = "engine_status"

    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploads_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    pause_reason: Mapped[str] = mapped_column(Text, default="")
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AlertState(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertMessage(enum.StrEnum):
    """A message an alert owes its channels (the outbox)."""

    FIRING = "firing"
    REPEAT = "repeat"
    RESOLVED = "resolved"


class Alert(Base):
    """One occurrence of a built-in alert rule, from firing to resolved (core.monitoring.alert_store owns it).

    The state lives here, not in memory, so a restart neither repeats nor forgets an alert; `outbox` names the
    message still owed to the channels (written in the same transaction as the state change, cleared once the
    channels have it), so a crash between the two loses no message.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # One open alert per key across every node: a second node raising the same alert loses the insert.
        UniqueConstraint("open_key", name="uq_alerts_open_key"),
        Index("ix_alerts_state_fired", "state", "fired_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(191))  # rule + subject, e.g. "camera_down:camera:12"
    open_key: Mapped[str | None] = mapped_column(String(191), default=None)  # = key while firing, else NULL
    severity: Mapped[str] = mapped_column(String(16))  # warning | critical
    subject: Mapped[str] = mapped_column(String(255))  # what it is about, for people: "A-101 / front"
    summary: Mapped[str] = mapped_column(Text, default="")  # the latest one-line description (masked)
    node: Mapped[str] = mapped_column(String(128))  # the node that evaluated it last
    state: Mapped[str] = mapped_column(String(16), default=AlertState.FIRING.value)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the condition began
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # last firing/repeat owed
    notify_seq: Mapped[int] = mapped_column(Integer, default=0)  # bumped with every message owed
    outbox: Mapped[str | None] = mapped_column(String(16), default=None)  # AlertMessage still to deliver
    delivery_error: Mapped[str] = mapped_column(Text, default="")  # channels that gave up, and why (masked)
    # An operator took it on (who: "user@node", when, an optional note): every console shows it, repeats stop.
    acked_by: Mapped[str | None] = mapped_column(String(255), default=None)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    ack_note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CameraEventKind(enum.StrEnum):
    STATE = "state"  # an engine saw the camera change state (status.CameraState value in `state`)
    COMMAND = "command"  # someone asked for it: `state` is start, stop, enable or disable; `actor` says who
    ENGINE = "engine"  # an engine started or stopped (`state` started/stopped); no camera


class CameraEvent(Base):
    """What happened to a camera and when: the reasons behind coverage gaps (`recordings coverage`, the timeline).

    No foreign key to cameras: events outlive a removed camera (its names are copied, as recordings do), and an
    insert racing a removal must not lose the whole batch. Old rows go after `retention.events`.
    """

    __tablename__ = "camera_events"
    __table_args__ = (
        # A day of one camera's events, and the last one before it.
        Index("ix_camera_events_camera_at", "camera_id", "at"),
        # Retention, and engine events (camera_id NULL) of a day.
        Index("ix_camera_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    camera_id: Mapped[int | None] = mapped_column(Integer, default=None)
    room_name: Mapped[str] = mapped_column(String(128), default="")
    camera_name: Mapped[str] = mapped_column(String(128), default="")
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    # The camera's error as the engine worded it (credentials masked), or what a command or engine event says.
    reason: Mapped[str] = mapped_column(Text, default="")
    # The engine (node) that saw it, or the host a command came from.
    node: Mapped[str] = mapped_column(String(128), default="")
    # Who asked, for commands: `user@host (console)`, `user@host (CLI)`.
    actor: Mapped[str] = mapped_column(String(128), default="")


class NodeRole(enum.StrEnum):
    RECORDER = "recorder"  # holds leases and records
    CONTROL = "control"  # a console that records nothing: reads live state, commands through desired_state


class Node(Base):
    """A node of the fleet: every engine, recorder or control station, registered under `node.name`.

    Times are the database's (db.dbtime.db_now), never a node's clock; a node is alive while
    `expires_at` is in the future. Owned by fleet.registry.
    """

    __tablename__ = "nodes"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default=NodeRole.RECORDER.value)
    # The process running it now (`host:pid`): a restarted node replaces its dead predecessor's row.
    process: Mapped[str] = mapped_column(String(128))
    host: Mapped[str] = mapped_column(String(255), default="")
    version: Mapped[str] = mapped_column(String(32), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_ttl: Mapped[float] = mapped_column(Float)  # always given (registry.register): node.lease_ttl
    max_cameras: Mapped[int] = mapped_column(Integer, default=0)  # 0: no limit
    cameras_held: Mapped[int] = mapped_column(Integer, default=0)
    free_disk: Mapped[int | None] = mapped_column(BigInteger, default=None)
    queue_files: Mapped[int] = mapped_column(Integer, default=0)
    queue_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # `nodes drain NAME`: hand every camera over to other nodes and take no new ones (until it restarts).
    draining: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by a clean stop, cleared when the node registers again: a node that expired without it died.
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class HandoverState(enum.StrEnum):
    REQUESTED = "requested"  # desired_holder should start its recorder
    READY = "ready"  # desired_holder records; the holder stops just after its segment cut at handover_boundary
    READY_NOW = "ready_now"  # the same, but no cut comes soon enough (node.handover_wait): the holder stops at once


class CameraLease(Base):
    """Who records a unit (one camera, or a room with a sound source as one unit). Owned by fleet.leases.

    `token` grows at every change of holder (fencing): anything a node writes carries the token it held.
    `expires_at` is database time.
    """

    __tablename__ = "camera_leases"

    unit: Mapped[str] = mapped_column(String(64), primary_key=True)  # "camera:<id>" or "room:<id>"
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), default=None)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), default=None)
    holder: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    desired_holder: Mapped[str | None] = mapped_column(String(128), default=None)
    handover_state: Mapped[str | None] = mapped_column(String(16), default=None)
    # The segment boundary (wall clock, as FFmpeg cuts it) just after which the holder stops.
    handover_boundary: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


# --- lectures from each room's timetable (core/lectures) ---------------------------------------------------


class RecordMode(enum.StrEnum):
    CONTINUOUS = "continuous"  # every camera records all the time (inside the recording window)
    TIMETABLE = "timetable"  # only from lectures.pre_roll before each lecture to lectures.post_roll after it


class RoomTimetable(Base):
    """A room's calendar and the last good copy of it. Owned by core.lectures.timetable_store.

    The copy (`body`) changes only when a fetch returned a calendar that parsed: a server that is down or
    answers garbage leaves it, and so the lectures, as they were (`error` says why).
    """

    __tablename__ = "room_timetables"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    # An http(s) ICS URL, a caldav+http(s):// collection URL, or a local .ics path; '' = none.
    source: Mapped[str] = mapped_column(String(2048), default="")
    # Events whose LOCATION contains this text (or the room's name when empty) belong to the room.
    location: Mapped[str] = mapped_column(String(255), default="")
    record_mode: Mapped[str] = mapped_column(String(16), default=RecordMode.CONTINUOUS.value)
    # The Drive folder (id) this calendar's lectures go to instead of the room's folder; None = the room's.
    lecture_folder: Mapped[str | None] = mapped_column(String(256), default=None)
    etag: Mapped[str | None] = mapped_column(String(255), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(64), default=None)
    body: Mapped[str | None] = mapped_column(Text().with_variant(LONGTEXT(), "mysql", "mariadb"), default=None)
    body_sha: Mapped[str | None] = mapped_column(String(64), default=None)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # the copy's time
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # the last attempt
    error: Mapped[str] = mapped_column(Text, default="")  # why the last attempt failed ('' = it did not)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LectureState(enum.StrEnum):
    SCHEDULED = "scheduled"
    RECORDING = "recording"
    ASSEMBLING = "assembling"
    DELIVERED = "delivered"
    INCOMPLETE = "incomplete"  # delivered with gaps
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # privacy: lectures.no_record


class Lecture(Base):
    """One occurrence of a timetable event in a room. State changed only by core.lectures.lecture_store."""

    __tablename__ = "lectures"
    __table_args__ = (
        # Two nodes refreshing the same calendar at once: the second insert loses.
        UniqueConstraint("room_id", "uid_key", "recurrence_id", name="uq_lectures_room_uid_recurrence"),
        Index("ix_lectures_state_end", "state", "end"),
        Index("ix_lectures_room_start", "room_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    room_name: Mapped[str] = mapped_column(String(128))
    uid: Mapped[str] = mapped_column(Text)
    uid_key: Mapped[str] = mapped_column(String(64))  # sha256 of uid (MySQL cannot index long text)
    # The occurrence's original start (UTC, ISO) for a recurring event; '' for a single event.
    recurrence_id: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(512), default="")
    organizer: Mapped[str] = mapped_column(String(512), default="")
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=LectureState.SCHEDULED.value)
    private_reason: Mapped[str] = mapped_column(String(255), default="")  # why it is skipped
    # The event's CATEGORIES, comma-separated as written (lectures.category_folders picks a folder by them).
    categories: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    coverage: Mapped[float | None] = mapped_column(Float, default=None)  # the lowest of its cameras, 0..1
    notes: Mapped[str] = mapped_column(Text, default="")
    web_link: Mapped[str | None] = mapped_column(String(1024), default=None)  # the lecture folder
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Bumped by every change of the times: a file assembled for older times is not counted as delivered.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The delivery notice (lectures.notify_organizer): the version whose notice a node claimed (claimed before
    # sending, so it goes out at most once per version even with several nodes; redo bumps the version).
    notice_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notice_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notice_after: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)  # next try (database time)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    notice_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LectureFileState(enum.StrEnum):
    PENDING = "pending"
    ASSEMBLING = "assembling"  # claimed by `claimed_by` until `claim_expires` (database time)
    DONE = "done"  # verified at the destination
    EMPTY = "empty"  # nothing of the lecture was recorded by this camera


class LectureFile(Base):
    """One camera's file of a lecture: the unit a node claims, assembles and uploads."""

    __tablename__ = "lecture_files"
    __table_args__ = (UniqueConstraint("lecture_id", "camera_id", name="uq_lecture_files_lecture_camera"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"), default=None)
    camera_name: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default=LectureFileState.PENDING.value)
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claim_expires: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    claim_token: Mapped[int] = mapped_column(Integer, default=0)  # bumped by every claim (fencing)
    lecture_version: Mapped[int] = mapped_column(Integer, default=0)  # the lecture's version it was built for
    name: Mapped[str] = mapped_column(String(512), default="")
    coverage: Mapped[float | None] = mapped_column(Float, default=None)
    gaps: Mapped[str] = mapped_column(Text, default="")  # one gap a line, with its reason
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    md5: Mapped[str | None] = mapped_column(String(32), default=None)
    destination: Mapped[str | None] = mapped_column(String(16), default=None)
    drive_file_id: Mapped[str | None] = mapped_column(String(256), default=None)
    web_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    folder_link: Mapped[str | None] = mapped_column(String(1024), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The claimant's Drive upload session (URI, bytes confirmed, the file's size): a node taking the file over
    # resumes it when the file it builds has that size (a wrong guess fails Drive's MD5 check and starts over).
    upload_session_uri: Mapped[str | None] = mapped_column(Text, default=None)
    upload_offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    upload_size: Mapped[int | None] = mapped_column(BigInteger, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
