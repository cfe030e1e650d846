"""Health verdicts: Nagios/Icinga plugin codes and one summary line, from the database or from inside a process.

One rule decides whether an engine is alive: its last sign of life is at most `limit_s` old (`liveness`).
`nvr-console status --check` applies it to the engines' rows in the database (written every 15 s by each
engine thread), the container's HEALTHCHECK runs `status --check --liveness`, and the headless runner's
systemd watchdog applies it in-process to the engine thread's answer to a ping (EngineLiveness), so a wedged
engine thread stops the watchdog pings and systemd restarts the service. `status --check` then adds the
firing alerts: a critical one makes CRITICAL, a warning WARNING. An acknowledged alert is known to a human (who took
it is in the line): it is named apart and changes no code, as its repeats stop; a new alert still raises the code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from PySide6.QtCore import QMetaObject, QObject, Qt, Slot
from sqlalchemy import select

from nvr_console.core.db.models import EngineStatus
from nvr_console.core.db.session import Database
from nvr_console.core.live_state.store import STALE_AFTER_S, read_report
from nvr_console.core.monitoring import alert_store
from nvr_console.core.monitoring.rules import RULES

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LABELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}


@dataclass(frozen=True)
class Verdict:
    code: int
    line: str  # "NVR OK - ..." (Nagios: one line, optional perfdata after '|')


def _ago(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def liveness(age_s: float | None, limit_s: float, what: str = "engine") -> Verdict:
    """The one liveness rule: a sign of life at most `limit_s` old."""
    if age_s is None:
        return Verdict(CRITICAL, f"NVR CRITICAL - no {what} has reported")
    if age_s > limit_s:
        return Verdict(CRITICAL, f"NVR CRITICAL - {what} silent for {_ago(age_s)} (limit {_ago(limit_s)})")
    return Verdict(OK, f"NVR OK - {what} alive")


@dataclass(frozen=True)
class HealthFacts:
    engine_age_s: float | None  # seconds since the freshest engine report, None if none ever
    engines_alive: int
    cameras: int
    recording: int
    queue_files: int
    firing: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, subject, what), not acknowledged
    acknowledged: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, subject, who took it)


def read_health(db: Database, now: datetime | None = None) -> HealthFacts:
    """What `status --check` judges, read from the database. Any thread but the UI's."""
    now = now or datetime.now(UTC)
    with db.session() as s:
        reports = list(s.scalars(select(EngineStatus.updated_at)))
    ages = [(now - t).total_seconds() for t in reports]
    cameras, queue = read_report(db, now)
    wanted = [c for c in cameras if c.enabled and c.desired_state == "recording"]
    alerts = alert_store.firing(db)
    firing = [(a.severity, a.subject, RULES[a.rule].title if a.rule in RULES else a.rule)
              for a in alerts if not a.acknowledged]
    acknowledged = [(a.severity, a.subject, a.acked_by or "") for a in alerts if a.acknowledged]
    return HealthFacts(min(ages) if ages else None, sum(1 for a in ages if a <= STALE_AFTER_S), len(wanted),
                       sum(1 for c in wanted if c.state == "recording"), queue.waiting_files, firing, acknowledged)


def assess(facts: HealthFacts, liveness_only: bool = False) -> Verdict:
    alive = liveness(facts.engine_age_s, STALE_AFTER_S)
    # alerts_firing counts every firing alert, acknowledged or not (as before acknowledgement existed).
    perf = (f"cameras_recording={facts.recording};;;0;{facts.cameras} queue_files={facts.queue_files};;;0 "
            f"alerts_firing={len(facts.firing) + len(facts.acknowledged)};;;0 "
            f"alerts_acknowledged={len(facts.acknowledged)};;;0")
    if alive.code != OK or liveness_only:
        return Verdict(alive.code, f"{alive.line} | {perf}")
    critical = [f for f in facts.firing if f[0] == "critical"]
    warning = [f for f in facts.firing if f[0] != "critical"]
    code = CRITICAL if critical else (WARNING if warning else OK)
    worst = critical or warning
    parts = []
    if worst:
        shown = "; ".join(f"{subject}: {what}" for _sev, subject, what in worst[:3])
        more = f" (+{len(worst) - 3} more)" if len(worst) > 3 else ""
        parts.append(f"{len(facts.firing)} alert(s): {shown}{more}")
    if facts.acknowledged:
        shown = "; ".join(f"{subject} (by {who})" for _sev, subject, who in facts.acknowledged[:3])
        more = f" (+{len(facts.acknowledged) - 3} more)" if len(facts.acknowledged) > 3 else ""
        parts.append(f"{len(facts.acknowledged)} acknowledged: {shown}{more}")
    parts.append(f"{facts.recording}/{facts.cameras} cameras recording")
    parts.append(f"{facts.queue_files} file(s) waiting for upload")
    return Verdict(code, f"NVR {LABELS[code]} - {', '.join(parts)} | {perf}")


class EngineLiveness(QObject):
    """The engine thread's answer to a ping: `probe()` posts a call into its event loop, `age()` says how long
    ago the last one ran. Create after the engine has moved to its thread; probe and age from any thread."""

    def __init__(self, engine: QObject) -> None:
        super().__init__()
        self._last = time.monotonic()
        self.moveToThread(engine.thread())

    @Slot()
    def _answer(self) -> None:
        """Engine thread."""
        self._last = time.monotonic()

    def probe(self) -> None:
        QMetaObject.invokeMethod(self, "_answer", Qt.ConnectionType.QueuedConnection)

    def age(self) -> float:
        return time.monotonic() - self._last
