"""The built-in alert rules: pure functions from what was observed to one condition per alert key.

A condition is ACTIVE (the alert should be firing), INACTIVE (it should be resolved) or PENDING (not known
yet, or not long enough: leave an open alert open and open none). PENDING is what lets a restarted process
pick up its alerts without resolving or repeating them: until it has seen enough, it says nothing.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from nvr_console.core.config import AlertsSettings
from nvr_console.core.db.models import NodeRole
from nvr_console.core.disk_forecast import forecast_text, seconds_until_full
from nvr_console.core.monitoring.facts import NODE_GONE_KEY, NodeFacts
from nvr_console.core.monitoring.observer import TROUBLE, Observed
from nvr_console.core.status import CameraState
from nvr_console.core.text.durations import format_duration
from nvr_console.core.text.sizes import format_size

# Uploads counted as working again after a pause: an upload verified since, an empty queue, or this long unpaused.
PAUSE_RESOLVE_GRACE_S = 120.0
RECONNECT_WINDOW_S = 3600.0
LEGACY_OLDEST_WAITING_KEY = "oldest_waiting:queue"  # one queue for every node, before the fleet


class Status(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    PENDING = "pending"


class Severity(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    title: str  # what the alert means, for people: "camera not recording"


CAMERA_DOWN = Rule("camera_down", Severity.CRITICAL, "camera not recording")
CAMERA_RECONNECTS = Rule("camera_reconnects", Severity.WARNING, "camera reconnecting often")
UPLOADS_PAUSED = Rule("uploads_paused", Severity.WARNING, "uploads paused")
OLDEST_WAITING = Rule("oldest_waiting", Severity.WARNING, "files waiting long for upload")
DISK_LOW = Rule("disk_low", Severity.CRITICAL, "recordings disk nearly full")
DISK_FORECAST = Rule("disk_forecast", Severity.WARNING, "recordings disk filling up")
NODE_GONE = Rule("node_gone", Severity.CRITICAL, "recording node gone")
DRIVE_FORECAST = Rule("drive_daily_limit_forecast", Severity.WARNING, "Drive's daily upload limit ahead")
# Raised by the lectures (core/lectures), not by evaluate(): they know when a calendar or a lecture fails.
CALENDAR_UNREADABLE = Rule("calendar_unreadable", Severity.WARNING, "timetable cannot be read")
LECTURE_INCOMPLETE = Rule("lecture_incomplete", Severity.WARNING, "lecture delivered with gaps")
RULES = {r.name: r for r in (CAMERA_DOWN, CAMERA_RECONNECTS, UPLOADS_PAUSED, OLDEST_WAITING, DISK_LOW, DISK_FORECAST,
                             NODE_GONE, DRIVE_FORECAST, CALENDAR_UNREADABLE, LECTURE_INCOMPLETE)}


@dataclass(frozen=True)
class Condition:
    key: str  # unique per alert: "<rule>:camera:<id>", "<rule>:node:<name>"
    rule: Rule
    subject: str
    status: Status
    summary: str = ""  # one line, no secrets
    since: float | None = None  # epoch s the condition began


def camera_key(rule: Rule, camera_id: int) -> str:
    return f"{rule.name}:camera:{camera_id}"


def hours_left(facts: NodeFacts, write_rate_bps: float) -> float:
    """Hours until the recordings disk is full at this write rate, counting what retention may delete
    (disk_forecast's formula)."""
    if facts.disk_free is None:
        return math.inf
    return seconds_until_full(facts.disk_free, write_rate_bps, facts.reclaimable_bytes) / 3600.0


def evaluate(obs: Observed, facts: NodeFacts, cfg: AlertsSettings, node: str, now: float) -> list[Condition]:
    """Every rule's conditions for this node's cameras, queue and disk. Pure."""
    out: list[Condition] = []
    out += _cameras(obs, facts, cfg, now)
    out += _uploads(obs, cfg, node, now)
    out += _queue_age(facts, cfg, node, now)
    out += _disk(obs, facts, cfg, node)
    out += _nodes(facts, cfg, node)
    out += drive_forecast(facts)
    return out


def drive_forecast(facts: NodeFacts) -> list[Condition]:
    """drive_daily_limit_forecast per Google account: firing while today's uploads (sent, waiting, and what its
    cameras record until Drive's day ends) will pass drive.daily_limit, resolved when they will not. Any node
    reports it (the alert store opens one per account)."""
    out: list[Condition] = []
    now = datetime.fromtimestamp(facts.taken_at, UTC)
    for b in facts.drive:
        key, subject = f"{DRIVE_FORECAST.name}:account:{b.account}", f"Google account {b.account}"
        at = b.reached_at(now)
        if at is None:
            out.append(Condition(key, DRIVE_FORECAST, subject, Status.INACTIVE, "within the daily limit"))
            continue
        ahead = format_duration(round((at - now).total_seconds()))
        when = "reached now" if at <= now else f"reached at about {at.astimezone():%H:%M} (in {ahead})"
        out.append(Condition(
            key, DRIVE_FORECAST, subject, Status.ACTIVE,
            f"{format_size(b.uploaded)} uploaded today, {format_size(b.waiting)} waiting, recording "
            f"{format_size(round(b.rate_per_hour))}/h: the {format_size(b.limit)} daily limit (drive.daily_limit) is "
            f"{when}, before Drive's day ends at {b.day_ends.astimezone().strftime('%H:%M')}; then this account's "
            "uploads wait for the next day. Assign some rooms to another account "
            "(drive.accounts, `nvr-console rooms edit ROOM --drive-account NAME`)", facts.taken_at))
    return out


def _cameras(obs: Observed, facts: NodeFacts, cfg: AlertsSettings, now: float) -> list[Condition]:
    out: list[Condition] = []
    for cid in obs.removed:
        for rule in (CAMERA_DOWN, CAMERA_RECONNECTS):
            out.append(Condition(camera_key(rule, cid), rule, f"camera {cid}", Status.INACTIVE, "camera removed"))
    for c in obs.cameras:
        subject = f"{c.room} / {c.camera}"
        gone = facts.db_ok and c.camera_id not in facts.wanted
        # camera_down
        limit = cfg.camera_down_after
        if limit is None or gone:
            status, summary, since = Status.INACTIVE, "camera removed" if gone else "rule off", None
        elif c.state in (CameraState.RECORDING, CameraState.SCHEDULED):
            status, summary, since = Status.INACTIVE, c.state.value, None
        elif facts.db_ok and not facts.wanted.get(c.camera_id, True):
            status, summary, since = Status.INACTIVE, "stopped by the operator", None
        elif c.state in TROUBLE and c.trouble_since is not None and now - c.trouble_since >= limit:
            why = f": {c.last_error}" if c.last_error else ""
            status, since = Status.ACTIVE, c.trouble_since
            summary = f"not recording for {format_duration(round(now - c.trouble_since))} ({c.state.value}{why})"
        else:
            status, summary, since = Status.PENDING, c.state.value, c.trouble_since
        out.append(Condition(camera_key(CAMERA_DOWN, c.camera_id), CAMERA_DOWN, subject, status, summary, since))
        # camera_reconnects
        n, most = c.reconnects_last_hour, cfg.reconnects_per_hour
        if most <= 0 or gone:
            status, summary = Status.INACTIVE, "rule off"
        elif n > most:
            status, summary = Status.ACTIVE, f"{n} reconnects in the last hour (more than {most})"
        elif now - obs.observing_since >= RECONNECT_WINDOW_S:
            status, summary = Status.INACTIVE, f"{n} reconnects in the last hour"
        else:
            status, summary = Status.PENDING, f"{n} reconnects since start"  # less than an hour seen
        out.append(Condition(camera_key(CAMERA_RECONNECTS, c.camera_id), CAMERA_RECONNECTS, subject, status, summary))
    return out


def _uploads(obs: Observed, cfg: AlertsSettings, node: str, now: float) -> list[Condition]:
    key, subject = f"{UPLOADS_PAUSED.name}:node:{node}", f"upload queue on {node}"
    limit = cfg.uploads_paused_after
    if limit is None:
        return [Condition(key, UPLOADS_PAUSED, subject, Status.INACTIVE, "rule off")]
    if obs.paused:
        since = obs.paused_since or now
        if now - since >= limit:
            return [Condition(key, UPLOADS_PAUSED, subject, Status.ACTIVE,
                              f"uploads paused: {obs.pause_reason or 'waiting for the operator'}", since)]
        return [Condition(key, UPLOADS_PAUSED, subject, Status.PENDING, "paused", since)]
    calm_since = max(obs.resumed_at or 0.0, obs.observing_since)
    if not obs.queue_seen:
        status = Status.PENDING
    elif (obs.last_upload_at is not None and obs.last_upload_at >= calm_since) or obs.queue_files == 0 \
            or now - calm_since >= PAUSE_RESOLVE_GRACE_S:
        status = Status.INACTIVE
    else:
        status = Status.PENDING  # a restarted uploader has not yet met the cause of the pause again
    return [Condition(key, UPLOADS_PAUSED, subject, status, "uploading")]


def _queue_age(facts: NodeFacts, cfg: AlertsSettings, node: str, now: float) -> list[Condition]:
    # Per node: each node uploads the files on its own disk. The one key of before the fleet is resolved.
    key, subject = f"{OLDEST_WAITING.name}:node:{node}", f"upload queue on {node}"
    out = [Condition(LEGACY_OLDEST_WAITING_KEY, OLDEST_WAITING, "upload queue", Status.INACTIVE, "checked per node")]
    limit = cfg.oldest_waiting_after
    if limit is None:
        return [*out, Condition(key, OLDEST_WAITING, subject, Status.INACTIVE, "rule off")]
    if not facts.db_ok:
        return [Condition(key, OLDEST_WAITING, subject, Status.PENDING, "database unavailable")]
    since = facts.oldest_waiting_since
    if since is not None and now - since >= limit:
        return [*out, Condition(key, OLDEST_WAITING, subject, Status.ACTIVE,
                                f"the oldest file has waited {format_duration(round(now - since))} for upload", since)]
    return [*out, Condition(key, OLDEST_WAITING, subject, Status.INACTIVE, "queue moving")]


def node_gone_key(name: str) -> str:
    return f"{NODE_GONE_KEY}{name}"


def _nodes(facts: NodeFacts, cfg: AlertsSettings, node: str) -> list[Condition]:
    """node_gone for every other recording node: any live node reports it (the alert store opens it once)."""
    if not facts.db_ok:
        return []  # nothing known: open alerts stay open, none opens
    out: list[Condition] = []
    limit = cfg.node_gone_after
    for peer in facts.nodes:
        if peer.name == node:
            continue
        key, subject = node_gone_key(peer.name), f"node {peer.name}"
        if limit is None:
            status, summary = Status.INACTIVE, "rule off"
        elif peer.role != NodeRole.RECORDER.value:
            status, summary = Status.INACTIVE, "control station"
        elif peer.alive:
            status, summary = Status.INACTIVE, "alive"
        elif peer.stopped:
            status, summary = Status.INACTIVE, "stopped cleanly"
        elif peer.expired_for >= limit:
            status = Status.ACTIVE
            summary = (f"its registration expired {format_duration(round(peer.expired_for))} ago without a clean "
                       "stop (dead, or cut off from the database); its cameras go to other nodes, its files wait "
                       "on its disk")
        else:
            status, summary = Status.PENDING, "registration expired"
        out.append(Condition(key, NODE_GONE, subject, status, summary,
                             facts.taken_at - peer.expired_for if status is Status.ACTIVE else None))
    known = {p.name for p in facts.nodes}
    out += [Condition(node_gone_key(name), NODE_GONE, f"node {name}", Status.INACTIVE, "node forgotten")
            for name in sorted(facts.node_gone_open - known)]
    return out


def _disk(obs: Observed, facts: NodeFacts, cfg: AlertsSettings, node: str) -> list[Condition]:
    low_key, fc_key, subject = f"{DISK_LOW.name}:node:{node}", f"{DISK_FORECAST.name}:node:{node}", f"disk on {node}"
    if facts.disk_free is None:
        return [Condition(low_key, DISK_LOW, subject, Status.PENDING),
                Condition(fc_key, DISK_FORECAST, subject, Status.PENDING)]
    out = []
    usable = facts.disk_free + facts.reclaimable_bytes
    if facts.min_free_space > 0 and usable < facts.min_free_space:
        out.append(Condition(low_key, DISK_LOW, subject, Status.ACTIVE,
                             f"{format_size(facts.disk_free)} free and {format_size(facts.reclaimable_bytes)} "
                             "retention may delete, "
                             f"under retention.min_free_space ({format_size(facts.min_free_space)})"))
    else:
        out.append(Condition(low_key, DISK_LOW, subject, Status.INACTIVE, "enough space"))
    hours = hours_left(facts, obs.write_rate_bps)
    limit = cfg.disk_forecast_under
    if limit is not None and hours * 3600 < limit:
        out.append(Condition(fc_key, DISK_FORECAST, subject, Status.ACTIVE,
                             forecast_text(facts.disk_free, obs.write_rate_bps, facts.reclaimable_bytes)))
    else:
        out.append(Condition(fc_key, DISK_FORECAST, subject, Status.INACTIVE, "enough space"))
    return out
