"""Coverage of a day: for each camera, the files it has, the seconds recorded inside the recording window, and
every gap with the reason the engine saw (camera events), for `nvr-console recordings coverage` and the
console's Recordings view.

The reasons come from stored camera events (core.events): the camera's state when the gap began and what
happened during it. In order of what explains a gap best:
- a file that exists but failed or was lost covers it (its own error);
- the camera was unreachable (its error, as the engine worded it), or the disk was full;
- an operator stopped or disabled it (who, from where);
- outside the recording window (the window of the time, as the engine reported it);
- the engine was not running (stopped by someone, or gone without a clean stop: seen when it started again).

Times are aware datetimes (UTC inside); a day is a calendar day in the configured time zone. The recording
window used for "recorded over the window" is the current setting.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select

from nvr_console.core import catalog
from nvr_console.core.config import Settings
from nvr_console.core.db.models import CameraEvent, CameraEventKind, Recording, RecordingStatus
from nvr_console.core.db.session import Database
from nvr_console.core.events.store import (
    DISABLE,
    ENABLE,
    ENGINE_STARTED,
    ENGINE_STOPPED,
    REMOVE,
    STOP,
    Event,
    events_between,
)
from nvr_console.core.recording.errors import FfmpegErrorKind, classify_ffmpeg_error
from nvr_console.core.schedule.boundaries import localize, now_in
from nvr_console.core.schedule.window import RecordingWindow
from nvr_console.core.status import CameraState
from nvr_console.core.stream_url import InvalidInput

MIN_GAP_S = 1.0  # shorter holes are timestamp rounding between consecutive files, not gaps
# A camera stopped this shortly before its engine stopped was stopped by the engine stopping.
ENGINE_STOP_GRACE_S = 60.0
# An engine start this soon after a gap ends explains a gap the old engine never reported (it died).
ENGINE_START_GRACE_S = 30.0
# How far camera events may trail or lead the files they explain.
EVENT_LAG_S = 10.0
# Files that hold media; failed and lost ones explain a gap rather than fill it.
USABLE = frozenset({RecordingStatus.RECORDING.value, RecordingStatus.FINALIZING.value, RecordingStatus.READY.value,
                    RecordingStatus.UPLOADING.value, RecordingStatus.UPLOADED.value})
_FAILING = frozenset({CameraState.STALLED.value, CameraState.RECONNECTING.value, CameraState.FAILED.value})
_STOPPED = frozenset({CameraState.STOPPED.value, CameraState.STOPPING.value})
_FINAL_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})$")


class Cause(enum.StrEnum):
    CAMERA_UNREACHABLE = "camera_unreachable"
    DISK_FULL = "disk_full"
    STOPPED_BY_OPERATOR = "stopped_by_operator"
    OUTSIDE_WINDOW = "outside_window"
    ENGINE_NOT_RUNNING = "engine_not_running"
    CONNECTING = "connecting"
    FILE_FAILED = "file_failed"
    FILE_LOST = "file_lost"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class FileSpan:
    """One recording of the day, as the timeline shows it."""

    recording_id: int
    start: datetime
    end: datetime
    status: str
    size: int | None = None
    duration: float | None = None
    local_path: str = ""
    local_deleted: bool = False
    web_link: str | None = None
    folder_link: str | None = None
    drive_file_id: str | None = None
    destination: str | None = None
    damaged: str | None = None
    notes: str = ""
    last_error: str | None = None
    node: str = ""

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    cause: Cause
    reason: str  # one sentence for the operator

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True)
class Outside:
    """Time of the day outside the camera's life: before it was added, after it was removed, or a day it was
    disabled throughout. No gap, and not counted against its share of the window."""

    start: datetime
    end: datetime
    reason: str  # "camera added at 16:41:50"


@dataclass(frozen=True)
class Life:
    """When the camera existed and was enabled, as the database knows it (None: not within the day)."""

    added: datetime | None = None
    removed: datetime | None = None
    off_all_day: str = ""  # why the whole day is outside its life (disabled before it and throughout)


@dataclass(frozen=True)
class CameraCoverage:
    camera_id: int | None
    room: str
    camera: str
    day_start: datetime
    day_end: datetime
    window: tuple[tuple[datetime, datetime], ...]  # the recording window's spans of the day (up to now)
    files: tuple[FileSpan, ...]
    gaps: tuple[Gap, ...]
    recorded_seconds: float  # inside the window
    window_seconds: float
    damaged_files: int = field(default=0)
    until: datetime | None = None  # the day is known up to here (now, for today); None: the whole day
    outside: tuple[Outside, ...] = ()  # outside the camera's life (no gaps there; not in window_seconds)

    @property
    def ratio(self) -> float | None:
        return self.recorded_seconds / self.window_seconds if self.window_seconds else None

    def public(self, zone: ZoneInfo | None) -> dict[str, Any]:
        """For --json: times in the configured zone, seconds as numbers."""
        def t(d: datetime) -> str:
            return (d.astimezone(zone) if zone else d.astimezone()).isoformat(timespec="seconds")

        return {
            "room": self.room, "camera": self.camera, "camera_id": self.camera_id,
            "day_start": t(self.day_start), "day_end": t(self.day_end),
            "window": [[t(a), t(b)] for a, b in self.window],
            "window_seconds": round(self.window_seconds, 3), "recorded_seconds": round(self.recorded_seconds, 3),
            "damaged_files": self.damaged_files,
            "files": [{"id": f.recording_id, "start": t(f.start), "end": t(f.end), "status": f.status,
                       "damaged": f.damaged, "size": f.size, "duration": f.duration, "local_path": f.local_path,
                       "web_link": f.web_link} for f in self.files],
            "gaps": [{"start": t(g.start), "end": t(g.end), "seconds": round(g.seconds, 3), "cause": g.cause.value,
                      "reason": g.reason} for g in self.gaps],
            "outside_life": [{"start": t(o.start), "end": t(o.end), "reason": o.reason} for o in self.outside],
        }


# --- interval arithmetic on epoch seconds ----------------------------------------------------------------------

Interval = tuple[float, float]


def _union(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _subtract(spans: Sequence[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """`spans` minus `holes` (both sorted and disjoint)."""
    out: list[Interval] = []
    j = 0
    for a, b in spans:
        cur = a
        while j < len(holes) and holes[j][1] <= cur:
            j += 1
        k = j
        while k < len(holes) and holes[k][0] < b:
            if holes[k][0] > cur:
                out.append((cur, holes[k][0]))
            cur = max(cur, holes[k][1])
            k += 1
        if cur < b:
            out.append((cur, b))
    return out


def _length(spans: Iterable[Interval]) -> float:
    return sum(b - a for a, b in spans)


def _intersect(spans: Sequence[Interval], others: Sequence[Interval]) -> list[Interval]:
    return _subtract(spans, _subtract(spans, others))


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- the day ---------------------------------------------------------------------------------------------------


def day_bounds(day: date, zone: ZoneInfo | None) -> tuple[datetime, datetime]:
    """Local midnight to local midnight (23 or 25 hours on a DST change), as aware UTC datetimes."""
    start = localize(datetime.combine(day, time(0)), zone)
    end = localize(datetime.combine(day + timedelta(days=1), time(0)), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def window_spans(window: RecordingWindow, start: datetime, end: datetime, zone: ZoneInfo | None) -> list[Interval]:
    """The parts of [start, end) inside the recording window."""
    if window.always:
        return [(start.timestamp(), end.timestamp())]
    out: list[Interval] = []
    cur = start.astimezone(zone) if zone else start.astimezone()
    stop = end.timestamp()
    inside = window.contains(cur)
    while cur.timestamp() < stop:
        nxt = window.next_change(cur)
        upto = min(nxt.timestamp(), stop) if nxt is not None else stop
        if inside:
            out.append((cur.timestamp(), upto))
        if nxt is None:
            break
        cur, inside = nxt, not inside
    return _union(out)


# --- reasons from events ---------------------------------------------------------------------------------------


def _machine(node: str) -> str:
    """`host:pid` -> host (a restarted engine is the same machine); other node names as they are."""
    host, _, pid = node.rpartition(":")
    return host if host and pid.isdigit() else node


@dataclass(frozen=True)
class _Change:
    at: float
    cause: Cause | None  # None: the engine said the camera was recording
    reason: str


def _failing_cause(reason: str) -> tuple[Cause, str]:
    kind, _ = classify_ffmpeg_error(reason) if reason else (FfmpegErrorKind.UNKNOWN, "")
    if kind is FfmpegErrorKind.DISK_FULL:
        return Cause.DISK_FULL, f"disk full: {reason}"
    return Cause.CAMERA_UNREACHABLE, f"camera unreachable: {reason or 'no error given'}"


def _stopped_by(e: Event) -> str:
    verb = "disabled" if e.state == DISABLE else "stopped"
    return f"camera {verb} by {e.actor or 'an operator'}"


def _engine_stopped(e: Event) -> str:
    who = f" by {e.actor}" if e.actor else ""
    return f"engine not running (stopped{who} on {e.node})"


def reason_changes(events: Sequence[Event], camera_id: int | None) -> tuple[list[_Change], list[tuple[float, str]]]:
    """What the camera's events say, as change points in time, and the engine starts on its machine(s)."""
    mine = [e for e in events if e.camera_id == camera_id and e.kind is not CameraEventKind.ENGINE]
    machines = {_machine(e.node) for e in mine if e.kind is CameraEventKind.STATE and e.node}
    engine = [e for e in events if e.kind is CameraEventKind.ENGINE and (not machines or _machine(e.node) in machines)]
    changes: list[_Change] = []
    stop_cmd: Event | None = None
    merged = sorted(mine + engine, key=lambda e: e.at)
    for i, e in enumerate(merged):
        at = e.at.timestamp()
        if e.kind is CameraEventKind.COMMAND:
            if e.state in (STOP, DISABLE):
                stop_cmd = e
                changes.append(_Change(at, Cause.STOPPED_BY_OPERATOR, _stopped_by(e)))
            else:
                stop_cmd = None
        elif e.kind is CameraEventKind.ENGINE:
            if e.state == ENGINE_STOPPED:
                changes.append(_Change(at, Cause.ENGINE_NOT_RUNNING, _engine_stopped(e)))
        elif e.state == CameraState.RECORDING.value:
            changes.append(_Change(at, None, ""))
        elif e.state == CameraState.STARTING.value:
            changes.append(_Change(at, Cause.CONNECTING, "the camera was connecting (waiting for its stream)"))
        elif e.state in _FAILING:
            cause, reason = _failing_cause(e.reason)
            changes.append(_Change(at, cause, reason))
        elif e.state == CameraState.SCHEDULED.value:
            changes.append(_Change(at, Cause.OUTSIDE_WINDOW, "outside the recording window"))
        elif e.state in (CameraState.STOPPED.value, CameraState.STOPPING.value):
            if stop_cmd is not None:
                changes.append(_Change(at, Cause.STOPPED_BY_OPERATOR, _stopped_by(stop_cmd)))
                continue
            # Stopped with no command: the engine stopping (if it did shortly after), else unexplained.
            nxt = next((n for n in merged[i + 1:]
                        if n.kind is CameraEventKind.ENGINE or (n.camera_id == camera_id and n.state not in _STOPPED)),
                       None)
            if (nxt is not None and nxt.kind is CameraEventKind.ENGINE and nxt.state == ENGINE_STOPPED
                    and (nxt.at - e.at).total_seconds() <= ENGINE_STOP_GRACE_S):
                changes.append(_Change(at, Cause.ENGINE_NOT_RUNNING, _engine_stopped(nxt)))
            else:
                changes.append(_Change(at, Cause.UNKNOWN, "the camera was stopped (no command recorded)"))
    starts = [(e.at.timestamp(), e.node) for e in engine if e.state == ENGINE_STARTED]
    return changes, starts


def explain(gap: Interval, changes: Sequence[_Change], starts: Sequence[tuple[float, str]]) -> list[Gap]:
    """Split one gap by what the events say held during it; neighbouring pieces with one reason merge.

    Events trail the files by a second or two (a file ends, then the engine reports the camera reconnecting;
    it reports recording just before the next file begins), so a few seconds of "recording" or "connecting"
    at either end of a gap belong to the reason beside them.
    """
    a, b = gap
    before = [c for c in changes if c.at <= a]
    inside = [c for c in changes if a < c.at < b]
    points: list[_Change | None] = [before[-1] if before else None, *inside]
    raw: list[list[Any]] = []  # [start, end, change]
    for i, c in enumerate(points):
        s = a if i == 0 else inside[i - 1].at  # points[i] for i > 0
        e = inside[i].at if i < len(inside) else b  # points[i + 1]
        if e > s:
            raw.append([s, e, c])

    def weak(c: _Change | None) -> bool:
        return c is not None and (c.cause is None or c.cause is Cause.CONNECTING)

    for i, p in enumerate(raw):
        if not weak(p[2]):
            continue
        prev = next((raw[j][2] for j in range(i - 1, -1, -1) if not weak(raw[j][2])), None)
        nxt = next((raw[j][2] for j in range(i + 1, len(raw)) if not weak(raw[j][2])), None)
        same = prev is not None and nxt is not None and (prev.cause, prev.reason) == (nxt.cause, nxt.reason)
        if same or p[1] - p[0] < EVENT_LAG_S:
            # A retry between two stretches of one outage, or the few seconds events trail the files.
            p[2] = prev if prev is not None else (nxt if nxt is not None else raw[max(0, i - 1)][2])
    for i in range(len(raw) - 1, 0, -1):
        if raw[i][2] is raw[i - 1][2]:
            raw[i - 1][1] = raw[i][1]
            del raw[i]
    pieces: list[tuple[float, float, Cause, str]] = []
    for s, e, c in raw:
        if c is None:
            cause, reason = Cause.UNKNOWN, "no camera events recorded for this time"
        elif c.cause is None or c.cause is Cause.CONNECTING:
            # The engine said recording (or connecting) yet no file: an engine that died says so by starting again.
            restart = next((t for t, _n in starts if s - 1 <= t <= e + ENGINE_START_GRACE_S), None)
            if restart is not None:
                cause = Cause.ENGINE_NOT_RUNNING
                reason = (f"engine not running (it stopped without a clean shutdown; started again at "
                          f"{_dt(restart).isoformat(timespec='seconds')})")
            elif c.cause is Cause.CONNECTING:
                cause, reason = c.cause, c.reason
            else:
                cause, reason = Cause.UNKNOWN, "no file for this time although the engine reported the camera recording"
        else:
            cause, reason = c.cause, c.reason
        pieces.append((s, e, cause, reason))
    return [Gap(_dt(s), _dt(e), cause, reason) for s, e, cause, reason in _merge(pieces)]


def _merge(pieces: list[tuple[float, float, Cause, str]]) -> list[tuple[float, float, Cause, str]]:
    """Pieces under a second join their neighbour; one outage whose error changed (the stream ended, then the
    connection was refused) is one gap that names each error in turn."""
    out: list[tuple[float, float, Cause, str]] = []
    for s, e, cause, reason in pieces:
        if out and (e - s < MIN_GAP_S or (out[-1][2] is cause and out[-1][3] == reason)):
            out[-1] = (out[-1][0], e, out[-1][2], out[-1][3])
        elif out and out[-1][2] is cause is Cause.CAMERA_UNREACHABLE:
            prefix = "camera unreachable: "
            then = reason.removeprefix(prefix)
            joined = out[-1][3] if then in out[-1][3] else f"{out[-1][3]}; then: {then}"
            out[-1] = (out[-1][0], e, cause, joined)
        elif out and out[-1][1] - out[-1][0] < MIN_GAP_S:
            out[-1] = (out[-1][0], e, cause, reason)
        else:
            out.append((s, e, cause, reason))
    return out


def _outside(life: Life | None, day_start: datetime, day_end: datetime,
             zone: ZoneInfo | None) -> tuple[list[Outside], Interval | None]:
    """The parts of the day outside the camera's life, and its life within the day (None: all of it)."""
    if life is None:
        return [], None
    if life.off_all_day:
        return [Outside(day_start, day_end, life.off_all_day)], (day_start.timestamp(), day_start.timestamp())

    def clock(d: datetime) -> str:
        local = d.astimezone(zone) if zone else d.astimezone()
        return f"{local:%H:%M:%S}"

    out = []
    lo, hi = day_start, day_end
    if life.added is not None and life.added > day_start:
        lo = min(life.added, day_end)
        out.append(Outside(day_start, lo, f"camera added at {clock(life.added)}"))
    if life.removed is not None and life.removed < day_end:
        hi = max(life.removed, lo)
        out.append(Outside(hi, day_end, f"camera removed at {clock(life.removed)}"))
    return out, (lo.timestamp(), hi.timestamp())


def compute(camera_id: int | None, room: str, camera: str, day_start: datetime, day_end: datetime,
            window: Sequence[Interval], files: Sequence[FileSpan], events: Sequence[Event],
            now: datetime, life: Life | None = None, zone: ZoneInfo | None = None) -> CameraCoverage:
    """One camera's coverage of one day from its files and events (pure; the tests and the loader share it).
    Time outside the camera's `life` is neither a gap nor part of the window it is measured against."""
    horizon = (day_start.timestamp(), min(day_end, now).timestamp())
    win = _intersect(_union(window), [horizon]) if horizon[1] > horizon[0] else []
    if life is not None and life.added is not None and any(f.start < life.added for f in files):
        life = dataclasses.replace(life, added=None)  # files before its row's creation: the files are right
    outside, alive = _outside(life, day_start, day_end, zone)
    if alive is not None:
        win = _intersect(win, [alive]) if alive[1] > alive[0] else []
    good = _union((f.start.timestamp(), f.end.timestamp()) for f in files if f.status in USABLE)
    bad = sorted((((f.start.timestamp(), f.end.timestamp()), f) for f in files if f.status not in USABLE),
                 key=lambda item: item[0])
    holes = [g for g in _subtract(win, good) if g[1] - g[0] >= MIN_GAP_S]
    changes, starts = reason_changes(events, camera_id)
    gaps: list[Gap] = []
    for hole in holes:
        # Failed or lost files explain their own time first.
        rest = [hole]
        for (fa, fb), f in bad:
            part = _intersect(rest, [(fa, fb)])
            for pa, pb in part:
                if pb - pa >= MIN_GAP_S:
                    lost = f.status == RecordingStatus.LOST.value
                    gaps.append(Gap(_dt(pa), _dt(pb), Cause.FILE_LOST if lost else Cause.FILE_FAILED,
                                    f"the file was {'lost' if lost else 'unusable'}: {f.last_error or f.notes or '?'}"))
            rest = _subtract(rest, [(fa, fb)])
        for piece in rest:
            if piece[1] - piece[0] >= MIN_GAP_S:
                gaps.extend(explain(piece, changes, starts))
    gaps.sort(key=lambda g: g.start)
    return CameraCoverage(camera_id, room, camera, day_start, day_end, tuple((_dt(a), _dt(b)) for a, b in win),
                          tuple(sorted(files, key=lambda f: f.start)), tuple(gaps), _length(_intersect(good, win)),
                          _length(win), sum(1 for f in files if f.damaged), min(day_end, max(day_start, now)),
                          tuple(outside))


# --- loading from the database ---------------------------------------------------------------------------------


def _start_of(r: Recording, zone: ZoneInfo | None) -> datetime:
    """When a file begins: its measured start, else its final name (<YYYY-MM-DD>/<HH-MM-SS>.mp4), else its slot."""
    if r.start_time is not None:
        return r.start_time
    p = PurePath(r.local_path)
    m = _FINAL_NAME.match(p.stem)
    if m:
        try:
            d = date.fromisoformat(p.parent.name)
            return localize(datetime.combine(d, time(int(m[1]), int(m[2]), int(m[3]))), zone).astimezone(UTC)
        except ValueError:
            pass
    return r.slot_start


def file_span(r: Recording, zone: ZoneInfo | None, segment_s: float, now: datetime) -> FileSpan:
    start = _start_of(r, zone)
    if r.end_time is not None:
        end = r.end_time
    elif r.duration:
        end = start + timedelta(seconds=r.duration)
    else:  # still being written (or never finished): up to the slot's end, not beyond now
        end = max(start, min(now, r.slot_start + timedelta(seconds=segment_s)))
    return FileSpan(r.id, start, end, r.status, r.size, r.duration, r.local_path, r.local_deleted_at is not None,
                    r.web_link, r.folder_link, r.drive_file_id, r.destination, r.damaged, r.notes or "", r.last_error,
                    str(getattr(r, "node", "") or ""))


@dataclass(frozen=True)
class _Who:
    camera_id: int | None
    room: str
    camera: str


def load_day(db: Database, settings: Settings, day: date, room: str | None = None, camera: str | None = None,
             now: datetime | None = None) -> list[CameraCoverage]:
    """Coverage of every camera (of a room, or one camera) for one calendar day. Raises catalog.NotFound for
    an unknown room or camera. Any thread but the UI's (several queries)."""
    zone = settings.recording.zone()
    now = now or datetime.now(UTC)
    start, end = day_bounds(day, zone)
    cams = catalog.list_cameras(db, room)
    if camera is not None:
        cams = [c for c in cams if c.name == camera]
        if not cams:
            where = f" in room {room!r}" if room else ""
            raise catalog.NotFound(f"no camera named {camera!r}{where}; see `nvr-console cameras list`")
    who: dict[object, _Who] = {c.id: _Who(c.id, c.room, c.name) for c in cams}
    ids = [c.id for c in cams]
    with db.session() as s:
        q = select(Recording).where(Recording.slot_start >= start - timedelta(days=1), Recording.slot_start < end)
        if room is not None or camera is not None:
            conds = [Recording.camera_id.in_(ids)] if ids else []
            named: ColumnElement[bool] = Recording.camera_id.is_(None)
            if room is not None:
                named = named & (Recording.room_name == room)
            if camera is not None:
                named = named & (Recording.camera_name == camera)
            q = q.where(or_(*conds, named))
        rows = list(s.scalars(q.order_by(Recording.slot_start, Recording.id)))
        spans: dict[object, list[FileSpan]] = {}
        for r in rows:
            f = file_span(r, zone, settings.recording.segment_length, now)
            if f.end <= start or f.start >= end:
                continue
            key: object = r.camera_id if r.camera_id is not None else (r.room_name, r.camera_name)
            if key not in who:  # a removed (or renamed away) camera still shows its files
                who[key] = _Who(r.camera_id, r.room_name, r.camera_name)
            spans.setdefault(key, []).append(f)
    known_ids = [w.camera_id for w in who.values() if w.camera_id is not None]
    events = events_between(db, start, end, known_ids)
    window = window_spans(settings.recording.window, start, end, zone)
    lives = _lives(cams, events, start, end)
    if any(w.camera_id is None for w in who.values()):
        lives.update(_removals(db, start, end))
    out = [compute(w.camera_id, w.room, w.camera, start, end, window, spans.get(key, []), events, now,
                   lives.get(key), zone)
           for key, w in who.items()]
    out.sort(key=lambda c: (c.room.lower(), c.camera.lower()))
    return out


def _lives(cams: Sequence[catalog.CameraInfo], events: Sequence[Event], start: datetime,
           end: datetime) -> dict[object, Life]:
    """Each camera's life as the database knows it: added when its row was created (a room's cameras are added
    after it), removed at its `remove` command (a removed camera keeps its events and files, not its row), off
    all day when disabled before the day and not enabled during it."""
    out: dict[object, Life] = {}
    commands: dict[int, list[Event]] = {}
    for e in events:
        if e.kind is CameraEventKind.COMMAND and e.camera_id is not None:
            commands.setdefault(e.camera_id, []).append(e)
    for c in cams:
        mine = commands.get(c.id, [])
        toggles = [e for e in mine if e.state in (ENABLE, DISABLE) and start <= e.at < end]
        before = [e for e in mine if e.state in (ENABLE, DISABLE) and e.at < start]
        off = ""
        if not c.enabled and not toggles and c.created_at < start:
            since = f" since {before[-1].at.date().isoformat()} by {before[-1].actor}" if before else ""
            off = f"camera disabled all day{since}"
        out[c.id] = Life(added=c.created_at, off_all_day=off)
    return out


def _removals(db: Database, start: datetime, end: datetime) -> dict[object, Life]:
    """Cameras removed during the day, by (room, camera): their files lost their camera id with the row."""
    with db.session() as s:
        rows = s.execute(select(CameraEvent.room_name, CameraEvent.camera_name, CameraEvent.at)
                         .where(CameraEvent.kind == CameraEventKind.COMMAND.value, CameraEvent.state == REMOVE,
                                CameraEvent.at >= start, CameraEvent.at < end)
                         .order_by(CameraEvent.at)).all()
    return {(room, camera): Life(removed=at if at.tzinfo else at.replace(tzinfo=UTC)) for room, camera, at in rows}


def parse_day(text: str, zone: ZoneInfo | None = None) -> date:
    """`2026-11-27`, `today` or `yesterday` (in `zone`); InvalidInput naming the fix otherwise."""
    t = text.strip().lower()
    if t in ("today", "yesterday"):
        return now_in(zone).date() - timedelta(days=1 if t == "yesterday" else 0)
    try:
        return date.fromisoformat(t)
    except ValueError:
        raise InvalidInput(f"day {text!r} is not a date; give it as YYYY-MM-DD, e.g. 2026-11-27, or 'yesterday'") \
            from None
