"""What placement hands out: units. A unit is one camera, or a room with a sound source as a whole.

A room's sound source is muxed into its cameras' files on the node that records them, so such a room
and all its cameras are one unit (`room:<id>`); every other camera is its own unit (`camera:<id>`).
Only cameras that should record (enabled, desired state `recording`) are in a unit: a stopped camera
needs nobody.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nvr_console.core.db.models import Camera, DesiredState, Room

CAMERA_PREFIX = "camera:"
ROOM_PREFIX = "room:"


@dataclass(frozen=True)
class Unit:
    key: str  # "camera:<id>" or "room:<id>"
    room_id: int
    camera_ids: tuple[int, ...]
    pinned_node: str | None = None

    @property
    def weight(self) -> int:
        """How many cameras it counts for against a node's load and `node.max_cameras`."""
        return max(1, len(self.camera_ids))

    @property
    def camera_id(self) -> int | None:
        return int(self.key[len(CAMERA_PREFIX):]) if self.key.startswith(CAMERA_PREFIX) else None

    @property
    def is_room(self) -> bool:
        return self.key.startswith(ROOM_PREFIX)


@dataclass(frozen=True)
class CameraRow:
    """What unit grouping needs to know about one camera (plain data, from one query)."""

    camera_id: int
    room_id: int
    wanted: bool
    pinned_node: str | None
    room_pinned_node: str | None
    room_has_sound: bool


def camera_unit(camera_id: int) -> str:
    return f"{CAMERA_PREFIX}{camera_id}"


def room_unit(room_id: int) -> str:
    return f"{ROOM_PREFIX}{room_id}"


def group(cameras: Iterable[CameraRow]) -> list[Unit]:
    """The units of the cameras that should record, ordered by key (every node orders them alike)."""
    rooms: dict[int, list[CameraRow]] = {}
    units: list[Unit] = []
    for cam in cameras:
        if not cam.wanted:
            continue
        if cam.room_has_sound:
            rooms.setdefault(cam.room_id, []).append(cam)
        else:
            units.append(Unit(camera_unit(cam.camera_id), cam.room_id, (cam.camera_id,),
                              cam.pinned_node or cam.room_pinned_node))
    for room_id, cams in rooms.items():
        ids = tuple(sorted(c.camera_id for c in cams))
        # The room's own pin, else one its cameras agree on (the first by id).
        pin = cams[0].room_pinned_node or next((c.pinned_node for c in sorted(cams, key=lambda c: c.camera_id)
                                                if c.pinned_node), None)
        units.append(Unit(room_unit(room_id), room_id, ids, pin))
    return sorted(units, key=lambda u: u.key)


def camera_rows_in(s: Session) -> list[CameraRow]:
    rows = s.execute(
        select(Camera.id, Camera.room_id, Camera.enabled, Camera.desired_state, Camera.pinned_node,
               Room.pinned_node, Room.sound_source_url)
        .join(Room, Camera.room_id == Room.id)
    ).all()
    return [CameraRow(cid, rid, bool(enabled) and desired == DesiredState.RECORDING.value, pin, room_pin,
                      bool(sound)) for cid, rid, enabled, desired, pin, room_pin, sound in rows]
