"""The monitor beside an engine: observer, metrics server, alert evaluator and channel dispatcher.

Threads:
- observer handlers: the engine's thread (direct connections; a lock and a few dict updates);
- the evaluator: a thread of its own, every `alerts.check_every`: snapshot + a few bounded database reads,
  alert transitions (alert_store), owed messages to the dispatcher;
- the dispatcher: one thread per network channel (dispatcher.py); the metrics server: the client library's.
`start()`, `stop()` and `attach()` are called from the thread that created the monitor (the shell's main
thread); `notice` is emitted from the evaluator thread and reaches UI receivers queued.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Unpack

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.models import AlertMessage
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.engine_api import EngineApi
from nvr_console.core.monitoring import alert_store, lecture_figures
from nvr_console.core.monitoring.alert_store import AlertRecord
from nvr_console.core.monitoring.channels import Channel, Message, build_channels
from nvr_console.core.monitoring.dispatcher import Dispatcher, DispatchOptions
from nvr_console.core.monitoring.facts import read_facts
from nvr_console.core.monitoring.metrics import MetricsServer, NvrCollector, Published
from nvr_console.core.monitoring.observer import EngineObserver
from nvr_console.core.monitoring.rules import evaluate

log = logging.getLogger(__name__)


def monitor_node(settings: Settings) -> str:
    """The name node-level alerts and metrics carry: the node's (`node.name`, the host name by default), stable
    across restarts (unlike host:pid) so a restart finds its alerts, and the one `nodes list` shows."""
    return settings.node.name


@dataclass(frozen=True)
class AlertNotice:
    """An alert transition for desktop notifications and the console's Alerts view (plain data)."""

    kind: str  # firing | repeat | resolved
    severity: str
    title: str
    text: str


def message_of(rec: AlertRecord, kind: str | None = None) -> Message:
    return Message(kind or rec.outbox or "firing", rec.id, rec.notify_seq, rec.rule, rec.key, rec.severity,
                   rec.subject, rec.summary, rec.node, rec.started_at, rec.fired_at, rec.resolved_at)


class Monitor(QObject):
    notice = Signal(object)  # AlertNotice, from the evaluator thread

    def __init__(self, settings: Settings, db: Database, channels: list[Channel] | None = None,
                 node: str | None = None, parent: QObject | None = None,
                 **dispatch_options: Unpack[DispatchOptions]) -> None:
        super().__init__(parent)
        self.settings, self.db = settings, db
        self.node = node or monitor_node(settings)
        self.observer = EngineObserver()
        self.collector = NvrCollector(self.observer, self.node)
        self.channels = build_channels(settings) if channels is None else channels
        self.dispatcher = Dispatcher(self.channels, self._settled, self._attempted, **dispatch_options)
        self.metrics: MetricsServer | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checks = 0  # evaluations done (tests wait on it)

    def follow(self, holder: SettingsHolder) -> None:
        """New alert rules (and the figures they compare with: retention, the recording window) apply from the
        next evaluation; the channels and the metrics address stay until a restart. The creating thread (the
        evaluator reads `settings`, replaced whole)."""
        def take(settings: Settings) -> None:
            self.settings = settings

        holder.subscribe(("alerts", "retention", "recording", "drive"), take)

    def attach(self, engine: EngineApi) -> None:
        """Observe an engine's signals. The creating thread, before the engine starts."""
        self.observer.attach(engine)

    def start(self) -> None:
        """Serve metrics (if `metrics.listen`), start the channels and the evaluator. The creating thread."""
        if self.settings.metrics.listen:
            server = MetricsServer(self.collector, self.settings.metrics.listen)
            try:
                server.start()
                self.metrics = server
                log.info("metrics served at %s", server.url)
            except OSError as exc:
                # Monitoring never stops recording: say what to fix and go on without metrics.
                log.error("metrics.listen = %s cannot be used (%s); no metrics served: choose a free port",
                          self.settings.metrics.listen, exc.strerror or exc)
        self.dispatcher.start()
        if self.channels:
            log.info("alerts go to: %s", ", ".join(c.name for c in self.channels))
        self._thread = threading.Thread(target=self._run, name="nvr-alerts", daemon=True)
        self._thread.start()

    def stop_checks(self) -> None:
        """Evaluate no more (the engine is about to stop: not an outage). Returns at once. Any thread."""
        self._stop.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop evaluating first (an engine shutting down is no outage), then the channels and metrics."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.dispatcher.stop(min(timeout_s, 5.0))
        if self.metrics is not None:
            self.metrics.stop()
            self.metrics = None

    # --- evaluator thread -------------------------------------------------------------------------

    def _run(self) -> None:
        """Evaluator thread: check at once (owed messages from before a restart go out), then periodically."""
        while True:
            started = time.monotonic()
            try:
                self.check()
            except Exception:
                log.exception("alert check failed")
            wait = max(0.0, self.settings.alerts.check_every - (time.monotonic() - started))
            if self._stop.wait(wait):
                return

    def check(self, now: float | None = None) -> None:
        """One evaluation: facts, rules, transitions, owed messages, published figures. Evaluator thread."""
        now = now or time.time()
        obs = self.observer.snapshot()
        facts = read_facts(self.settings, self.db, self.node)
        published = Published(facts=facts)
        if facts.db_ok:
            try:
                conditions = evaluate(obs, facts, self.settings.alerts, self.node, now)
                for t in alert_store.apply(self.db, conditions, self.node, self.settings.alerts.repeat_every):
                    self._announce(t.kind, t.alert)
                for rec in alert_store.owed(self.db):
                    if not self.dispatcher.in_flight(rec.id, rec.notify_seq):
                        self.dispatcher.submit(message_of(rec))
                published.firing = dict(Counter((a.rule, a.severity) for a in alert_store.firing(self.db)))
                published.lectures = lecture_figures.counts_by_state(self.db)
                published.lecture_delivery_s = lecture_figures.delivery_seconds(
                    self.db, self.settings.lectures.post_roll, datetime.now(UTC) - timedelta(days=1))
            except (DatabaseUnavailable, SQLAlchemyError) as exc:
                log.warning("alert check: database error (alerts wait for it): %s", exc)
        self.collector.publish(published)
        self.checks += 1

    def _announce(self, kind: AlertMessage, rec: AlertRecord) -> None:
        msg = message_of(rec, kind.value)
        level = logging.INFO if kind is AlertMessage.RESOLVED else logging.WARNING
        log.log(level, "alert %s: %s", kind.value, msg.text)
        if self.settings.alerts.desktop:
            self.notice.emit(AlertNotice(kind.value, rec.severity, msg.title, msg.text))

    # --- channel threads --------------------------------------------------------------------------

    def _settled(self, msg: Message, errors: dict[str, str]) -> None:
        if msg.kind == "test":
            return
        error = "; ".join(f"{name}: {err}" for name, err in errors.items())
        try:
            alert_store.settle(self.db, msg.alert_id, msg.seq, error)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("alert message %r sent but not marked (sent again later): %s", msg.title, exc)

    def _attempted(self, channel: str, ok: bool, _error: str) -> None:
        self.collector.count_notification(channel, ok)
