"""Rooms and cameras: validated create/edit/remove, shared by the CLI, the console and the engine.

Returns plain frozen dataclasses, never ORM objects, so callers on other threads hold no session.
"""

from __future__ import annotations

import enum
import hashlib
import shlex
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias

from sqlalchemy import ColumnElement, Select, Subquery, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT
from nvr_console.core.db.models import Camera, DesiredState, Recording, RecordingStatus, Room, Transport
from nvr_console.core.db.session import Database
from nvr_console.core.events import store as event_store
from nvr_console.core.events.actor import actor_name
from nvr_console.core.events.store import DISABLE, ENABLE, REMOVE, START, STOP
from nvr_console.core.folder_names import folder_key, name_problem
from nvr_console.core.status import UploadProgress, UploadState
from nvr_console.core.stream_url import (
    InvalidInput,
    parse_drive_folder,
    validate_sound_source,
    validate_stream_url,
)
from nvr_console.core.text.close_matches import close_matches
from nvr_console.core.text.masking import mask_url


class NotFound(InvalidInput):
    """A room or camera named by the operator does not exist."""


class Unset(enum.Enum):
    """The type of UNSET: "leave this field as it is" where None means "clear it"."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET
Keep: TypeAlias = Literal[Unset.UNSET]  # the type of a parameter that UNSET may leave alone


@dataclass(frozen=True)
class RoomInfo:
    id: int
    name: str
    drive_folder: str | None
    sound_source_url: str | None
    notes: str
    camera_count: int
    pinned_node: str | None = None  # placement: the node that should record this room while it can
    drive_account: str = DEFAULT_DRIVE_ACCOUNT  # the Google account its files upload with (drive.accounts)

    def public(self) -> dict[str, Any]:
        """For --json and screens: the sound source's password masked."""
        d = asdict(self)
        d["sound_source_url"] = mask_url(self.sound_source_url) if self.sound_source_url else None
        return d


@dataclass(frozen=True)
class CameraInfo:
    id: int
    room_id: int
    room: str
    name: str
    stream_url: str
    rtsp_transport: str
    enabled: bool
    desired_state: str
    created_at: datetime
    updated_at: datetime
    pinned_node: str | None = None  # placement: the node that should record this camera while it can
    live_url: str | None = None  # the sub-stream the live wall plays (None: stream_url)

    @property
    def wall_url(self) -> str:
        """What the live wall plays: the sub-stream when the camera has one, else the recorded stream."""
        return self.live_url or self.stream_url

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d["stream_url"] = mask_url(self.stream_url)
        d["live_url"] = mask_url(self.live_url) if self.live_url else None
        d["created_at"] = self.created_at.isoformat()
        d["updated_at"] = self.updated_at.isoformat()
        return d


@dataclass(frozen=True)
class RecordingInfo:
    id: int
    camera_id: int | None
    room: str
    camera: str
    slot_start: datetime
    start_time: datetime | None
    end_time: datetime | None
    local_path: str
    size: int | None
    duration: float | None
    status: str
    drive_file_id: str | None
    drive_folder_id: str | None
    web_link: str | None
    folder_link: str | None
    md5: str | None
    bytes_confirmed: int
    attempts: int
    last_error: str | None
    notes: str
    damaged: str | None = None  # why the file's media cannot be trusted (see recording.duration_check)
    node: str = ""  # the machine that recorded it (and holds the local file)
    remote_name: str | None = None  # its file name on Drive or in the archive (chosen before its first upload)
    destination: str | None = None  # where it was uploaded: drive or local (the archive)

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("slot_start", "start_time", "end_time"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def validate_name(value: str, what: str) -> str:
    """Room and camera names end up in folder and file names: keep them portable, and away from the
    engine's own folders (see folder_names)."""
    name = value.strip()
    problem = name_problem(name)
    if problem is not None:
        shown = repr(name) if len(name) <= 40 else f"{name[:40]!r}..."
        raise InvalidInput(f"{what} name {shown} {problem}")
    return name


def _clash(s: Session, siblings: Select[tuple[int, str]], name: str, exclude_id: int | None = None) -> str | None:
    """The sibling (from a select of id, name) whose folder `name` would share: the same name, or one equal
    on Windows and macOS, which ignore case and tell no composed accent from a decomposed one."""
    key = folder_key(name)
    return next((other for sid, other in s.execute(siblings) if sid != exclude_id and folder_key(other) == key),
                None)


def _clash_message(existing: str, name: str, prefix: str) -> str:
    if existing == name:
        return f"{prefix} {name!r}; pick another name or edit it"
    return (f"{prefix} {existing!r}, and {name!r} would share its folder on Windows and macOS (case and accents "
            "do not count there); pick another name")


def validate_node_name(value: str) -> str:
    """A node name as `node.name` takes it (the node need not have started yet)."""
    name = value.strip()
    if not name or len(name) > 128 or any(ord(c) < 32 for c in name):
        raise InvalidInput(f"node name {value[:40]!r} is empty, too long or has control characters; "
                           "give a name from `nvr-console nodes list`")
    return name


def _transport(value: str) -> str:
    t = value.strip().lower()
    if t not in {x.value for x in Transport}:
        raise InvalidInput(f"transport {value!r} is not supported; expected tcp or udp")
    return t


def path_key(path: str) -> str:
    """Unique, indexable key of a local path (see Recording.local_path_key)."""
    return hashlib.sha256(path.encode("utf-8")).hexdigest()


# --- rooms -------------------------------------------------------------------------------------


def _room_info(s: Session, room: Room) -> RoomInfo:
    count = s.scalar(select(func.count(Camera.id)).where(Camera.room_id == room.id)) or 0
    return RoomInfo(room.id, room.name, room.drive_folder, room.sound_source_url, room.notes, count,
                    room.pinned_node, room.drive_account or DEFAULT_DRIVE_ACCOUNT)


MAX_NAMES_SHOWN = 20  # a not-found message lists at most this many names


def _what_exists(name: str, known: list[str], what: str, lister: str) -> str:
    """The end of a not-found message: the close name if there is one (a typo), else what exists."""
    close = close_matches(name.strip(), known)
    if close:
        return f"did you mean {close[0]!r}?"
    if not known:
        return f"there are no {what}s yet" if what == "room" else f"it has no {what}s yet"
    shown = ", ".join(known[:MAX_NAMES_SHOWN])
    more = f" and {len(known) - MAX_NAMES_SHOWN} more ({lister} shows them all)" if len(known) > MAX_NAMES_SHOWN else ""
    return f"{what}s: {shown}{more}"


def _get_room(s: Session, name: str) -> Room:
    room = s.scalar(select(Room).where(Room.name == name.strip()))
    if room is None:
        known = list(s.scalars(select(Room.name).order_by(Room.name)))
        raise NotFound(f"no room named {name!r}; {_what_exists(name, known, 'room', '`nvr-console rooms list`')}")
    return room


def list_rooms(db: Database) -> list[RoomInfo]:
    with db.session() as s:
        return [_room_info(s, r) for r in s.scalars(select(Room).order_by(Room.name))]


def get_room(db: Database, name: str) -> RoomInfo:
    with db.session() as s:
        return _room_info(s, _get_room(s, name))


def add_room(
    db: Database, name: str, drive_folder: str | None = None, sound_source: str | None = None, notes: str = ""
) -> RoomInfo:
    name = validate_name(name, "room")
    folder = parse_drive_folder(drive_folder) if drive_folder else None
    sound = validate_sound_source(sound_source) if sound_source else None
    with db.session() as s:
        clash = _clash(s, select(Room.id, Room.name), name)
        if clash is not None:
            raise InvalidInput(_clash_message(clash, name, "there is already a room named"))
        room = Room(name=name, drive_folder=folder, sound_source_url=sound, notes=notes)
        s.add(room)
        _flush_unique(s, f"there is already a room named {name!r}; pick another name or edit it")
        return _room_info(s, room)


def edit_room(
    db: Database,
    name: str,
    new_name: str | None = None,
    drive_folder: str | Keep | None = UNSET,
    sound_source: str | Keep | None = UNSET,
    notes: str | None = None,
    pinned_node: str | Keep | None = UNSET,
    drive_account: str | Keep | None = UNSET,
    accounts: tuple[str, ...] | None = None,
) -> RoomInfo:
    """Change what is given; pass None (or '') for drive_folder/sound_source/pinned_node to clear them.
    `drive_account`: the Google account the room's files upload with (None, '' or "default": [drive]'s);
    with `accounts` (the configured ones) an unknown name is refused."""
    with db.session() as s:
        room = _get_room(s, name)
        if new_name is not None:
            new = validate_name(new_name, "room")
            clash = _clash(s, select(Room.id, Room.name), new, exclude_id=room.id)
            if clash is not None:
                raise InvalidInput(_clash_message(clash, new, "there is already a room named"))
            room.name = new
        if drive_folder is not UNSET:
            room.drive_folder = parse_drive_folder(drive_folder) if drive_folder else None
        if sound_source is not UNSET:
            room.sound_source_url = validate_sound_source(sound_source) if sound_source else None
        if notes is not None:
            room.notes = notes
        if pinned_node is not UNSET:
            room.pinned_node = validate_node_name(pinned_node) if pinned_node else None
        if drive_account is not UNSET:
            account = (drive_account or "").strip() or DEFAULT_DRIVE_ACCOUNT
            if accounts is not None and account not in accounts:
                raise InvalidInput(
                    f"no Google account named {account!r} in drive.accounts (configured: {', '.join(accounts)}); "
                    f"add [drive.accounts.{account}] with credentials and token to config.toml first")
            room.drive_account = None if account == DEFAULT_DRIVE_ACCOUNT else account
        _flush_unique(s, f"there is already a room named {room.name!r}; pick another name")
        return _room_info(s, room)


def remove_room(db: Database, name: str, with_cameras: bool = False) -> RoomInfo:
    """Remove a room. Its recordings stay (they carry their names); its cameras go only if asked."""
    with db.session() as s:
        room = _get_room(s, name)
        info = _room_info(s, room)
        cams = list(s.scalars(select(Camera).where(Camera.room_id == room.id)))
        if cams and not with_cameras:
            raise InvalidInput(
                f"room {room.name!r} still has {len(cams)} camera(s) ({', '.join(c.name for c in cams)}); "
                "remove them first or pass --with-cameras"
            )
        for cam in cams:
            s.delete(cam)
        s.flush()
        s.delete(room)
        return info


# --- cameras -----------------------------------------------------------------------------------


def _camera_info(cam: Camera) -> CameraInfo:
    return CameraInfo(
        cam.id, cam.room_id, cam.room.name, cam.name, cam.stream_url, cam.rtsp_transport, cam.enabled,
        cam.desired_state, cam.created_at, cam.updated_at, cam.pinned_node, cam.live_url,
    )


def _get_camera(s: Session, room: str, name: str) -> Camera:
    r = _get_room(s, room)
    cam = s.scalar(select(Camera).where(Camera.room_id == r.id, Camera.name == name.strip()))
    if cam is None:
        known = sorted(c.name for c in r.cameras)
        lister = f"`nvr-console cameras list --room {shlex.quote(r.name)}`"
        raise NotFound(f"room {r.name!r} has no camera named {name!r}; {_what_exists(name, known, 'camera', lister)}")
    return cam


def list_cameras(db: Database, room: str | None = None) -> list[CameraInfo]:
    with db.session() as s:
        q = select(Camera).join(Room).order_by(Room.name, Camera.name)
        if room is not None:
            q = q.where(Camera.room_id == _get_room(s, room).id)
        return [_camera_info(c) for c in s.scalars(q)]


def get_camera(db: Database, room: str, name: str) -> CameraInfo:
    with db.session() as s:
        return _camera_info(_get_camera(s, room, name))


def get_camera_by_id(db: Database, camera_id: int) -> CameraInfo | None:
    with db.session() as s:
        cam = s.get(Camera, camera_id)
        return _camera_info(cam) if cam else None


def add_camera(
    db: Database, room: str, name: str, url: str, transport: str = "tcp", enabled: bool = True
) -> CameraInfo:
    name = validate_name(name, "camera")
    url = validate_stream_url(url, "camera URL")
    transport = _transport(transport)
    with db.session() as s:
        r = _get_room(s, room)
        dup = f"room {r.name!r} already has a camera named {name!r}; pick another name or edit it"
        clash = _clash(s, select(Camera.id, Camera.name).where(Camera.room_id == r.id), name)
        if clash is not None:
            raise InvalidInput(_clash_message(clash, name, f"room {r.name!r} already has a camera named"))
        cam = Camera(room=r, name=name, stream_url=url, rtsp_transport=transport, enabled=enabled,
                     desired_state=DesiredState.RECORDING.value)
        s.add(cam)
        _flush_unique(s, dup)
        return _camera_info(cam)


def edit_camera(
    db: Database,
    room: str,
    name: str,
    new_name: str | None = None,
    url: str | None = None,
    transport: str | None = None,
    new_room: str | None = None,
    pinned_node: str | Keep | None = UNSET,
    live_url: str | Keep | None = UNSET,
) -> CameraInfo:
    """Change what is given; pass None (or '') for pinned_node to clear the pin, for live_url to play the recorded
    stream on the live wall again."""
    with db.session() as s:
        cam = _get_camera(s, room, name)
        target_room = _get_room(s, new_room) if new_room is not None else cam.room
        target_name = validate_name(new_name, "camera") if new_name is not None else cam.name
        # Check before assigning, so autoflush never hits the unique constraint first.
        siblings = select(Camera.id, Camera.name).where(Camera.room_id == target_room.id)
        clash = _clash(s, siblings, target_name, exclude_id=cam.id) if (new_name, new_room) != (None, None) else None
        if clash is not None:
            owner = f"room {target_room.name!r} already has a camera named"
            raise InvalidInput(_clash_message(clash, target_name, owner))
        cam.room, cam.name = target_room, target_name
        if url is not None:
            cam.stream_url = validate_stream_url(url, "camera URL")
        if transport is not None:
            cam.rtsp_transport = _transport(transport)
        if pinned_node is not UNSET:
            cam.pinned_node = validate_node_name(pinned_node) if pinned_node else None
        if live_url is not UNSET:
            cam.live_url = validate_stream_url(live_url, "live URL") if live_url else None
        _flush_unique(s, f"room {cam.room.name!r} already has a camera named {cam.name!r}")
        return _camera_info(cam)


def remove_camera(db: Database, room: str, name: str, actor: str | None = None) -> CameraInfo:
    """Remove a camera. Its recordings (and their place in the upload queue) stay; the removal is stored as a
    command (coverage ends the camera's life there)."""
    with db.session() as s:
        cam = _get_camera(s, room, name)
        info = _camera_info(cam)
        _command(s, cam, REMOVE, actor)
        s.delete(cam)
        return info


def remove_camera_by_id(db: Database, camera_id: int, actor: str | None = None) -> CameraInfo | None:
    """Remove a camera by id (the engine does, once its recorder has stopped); None if it is gone already.
    Its recordings (and their place in the upload queue) stay; the removal is stored as a command."""
    with db.session() as s:
        cam = s.get(Camera, camera_id)
        if cam is None:
            return None
        info = _camera_info(cam)
        _command(s, cam, REMOVE, actor)
        s.delete(cam)
        return info


def set_camera_enabled(db: Database, room: str, name: str, enabled: bool, actor: str | None = None) -> CameraInfo:
    """Enable or disable a camera; the command is stored with who gave it (coverage says why a camera stopped)."""
    with db.session() as s:
        cam = _get_camera(s, room, name)
        cam.enabled = enabled
        _command(s, cam, ENABLE if enabled else DISABLE, actor)
        s.flush()
        return _camera_info(cam)


def set_desired_state(db: Database, camera_id: int, state: DesiredState, actor: str | None = None) -> None:
    """What the camera should be doing; engines reconcile toward it. The command is stored with its actor."""
    with db.session() as s:
        cam = s.get(Camera, camera_id)
        if cam is None:
            raise NotFound(f"camera #{camera_id} no longer exists; it may have been removed by another console")
        cam.desired_state = DesiredState(state).value
        _command(s, cam, START if DesiredState(state) is DesiredState.RECORDING else STOP, actor)


def set_all_desired_state(db: Database, state: DesiredState, actor: str | None = None) -> int:
    with db.session() as s:
        cams = list(s.scalars(select(Camera).where(Camera.enabled.is_(True))))
        for cam in cams:
            cam.desired_state = DesiredState(state).value
            _command(s, cam, START if DesiredState(state) is DesiredState.RECORDING else STOP, actor)
        return len(cams)


def _command(s: Session, cam: Camera, command: str, actor: str | None) -> None:
    room = s.scalar(select(Room.name).where(Room.id == cam.room_id)) or ""
    event_store.add_command(s, cam, room, command, actor or actor_name("unknown"), socket.gethostname(),
                            datetime.now(UTC))


# --- recordings --------------------------------------------------------------------------------


def recording_info(r: Recording) -> RecordingInfo:
    return RecordingInfo(
        r.id, r.camera_id, r.room_name, r.camera_name, r.slot_start, r.start_time, r.end_time, r.local_path,
        r.size, r.duration, r.status, r.drive_file_id, r.drive_folder_id, r.web_link, r.folder_link, r.md5,
        r.bytes_confirmed, r.attempts, r.last_error, r.notes, r.damaged, r.node or "", r.remote_name, r.destination,
    )


def list_recordings(
    db: Database,
    camera: str | None = None,
    room: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> list[RecordingInfo]:
    if status is not None and status not in {s.value for s in RecordingStatus}:
        raise InvalidInput(
            f"status {status!r} is unknown; expected one of {', '.join(s.value for s in RecordingStatus)}"
        )
    with db.session() as s:
        q = select(Recording).order_by(Recording.slot_start.desc(), Recording.id.desc())
        if camera is not None:
            q = q.where(Recording.camera_name == camera)
        if room is not None:
            q = q.where(Recording.room_name == room)
        if status is not None:
            q = q.where(Recording.status == status)
        if limit is not None:
            q = q.limit(limit)
        return [recording_info(r) for r in s.scalars(q)]


# Recording status -> the upload state the console shows for it (files still being written or finalized have
# no upload yet; a lost file has none to show).
_UPLOAD_STATE_OF_STATUS = {
    RecordingStatus.READY: UploadState.QUEUED, RecordingStatus.UPLOADING: UploadState.UPLOADING,
    RecordingStatus.UPLOADED: UploadState.UPLOADED, RecordingStatus.FAILED: UploadState.FAILED,
}


def latest_uploads(db: Database) -> list[UploadProgress]:
    """Each camera's newest file that reached the upload queue, as the engine would report it, carrying the
    folder link of the camera's newest upload that has one: what the console shows before the engine
    reports anything new (after a start, or when it attaches to a running engine)."""
    with db.session() as s:
        def newest(*where: ColumnElement[bool]) -> Subquery:
            return (select(Recording.camera_id, func.max(Recording.id).label("id"))
                    .where(Recording.camera_id.is_not(None), *where).group_by(Recording.camera_id).subquery())

        queued = newest(Recording.status.in_(list(_UPLOAD_STATE_OF_STATUS)))
        linked = newest(Recording.folder_link.is_not(None))
        links = {cid: link for cid, link in s.execute(
            select(Recording.camera_id, Recording.folder_link).join(linked, Recording.id == linked.c.id))}
        out = []
        for r in s.scalars(select(Recording).join(queued, Recording.id == queued.c.id)):
            state = _UPLOAD_STATE_OF_STATUS[RecordingStatus(r.status)]
            size = r.size or 0
            sent = size if state is UploadState.UPLOADED else r.bytes_confirmed if state is UploadState.UPLOADING else 0
            out.append(UploadProgress(
                r.id, r.camera_id, state, sent, size, web_link=r.web_link or "",
                folder_link=r.folder_link or links.get(r.camera_id) or "",
                error=(r.last_error or "") if state is UploadState.FAILED else "",
            ))
        return out


def _flush_unique(s: Session, message: str) -> None:
    """Turn a unique-constraint race with another console into the same clear message."""
    try:
        s.flush()
    except IntegrityError:
        s.rollback()
        raise InvalidInput(message) from None
