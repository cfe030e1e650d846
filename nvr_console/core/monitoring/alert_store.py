"""The one owner of alert state in the database (`alerts` rows): fire, repeat, resolve, and the owed messages.

Every transition is a conditional write, so two nodes evaluating the same alert at once cannot both win:
opening relies on the unique `open_key`, repeating and resolving on `notify_seq` being what was read.
A message owed to the channels (`outbox`) is written in the same transaction as the state change and
cleared only once the channels settled it, so a crash in between re-sends rather than loses it.
Runs on the alert evaluator's thread, the channels' threads (settle) or a CLI command.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.exc import IntegrityError

from nvr_console.core.db.models import Alert, AlertMessage, AlertState
from nvr_console.core.db.session import Database, rows_changed
from nvr_console.core.monitoring.rules import Condition, Status
from nvr_console.core.text.masking import mask_secrets

log = logging.getLogger(__name__)

OWED_BATCH = 100


@dataclass(frozen=True)
class AlertRecord:
    """An alert as shown (`alerts list`, the console's Alerts view) and as sent to the channels."""

    id: int
    rule: str
    key: str
    severity: str
    subject: str
    summary: str
    node: str
    state: str
    started_at: datetime
    fired_at: datetime
    resolved_at: datetime | None
    notified_at: datetime | None
    notify_seq: int
    outbox: str | None
    delivery_error: str
    acked_by: str | None = None  # "user@node" of the operator who acknowledged it; None: not acknowledged
    acked_at: datetime | None = None
    ack_note: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    def public(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("started_at", "fired_at", "resolved_at", "notified_at", "acked_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


@dataclass(frozen=True)
class Transition:
    kind: AlertMessage  # firing | repeat | resolved
    alert: AlertRecord


def _record(row: Alert) -> AlertRecord:
    return AlertRecord(row.id, row.rule, row.key, row.severity, row.subject, row.summary, row.node, row.state,
                       row.started_at, row.fired_at, row.resolved_at, row.notified_at, row.notify_seq, row.outbox,
                       row.delivery_error, row.acked_by, row.acked_at, row.ack_note or "")


def _dt(epoch: float | None, default: datetime) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else default


def apply(db: Database, conditions: list[Condition], node: str, repeat_every: float | None,
          now: datetime | None = None) -> list[Transition]:
    """Bring the open alerts in line with the conditions; returns what changed. Evaluator thread.

    ACTIVE opens an alert (message: firing) or, past `repeat_every`, owes a repeat; INACTIVE resolves an
    open one (message: resolved); PENDING leaves everything as it is.
    """
    now = now or datetime.now(UTC)
    wanted = {c.key: c for c in conditions if c.status is not Status.PENDING}
    if not wanted:
        return []
    out: list[Transition] = []
    with db.session() as s:
        open_rows = {r.key: r for r in s.scalars(
            select(Alert).where(Alert.open_key.in_(list(wanted))))}
        snapshot = {k: (r.id, r.notify_seq, r.notified_at, r.outbox, r.summary, r.acked_at is not None)
                    for k, r in open_rows.items()}
    for key, cond in wanted.items():
        seen = snapshot.get(key)
        summary = mask_secrets(cond.summary)[:2000]
        if cond.status is Status.ACTIVE and seen is None:
            rec = _open(db, cond, summary, node, now)
            if rec is not None:
                out.append(Transition(AlertMessage.FIRING, rec))
        elif cond.status is Status.ACTIVE and seen is not None:
            aid, seq, notified, outbox, old_summary, acked = seen
            # An acknowledged alert is someone's already: no repeats until it resolves.
            due = (repeat_every is not None and outbox is None and notified is not None and not acked
                   and now - notified >= timedelta(seconds=repeat_every))
            values: dict[str, object] = {"summary": summary, "node": node} if summary != old_summary else {}
            if due:
                values.update(outbox=AlertMessage.REPEAT.value, notify_seq=seq + 1, notified_at=now, node=node)
            if values:
                # A repeat is owed only while nobody acknowledged it (an acknowledge may land after the read).
                rec = _update(db, aid, seq, values, Alert.acked_at.is_(None) if due else None)
                if rec is not None and due:
                    out.append(Transition(AlertMessage.REPEAT, rec))
        elif cond.status is Status.INACTIVE and seen is not None:
            aid, seq, _notified, _outbox, _summary, _acked = seen
            rec = _update(db, aid, seq, {
                "state": AlertState.RESOLVED.value, "open_key": None, "resolved_at": now, "node": node,
                "outbox": AlertMessage.RESOLVED.value, "notify_seq": seq + 1,
            })
            if rec is not None:
                out.append(Transition(AlertMessage.RESOLVED, rec))
    return out


def _open(db: Database, cond: Condition, summary: str, node: str, now: datetime) -> AlertRecord | None:
    try:
        with db.session() as s:
            row = Alert(rule=cond.rule.name, key=cond.key, open_key=cond.key, severity=cond.rule.severity.value,
                        subject=cond.subject[:255], summary=summary, node=node, state=AlertState.FIRING.value,
                        started_at=_dt(cond.since, now), fired_at=now, notified_at=now, notify_seq=1,
                        outbox=AlertMessage.FIRING.value, delivery_error="")
            s.add(row)
            s.flush()
            return _record(row)
    except IntegrityError:
        return None  # another node opened it a moment ago


def _update(db: Database, alert_id: int, seq: int, values: dict[str, object],
            also: ColumnElement[bool] | None = None) -> AlertRecord | None:
    with db.session() as s:
        where = [Alert.id == alert_id, Alert.notify_seq == seq, *([also] if also is not None else [])]
        done = rows_changed(s, update(Alert).where(*where).values(updated_at=datetime.now(UTC), **values))
        if not done:
            return None  # someone else moved it on first
        row = s.get(Alert, alert_id)
        return _record(row) if row is not None else None


class AckOutcome(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"  # this call acknowledged it
    ALREADY = "already"  # someone had acknowledged it first (the record says who and when)
    RESOLVED = "resolved"  # nothing to acknowledge any more
    MISSING = "missing"  # no alert with that id


@dataclass(frozen=True)
class AckResult:
    outcome: AckOutcome
    alert: AlertRecord | None  # as it stands after the attempt (None: MISSING)

    def sentence(self, alert_id: int) -> str:
        """What happened, for an operator (console message, CLI line)."""
        a = self.alert
        if a is None:
            return f"no alert {alert_id}: see `nvr-console alerts list` for the ids"
        when = a.acked_at.astimezone().strftime("%Y-%m-%d %H:%M") if a.acked_at else ""
        note = f" ({a.ack_note})" if a.ack_note else ""
        if self.outcome is AckOutcome.ACKNOWLEDGED:
            return f"alert {a.id} ({a.subject}) acknowledged by {a.acked_by} at {when}{note}"
        if self.outcome is AckOutcome.ALREADY:
            return f"alert {a.id} ({a.subject}) was already acknowledged by {a.acked_by} at {when}{note}"
        resolved = a.resolved_at.astimezone().strftime("%Y-%m-%d %H:%M") if a.resolved_at else "?"
        return f"alert {a.id} ({a.subject}) resolved at {resolved}: nothing to acknowledge"


def acknowledge(db: Database, alert_id: int, who: str, note: str = "", now: datetime | None = None) -> AckResult:
    """An operator takes a firing alert on. One conditional write: of two consoles acknowledging at once, one
    wins and the other is told who did. Repeats stop (apply), the resolved message still goes out. Any thread
    but the UI's (a CLI command, the console's database pool)."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        won = rows_changed(s, update(Alert).where(
            Alert.id == alert_id, Alert.state == AlertState.FIRING.value, Alert.acked_at.is_(None),
        ).values(acked_by=who[:255], acked_at=now, ack_note=mask_secrets(note.strip())[:2000] or None,
                 updated_at=now))
    with db.session() as s:
        row = s.get(Alert, alert_id)
        if row is None:
            return AckResult(AckOutcome.MISSING, None)
        rec = _record(row)
    if won:
        return AckResult(AckOutcome.ACKNOWLEDGED, rec)
    return AckResult(AckOutcome.RESOLVED if rec.state != AlertState.FIRING.value else AckOutcome.ALREADY, rec)


def owed(db: Database, limit: int = OWED_BATCH) -> list[AlertRecord]:
    """Alerts with a message still owed to the channels, oldest change first. Evaluator thread."""
    with db.session() as s:
        rows = s.scalars(select(Alert).where(Alert.outbox.is_not(None)).order_by(Alert.updated_at, Alert.id)
                         .limit(limit)).all()
        return [_record(r) for r in rows]


def settle(db: Database, alert_id: int, seq: int, error: str = "") -> bool:
    """The channels are done with message `seq` of this alert (error: those that gave up). Channel threads."""
    with db.session() as s:
        return bool(rows_changed(
            s, update(Alert).where(Alert.id == alert_id, Alert.notify_seq == seq, Alert.outbox.is_not(None))
            .values(outbox=None, delivery_error=mask_secrets(error)[:2000], updated_at=datetime.now(UTC))
        ))


def list_alerts(db: Database, recent_s: float = 86400.0, limit: int = 200,
                now: datetime | None = None) -> list[AlertRecord]:
    """Firing alerts, then those resolved within `recent_s`, newest first. Any thread but the UI's."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        rows = s.scalars(
            select(Alert).where(or_(Alert.state == AlertState.FIRING.value,
                                    Alert.resolved_at >= now - timedelta(seconds=recent_s)))
            .order_by(Alert.fired_at.desc(), Alert.id.desc()).limit(limit)
        ).all()
        records = [_record(r) for r in rows]
    return sorted(records, key=lambda r: r.state != AlertState.FIRING.value)  # stable: firing first


def firing(db: Database) -> list[AlertRecord]:
    with db.session() as s:
        return [_record(r) for r in s.scalars(select(Alert).where(Alert.state == AlertState.FIRING.value)
                                              .order_by(Alert.fired_at))]
