"""packaging/monitoring: Prometheus alert rules checked (and unit-tested) by promtool, and every metric that the
rules and the Grafana dashboard use is one nvr-console really serves."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from nvr_console.core.monitoring.facts import NodeFacts
from nvr_console.core.monitoring.metrics import MetricsServer, NvrCollector, Published
from nvr_console.core.monitoring.observer import EngineObserver
from nvr_console.core.status import CameraState, CameraStatus

HERE = Path(__file__).resolve().parents[2] / "packaging" / "monitoring"
RULES = HERE / "nvr-console.rules.yml"
DASHBOARD = HERE / "grafana-dashboard.json"


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("NVRTEST_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is missing but the test command requires it (apt-get install prometheus)")
        pytest.skip("promtool not installed (Debian's prometheus package provides it; scripts/test installs it)")
    return path


def test_rules_pass_promtool_check_and_unit_tests() -> None:
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run([tool, "test", "rules", "nvr-console.rules.test.yml"], cwd=HERE, capture_output=True,
                          text=True, timeout=60)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def served_names() -> set[str]:
    observer = EngineObserver()
    observer.on_camera_status(CameraStatus(1, "A-101", "front", CameraState.RECORDING, time.time()))
    collector = NvrCollector(observer, "n1")
    collector.publish(Published(facts=NodeFacts(time.time(), disk_free=10**9), firing={("camera_down", "critical"): 1}))
    collector.count_notification("webhook", True)
    server = MetricsServer(collector, "127.0.0.1:0")  # not started: its registry is what a scrape returns
    text = generate_latest(server.registry).decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def used_names(text: str) -> set[str]:
    return set(re.findall(r"\b(nvr_[a-z_]+|process_[a-z_]+)\b", text))


def test_rules_and_dashboard_use_only_served_metrics() -> None:
    served = served_names()
    exprs = re.findall(r"^\s+expr: (.+)$", RULES.read_text(), re.MULTILINE)  # promtool checks the YAML itself
    assert len(exprs) == RULES.read_text().count("- alert:")
    dashboard = json.loads(DASHBOARD.read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append(dashboard["templating"]["list"][1]["query"]["query"])
    used = set().union(*(used_names(e) for e in exprs))
    assert used and used <= served, used - served
    # Every figure the issue asks for is on the dashboard.
    for name in ("nvr_camera_up", "nvr_camera_recorded_seconds_total", "nvr_camera_written_bytes_total",
                 "nvr_camera_segments_finalized_total", "nvr_camera_segments_failed_total",
                 "nvr_camera_reconnects_total", "nvr_upload_queue_files", "nvr_upload_queue_bytes",
                 "nvr_upload_queue_oldest_age_seconds", "nvr_uploaded_bytes_total", "nvr_upload_failures_total",
                 "nvr_upload_paused", "nvr_disk_free_bytes", "nvr_disk_full_in_seconds"):
        assert name in used, name
