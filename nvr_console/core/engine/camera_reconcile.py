"""Camera reconcile: bring the engine's recorders in line with the database and the recording window.

What each camera should be doing lives in the database (enabled, desired_state); the engine reads it every
2 s (at once when the cheap CatalogWatch fingerprint changes) and:
- `recorded_here()` decides which cameras this engine records (the fleet's leases);
- `plan()` turns that read into recorder specs and wishes (a pure function);
- `CameraReconciler.apply()` starts, stops, restarts (an edited URL or name) and retires recorders to match,
  through the RecorderSet that owns them.
Everything here runs on the engine thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Set
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import catalog
from nvr_console.core.catalog import CameraInfo, RoomInfo
from nvr_console.core.db.models import Camera, DesiredState, Room
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.fleet.catalog_cache import CatalogMemory
from nvr_console.core.fleet.local_cache import cache_dir
from nvr_console.core.recording.recorder import Recorder, RecorderConfig, RecorderSpec
from nvr_console.core.recording.segment_names import camera_dir, sound_dir
from nvr_console.core.status import CameraState, CameraStatus

RECONCILE_EVERY = 2  # engine ticks (1 s): a change made by another process takes effect within 5 s
FULL_RECONCILE_EVERY = 30  # ticks: the full read even when the cheap fingerprint says nothing changed


def recorded_here(cam: CameraInfo, records: Callable[[int], bool] | None = None) -> bool:
    """Whether this engine records the camera: this node holds its lease, or is taking it over in a handover
    (`records`, from the fleet's orders; None: every camera). A camera another node records is stopped here
    quietly (it is not removed)."""
    return records is None or records(cam.id)


def wants_recording(cam: CameraInfo) -> bool:
    """The operator wants it recorded (enabled and not stopped); the recording window may still say no."""
    return cam.enabled and cam.desired_state == DesiredState.RECORDING.value


@dataclass(frozen=True)
class CameraPlan:
    spec: RecorderSpec
    enabled: bool
    record: bool  # run its recorder now
    idle: CameraState  # what it shows while no FFmpeg runs: scheduled (wanted, outside the window) or stopped


@dataclass(frozen=True)
class Plan:
    cameras: tuple[CameraPlan, ...]
    sounds: tuple[tuple[RecorderSpec, bool], ...]  # each room's sound source, and whether a camera there records
    rooms_with_sound: frozenset[str]
    existing: frozenset[int]  # every camera id in the database: a recorder of any other was removed

    @property
    def keys(self) -> frozenset[str]:
        return frozenset([c.spec.key for c in self.cameras] + [spec.key for spec, _ in self.sounds])


Window = bool | Callable[[int], bool]  # inside the recording window: for every room, or per room id


def in_window_of(window: Window, room_id: int) -> bool:
    return window(room_id) if callable(window) else window


def plan(cams: list[CameraInfo], rooms: list[RoomInfo], root: Path, in_window: Window,
         leaving: Set[int] = frozenset(), records: Callable[[int], bool] | None = None) -> Plan:
    """Specs and wishes for every recorder this engine should have. `in_window`: the recording window, for every
    room or per room (a room recording by its timetable is inside only around its lectures). `leaving`: cameras
    being removed through this engine (their recorder stops; their row goes once their last segment is
    finalized). `records`: see recorded_here."""
    planned: list[CameraPlan] = []
    recording_rooms: set[int] = set()
    for cam in cams:
        if cam.id in leaving:
            continue
        spec = RecorderSpec(f"camera:{cam.id}", cam.id, cam.room_id, cam.room, cam.name, cam.stream_url,
                            cam.rtsp_transport, camera_dir(root, cam.room, cam.name))
        want = wants_recording(cam)
        here = recorded_here(cam, records)
        inside = in_window_of(in_window, cam.room_id)
        if want and inside and here:
            recording_rooms.add(cam.room_id)
        # Wanted outside its window is "scheduled" whichever node will record it, as request_status says: a camera
        # not placed yet (just added) showed "stopped" until the fleet's next turn.
        planned.append(CameraPlan(spec, cam.enabled, want and inside and here,
                                  CameraState.SCHEDULED if want and not inside else CameraState.STOPPED))
    sounds = tuple(
        (RecorderSpec(f"sound:{room.id}", None, room.id, room.name, "sound source", room.sound_source_url, "tcp",
                      sound_dir(root, room.name), sound_only=True), room.id in recording_rooms)
        for room in rooms if room.sound_source_url
    )
    return Plan(tuple(planned), sounds, frozenset(r.name for r in rooms if r.sound_source_url),
                frozenset(c.id for c in cams))


class RecorderSet:
    """The engine's recorders by key, and those still stopping after an edit or a removal (`retiring`): a
    camera's successor starts only once its predecessor's FFmpeg is gone. Engine thread."""

    def __init__(self, parent: QObject, wire: Callable[[Recorder], None]) -> None:
        self._parent = parent
        self._wire = wire  # connects a new recorder's signals
        self.config: RecorderConfig | None = None
        self.active: dict[str, Recorder] = {}
        self.retiring: dict[str, Recorder] = {}
        self._last_exit: dict[str, float] = {}

    def all(self) -> list[Recorder]:
        return list(self.active.values()) + list(self.retiring.values())

    def running_camera_ids(self) -> set[int]:
        return {r.spec.camera_id for r in self.active.values() if r.running and r.spec.camera_id is not None}

    def any_running(self) -> bool:
        return any(r.running for r in self.all())

    def holds(self, key: str) -> bool:
        """A recorder of this key exists, active or still stopping."""
        return key in self.active or key in self.retiring

    def sound_state(self, room: str) -> tuple[CameraState, str] | None:
        """The room's sound source recorder as (state, last error), or None when it has none."""
        rec = next((r for r in self.active.values() if r.spec.sound_only and r.spec.room == room), None)
        return (rec.state, rec.last_error) if rec is not None else None

    def ensure(self, spec: RecorderSpec) -> Recorder | None:
        """The recorder for `spec`, made if needed; None while the previous one of its key is still stopping."""
        rec = self.active.get(spec.key)
        if rec is not None and rec.spec != spec:
            # URL, name or room changed: stop the old recorder, start a new one once it is gone.
            self.retire(self.active.pop(spec.key))
            rec = None
        if spec.key in self.retiring:
            return None
        if rec is None:
            assert self.config is not None
            rec = Recorder(spec, self.config, self._parent, last_exit=self._last_exit.get(spec.key, 0.0))
            self._wire(rec)
            self.active[spec.key] = rec
        return rec

    def retire(self, rec: Recorder) -> None:
        """Stop a recorder no longer wanted under its spec (already out of `active`)."""
        if rec.running:
            self.retiring[rec.spec.key] = rec
            rec.stop()
        else:
            rec.stop()
            self._forget(rec)

    def retire_all(self) -> None:
        for key in list(self.active):
            self.retire(self.active.pop(key))

    def stopped(self, key: str) -> bool:
        """A recorder's FFmpeg is gone: forget it if it was retiring; True then (its successor may start)."""
        rec = self.retiring.pop(key, None)
        if rec is None:
            return False
        self._forget(rec)
        return True

    def dispose_all(self) -> None:
        for rec in self.all():
            rec.dispose()

    def _forget(self, rec: Recorder) -> None:
        self._last_exit[rec.spec.key] = rec.last_exit
        rec.dispose()
        rec.deleteLater()


class CameraReconciler:
    """Applies plans to the RecorderSet and remembers what each camera shows without FFmpeg. Engine thread."""

    def __init__(self, recorders: RecorderSet, show: Callable[[CameraStatus], None]) -> None:
        self.recorders = recorders
        self._show = show  # a recorder's status, for the engine to decorate and publish
        self._idle: dict[int, CameraState] = {}
        self._enabled: dict[int, bool] = {}
        self.rooms_with_sound: frozenset[str] = frozenset()
        self.memory = CatalogMemory()  # the catalog read last, also on disk beside the recordings

    def reconcile(self, db: Database, root: Path, in_window: Window, leaving: Set[int],
                  records: Callable[[int], bool] | None = None) -> list[RecorderSpec]:
        """Read cameras and rooms, plan and apply. Returns the specs of recorders whose camera is no longer in
        the database. `records`: see recorded_here. While the database cannot be read, what this node records
        goes on from the catalog read last (or kept on disk, after a start without the database) and nothing new
        starts; then DatabaseUnavailable or SQLAlchemyError is raised for the engine to report."""
        try:
            cams, rooms = catalog.list_cameras(db), catalog.list_rooms(db)
        except (DatabaseUnavailable, SQLAlchemyError):
            if self.memory.last is not None:
                self.reconcile_from(*self.memory.last, root, in_window, leaving, records)
            raise
        self.memory.remember(cache_dir(root), cams, rooms)
        return self.reconcile_from(cams, rooms, root, in_window, leaving, records)

    def reconcile_from(self, cams: list[CameraInfo], rooms: list[RoomInfo], root: Path, in_window: Window,
                       leaving: Set[int], records: Callable[[int], bool] | None = None) -> list[RecorderSpec]:
        """Plan and apply from a catalog already read (or the copy kept on disk while the database is down)."""
        p = plan(cams, rooms, root, in_window, leaving, records)
        self.rooms_with_sound = p.rooms_with_sound
        return [rec.spec for rec in self.apply(p)]

    def apply(self, p: Plan) -> list[Recorder]:
        """Start, stop and retire recorders as planned. Returns the retired recorders of cameras no longer in
        the database (removed by another console or the CLI), for the engine to announce."""
        for cam in p.cameras:
            cid = cam.spec.camera_id
            assert cid is not None
            self._enabled[cid] = cam.enabled
            self._idle[cid] = cam.idle
            rec = self.recorders.ensure(cam.spec)
            if rec is None:
                continue  # the previous recorder for this camera is still stopping
            if cam.record:
                rec.start()
            elif rec.wanted or rec.running:
                rec.stop()
            else:
                self._show(rec.status())
        for spec, record in p.sounds:
            rec = self.recorders.ensure(spec)
            if rec is None:
                continue
            if record:
                rec.start()
            elif rec.wanted or rec.running:
                rec.stop()
        removed: list[Recorder] = []
        for key in [k for k in self.recorders.active if k not in p.keys]:
            rec = self.recorders.active.pop(key)
            self.recorders.retire(rec)
            cid = rec.spec.camera_id
            if cid is not None and cid not in p.existing:
                self._idle.pop(cid, None)
                removed.append(rec)
        return removed

    def decorate(self, status: CameraStatus) -> CameraStatus | None:
        """A recorder's status as the console shows it (its idle state when stopped, enabled or not); None for
        sound sources and recorders on their way out."""
        rec = self.recorders.active.get(f"camera:{status.camera_id}")
        if rec is None or rec.spec.sound_only:
            return None
        if status.state is CameraState.STOPPED and not rec.running:
            status = replace(status, state=self._idle.get(status.camera_id, CameraState.STOPPED))
        return replace(status, enabled=self._enabled.get(status.camera_id, True))

    def statuses(self, cams: list[CameraInfo] | None, in_window: Window, starting_soon: bool,
                 previous: Callable[[int], CameraStatus | None]) -> list[CameraStatus]:
        """A status for every camera, for a console that just connected: its recorder's, or the idle one of a
        camera with no live recorder (stopped, scheduled, just added, or whose old recorder is still finishing
        after an edit), so a late console never shows "waiting for engine". `starting_soon`: the engine runs
        (a wanted camera without a recorder yet gets one at the next reconcile, <= 2 s). `cams` None (the
        database is down): the cameras with a recorder only."""
        if cams is None:
            running = (self.decorate(r.status()) for r in list(self.recorders.active.values()))
            return [s for s in running if s is not None]
        out: list[CameraStatus] = []
        for cam in cams:
            rec = self.recorders.active.get(f"camera:{cam.id}")
            shown = self.decorate(rec.status()) if rec is not None else None
            if shown is not None:
                out.append(shown)
                continue
            want = wants_recording(cam)
            inside = in_window_of(in_window, cam.room_id)
            if self.recorders.holds(f"camera:{cam.id}"):
                state = CameraState.STOPPING  # edited: the old recorder finishes its file, then the new one starts
            elif want and inside and starting_soon:
                state = CameraState.STARTING
            elif want and not inside:
                state = CameraState.SCHEDULED
            else:
                state = CameraState.STOPPED
            last = previous(cam.id)
            since = last.since if last is not None and last.state is state else time.time()
            out.append(CameraStatus(cam.id, cam.room, cam.name, state, since, enabled=cam.enabled))
        return out


class CatalogWatch:
    """Whether rooms/cameras (or the recording window) may have changed since the last look.

    The full reconcile reads every camera and room through the ORM: ~8 ms per poll with 8 cameras, a third
    of the engine's steady CPU (bench/rotation.py). Every row's id and updated_at (every edit sets it; adds
    and deletes change the ids) without the ORM notice the same changes at a fraction of that, even when
    another machine's clock is behind (a max(updated_at) would miss its edits).
    """

    def __init__(self) -> None:
        self._key: tuple[frozenset[tuple[object, ...]], object] | None = None

    def due(self, ticks: int, db: Database, in_window: object) -> bool:
        """Whether the engine's tick number `ticks` should reconcile: every RECONCILE_EVERY ticks when something
        may have changed, and every FULL_RECONCILE_EVERY ticks anyway."""
        return ticks % RECONCILE_EVERY == 0 and (ticks % FULL_RECONCILE_EVERY == 0 or self.changed(db, in_window))

    def changed(self, db: Database, in_window: object) -> bool:
        """`in_window`: anything comparable that changes when the recording window opens or closes somewhere."""
        try:
            with db.engine.connect() as conn:
                rows = conn.execute(select(Camera.id, Camera.updated_at).union_all(
                    select(-Room.id, Room.updated_at))).all()
        except SQLAlchemyError:
            return True  # let the reconcile meet the error and report it
        key = (frozenset(tuple(r) for r in rows), in_window)
        changed = key != self._key
        self._key = key
        return changed
