"""Prometheus metrics: a collector that turns one snapshot into metric families at scrape time, and the
HTTP server (`metrics.listen`) of the official client.

A scrape never touches the engine or the database: camera and upload figures come from the observer's
snapshot, disk and queue-age figures from the alert evaluator's latest facts. The server runs on the
client library's own daemon thread. Names follow Prometheus conventions: base units, `_total` counters,
labels `room` and `camera` (names people gave them; never a URL).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from nvr_console import __version__
from nvr_console.core.monitoring.facts import NodeFacts
from nvr_console.core.monitoring.observer import EngineObserver, Observed
from nvr_console.core.monitoring.rules import hours_left
from nvr_console.core.status import CameraState

CAMERA_LABELS = ("room", "camera")


@dataclass
class Published:
    """What the alert evaluator hands to the collector after each check (replaced whole, read at scrape)."""

    facts: NodeFacts | None = None
    firing: dict[tuple[str, str], int] = field(default_factory=dict)  # (rule, severity) -> count
    lectures: dict[str, int] = field(default_factory=dict)  # lecture state -> count (every room)
    lecture_delivery_s: list[float] = field(default_factory=list)  # end (+ post-roll) -> verified, last 24 h


class NvrCollector(Collector):
    def __init__(self, observer: EngineObserver, node: str) -> None:
        self.observer, self.node = observer, node
        self._lock = threading.Lock()
        self._published = Published()
        self._notifications: dict[tuple[str, str], int] = {}  # (channel, result) -> attempts

    def publish(self, published: Published) -> None:
        """Replace the evaluator's figures. Evaluator thread."""
        with self._lock:
            self._published = published

    def count_notification(self, channel: str, ok: bool) -> None:
        """One delivery attempt. Channel threads."""
        with self._lock:
            key = (channel, "sent" if ok else "failed")
            self._notifications[key] = self._notifications.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        """Build every family from one snapshot. The scraping thread."""
        obs = self.observer.snapshot()
        with self._lock:
            pub, notifications = self._published, dict(self._notifications)
        facts = pub.facts

        info = InfoMetricFamily("nvr_node", "This recording node.")
        info.add_metric([], {"node": self.node, "version": __version__})
        yield info
        yield from _lectures(pub)

        yield from _camera_families(obs, facts)
        if facts is not None and facts.nodes:
            yield from _node_families(facts)
        yield from _upload_families(obs, facts)
        yield from _disk_families(obs, facts)
        if facts is not None and facts.drive:
            yield from _drive_families(facts)
        yield from _alert_families(pub, notifications)


def _camera_families(obs: Observed, facts: NodeFacts | None) -> Iterator[Metric]:
    """Per camera: up, should record, state, trouble, and its counters."""
    up = GaugeMetricFamily("nvr_camera_up", "1 while the camera is recording, else 0.", labels=CAMERA_LABELS)
    should = GaugeMetricFamily("nvr_camera_should_record",
                               "1 when the camera is enabled, started and inside its recording window.",
                               labels=CAMERA_LABELS)
    state = GaugeMetricFamily("nvr_camera_state", "1 for the camera's current state.",
                              labels=(*CAMERA_LABELS, "state"))
    trouble = GaugeMetricFamily("nvr_camera_trouble_seconds",
                                "How long the camera has been trying and failing to record (0 when fine).",
                                labels=CAMERA_LABELS)
    recorded = CounterMetricFamily("nvr_camera_recorded_seconds", "Time spent recording since start.",
                                   labels=CAMERA_LABELS)
    written = CounterMetricFamily("nvr_camera_written_bytes", "Bytes FFmpeg wrote (sampled every ~5 s).",
                                  labels=CAMERA_LABELS)
    finalized = CounterMetricFamily("nvr_camera_segments_finalized", "Files finalized and queued for upload.",
                                    labels=CAMERA_LABELS)
    failed = CounterMetricFamily("nvr_camera_segments_failed", "Files that could not be used.",
                                 labels=CAMERA_LABELS)
    reconnects = CounterMetricFamily("nvr_camera_reconnects", "Times the recorder had to reconnect.",
                                     labels=CAMERA_LABELS)
    states = list(CameraState)
    for c in obs.cameras:
        labels = [c.room, c.camera]
        up.add_metric(labels, 1.0 if c.state is CameraState.RECORDING else 0.0)
        wanted = facts.wanted.get(c.camera_id, c.enabled) if facts is not None and facts.db_ok else c.enabled
        should.add_metric(labels, 1.0 if wanted and c.state is not CameraState.SCHEDULED else 0.0)
        for s in states:
            state.add_metric([*labels, s.value], 1.0 if c.state is s else 0.0)
        trouble.add_metric(labels, max(0.0, obs.taken_at - c.trouble_since) if c.trouble_since else 0.0)
        recorded.add_metric(labels, c.recorded_seconds)
        written.add_metric(labels, float(c.written_bytes))
        finalized.add_metric(labels, float(c.segments_finalized))
        failed.add_metric(labels, float(c.segments_failed))
        reconnects.add_metric(labels, float(c.reconnects))
    yield from (up, should, state, trouble, recorded, written, finalized, failed, reconnects)


def _upload_families(obs: Observed, facts: NodeFacts | None) -> Iterator[Metric]:
    """This node's upload queue and uploader."""
    yield GaugeMetricFamily("nvr_upload_queue_files", "Files waiting for upload (this node's uploader).",
                            value=obs.queue_files)
    yield GaugeMetricFamily("nvr_upload_queue_bytes", "Bytes still to upload.", value=obs.queue_bytes)
    oldest = facts.oldest_waiting_since if facts is not None else None
    yield GaugeMetricFamily("nvr_upload_queue_oldest_age_seconds",
                            "Age of this node's oldest file waiting for upload (0 when none waits).",
                            value=max(0.0, obs.taken_at - oldest) if oldest else 0.0)
    yield GaugeMetricFamily("nvr_upload_paused", "1 while the upload queue waits for the operator.",
                            value=1.0 if obs.paused else 0.0)
    yield GaugeMetricFamily("nvr_upload_rate_bytes_per_second", "Current upload throughput.",
                            value=obs.upload_rate_bps)
    yield CounterMetricFamily("nvr_uploads", "Uploads verified (size and MD5).", value=obs.uploads)
    yield CounterMetricFamily("nvr_uploaded_bytes", "Bytes of verified uploads.", value=obs.uploaded_bytes)
    yield CounterMetricFamily("nvr_upload_retries", "Upload attempts that will be retried.",
                              value=obs.upload_retries)
    yield CounterMetricFamily("nvr_upload_failures", "Uploads that failed for good.", value=obs.upload_failures)


def _disk_families(obs: Observed, facts: NodeFacts | None) -> Iterator[Metric]:
    """The recordings disk: write rate, free, reclaimable, and the forecast until full."""
    yield GaugeMetricFamily("nvr_disk_write_rate_bytes_per_second", "Bytes per second the cameras write now.",
                            value=obs.write_rate_bps)
    if facts is not None and facts.disk_free is not None:
        yield GaugeMetricFamily("nvr_disk_free_bytes", "Free space on the recordings disk.",
                                value=facts.disk_free)
        yield GaugeMetricFamily("nvr_disk_reclaimable_bytes",
                                "Local copies of verified uploads that retention may delete.",
                                value=facts.reclaimable_bytes)
        left = hours_left(facts, obs.write_rate_bps)
        yield GaugeMetricFamily("nvr_disk_full_in_seconds",
                                "Forecast until the recordings disk is full at the current write rate "
                                "(+Inf when nothing is written).",
                                value=math.inf if math.isinf(left) else left * 3600.0)


def _alert_families(pub: Published, notifications: dict[tuple[str, str], int]) -> Iterator[Metric]:
    """Alerts firing now and the delivery attempts of their messages."""
    firing = GaugeMetricFamily("nvr_alerts_firing", "Built-in alerts firing now.", labels=("rule", "severity"))
    for (rule, severity), n in sorted(pub.firing.items()):
        firing.add_metric([rule, severity], n)
    yield firing
    sent = CounterMetricFamily("nvr_alert_notifications", "Alert message delivery attempts.",
                               labels=("channel", "result"))
    for (channel, result), n in sorted(notifications.items()):
        sent.add_metric([channel, result], n)
    yield sent


def _drive_families(facts: NodeFacts) -> Iterator[Metric]:
    """Drive's daily budget per Google account (every node's uploads together: the same from any node)."""
    today = GaugeMetricFamily("nvr_drive_uploaded_bytes_today",
                              "Bytes sent to Google Drive today (Drive's day: Pacific time) by the account.",
                              labels=("account",))
    limit = GaugeMetricFamily("nvr_drive_daily_limit_bytes", "Bytes Drive takes per account a day (drive.daily_limit).",
                              labels=("account",))
    rate = GaugeMetricFamily("nvr_drive_recorded_bytes_per_hour",
                             "Bytes recorded per hour (last 3 hours) by the cameras of the rooms uploading with the "
                             "account.", labels=("account",))
    for b in facts.drive:
        today.add_metric([b.account], float(b.uploaded))
        limit.add_metric([b.account], float(b.limit))
        rate.add_metric([b.account], b.rate_per_hour)
    yield from (today, limit, rate)


def _node_families(facts: NodeFacts) -> Iterator[Metric]:
    """Every node sharing the database, as the last check read it (the same figures from any node scraped)."""
    up = GaugeMetricFamily("nvr_node_up", "1 while the node renews its registration in the database.",
                           labels=("node",))
    held = GaugeMetricFamily("nvr_node_leases", "Cameras (or rooms with a sound source) the node holds a lease for.",
                             labels=("node",))
    oldest = GaugeMetricFamily("nvr_node_queue_oldest_age_seconds",
                               "Age of the node's oldest file waiting for upload (0 when none waits).",
                               labels=("node",))
    for peer in facts.nodes:
        up.add_metric([peer.name], 1.0 if peer.alive else 0.0)
        held.add_metric([peer.name], float(peer.leases))
        since = peer.oldest_waiting_since
        oldest.add_metric([peer.name], max(0.0, facts.taken_at - since) if since is not None else 0.0)
    yield from (up, held, oldest)


def _lectures(pub: Published) -> Iterator[Metric]:
    """Lectures by state (from the timetables, every room), and how long delivery took after a lecture."""
    if not pub.lectures and not pub.lecture_delivery_s:
        return
    by_state = GaugeMetricFamily("nvr_lectures", "Lectures by state (every room sharing the database).",
                                 labels=("state",))
    for state, n in sorted(pub.lectures.items()):
        by_state.add_metric([state], float(n))
    yield by_state
    if pub.lecture_delivery_s:
        last = GaugeMetricFamily("nvr_lecture_delivery_seconds_last",
                                 "Seconds from the last delivered lecture's end (+ post-roll) to its verified "
                                 "delivery.")
        last.add_metric([], pub.lecture_delivery_s[-1])
        worst = GaugeMetricFamily("nvr_lecture_delivery_seconds_max",
                                  "The longest delay from a lecture's end (+ post-roll) to its verified delivery "
                                  "over the last 24 hours.")
        worst.add_metric([], max(pub.lecture_delivery_s))
        yield from (last, worst)


class MetricsServer:
    """`/metrics` over HTTP on `host:port`, served by prometheus_client's own daemon thread."""

    def __init__(self, collector: NvrCollector, listen: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        ProcessCollector(registry=self.registry)  # process_cpu_seconds_total, resident memory, open fds
        host, _, port = listen.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self._httpd: WSGIServer | None = None

    def start(self) -> None:
        """Bind and serve; raises OSError (port in use...) for the caller to report. Any thread."""
        httpd, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self._httpd = httpd
        self.port = httpd.server_port  # a configured port 0 picks a free one (tests)

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"
