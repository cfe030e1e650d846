"""The built-in rules as pure functions: active, inactive, or pending (not known yet) per alert key."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from nvr_console.core.config import AlertsSettings
from nvr_console.core.monitoring.facts import NodeFacts, PeerNode
from nvr_console.core.monitoring.observer import CameraFigures, Observed
from nvr_console.core.monitoring.rules import Condition, Status, drive_forecast, evaluate, hours_left
from nvr_console.core.status import CameraState
from nvr_console.core.upload.drive_usage import AccountBudget

NOW = 1_000_000.0
CFG = AlertsSettings(check_every=15, camera_down_after=120, reconnects_per_hour=10, uploads_paused_after=0,
                     oldest_waiting_after=7200, disk_forecast_under=86400, node_gone_after=60,
                     repeat_every=14400, desktop=True, sound=False, lecture_coverage_under=0.99)
GIB = 1024**3


def cam(state: CameraState, trouble_since: float | None = None, reconnects: int = 0, cid: int = 1,
        rate: float = 0.0) -> CameraFigures:
    return CameraFigures(cid, "A-101", "front", state, True, "Connection refused", trouble_since, 0, 0, rate, 0, 0,
                         reconnects, reconnects)


def observed(*cams: CameraFigures, since: float = NOW - 10, **kw: object) -> Observed:
    base = Observed(NOW, since, tuple(cams), frozenset(), 0, 0, 0.0, False, "", None, None, True, 0, 0, 0, 0, None)
    return replace(base, **kw)


def facts(**kw: object) -> NodeFacts:
    return replace(NodeFacts(NOW, wanted={1: True}, disk_free=500 * GIB, min_free_space=5 * GIB), **kw)


def by_key(conds: list[Condition]) -> dict[str, Condition]:
    return {c.key: c for c in conds}


def down(obs: Observed, f: NodeFacts | None = None, cfg: AlertsSettings = CFG) -> Condition:
    return by_key(evaluate(obs, f or facts(), cfg, "n1", NOW))["camera_down:camera:1"]


def test_camera_down_only_after_the_threshold() -> None:
    assert down(observed(cam(CameraState.RECONNECTING, NOW - 119))).status is Status.PENDING
    c = down(observed(cam(CameraState.RECONNECTING, NOW - 121)))
    assert c.status is Status.ACTIVE and c.since == NOW - 121 and c.subject == "A-101 / front"
    assert c.summary == "not recording for 2m1s (reconnecting: Connection refused)"


def test_camera_down_resolves_on_recording_schedule_stop_or_removal() -> None:
    assert down(observed(cam(CameraState.RECORDING))).status is Status.INACTIVE
    assert down(observed(cam(CameraState.SCHEDULED))).status is Status.INACTIVE  # outside its window
    assert down(observed(cam(CameraState.STOPPED)), facts(wanted={1: False})).status is Status.INACTIVE
    assert down(observed(cam(CameraState.RECONNECTING, NOW - 999)), facts(wanted={})).status is Status.INACTIVE
    removed = by_key(evaluate(observed(removed=frozenset({1})), facts(), CFG, "n1", NOW))
    assert removed["camera_down:camera:1"].status is Status.INACTIVE


def test_a_stopping_engine_or_unreadable_database_changes_nothing() -> None:
    # The engine shutting down stops a camera that is still wanted: no outage, no recovery either.
    assert down(observed(cam(CameraState.STOPPED))).status is Status.PENDING
    assert down(observed(cam(CameraState.STOPPING))).status is Status.PENDING
    assert down(observed(cam(CameraState.RECONNECTING, NOW - 999)), facts(db_ok=False, wanted={})).status \
        is Status.ACTIVE


def test_camera_down_off() -> None:
    assert down(observed(cam(CameraState.FAILED, NOW - 999)), cfg=replace(CFG, camera_down_after=None)).status \
        is Status.INACTIVE


def test_reconnects_per_hour() -> None:
    key = "camera_reconnects:camera:1"
    many = by_key(evaluate(observed(cam(CameraState.RECORDING, reconnects=11)), facts(), CFG, "n1", NOW))[key]
    assert many.status is Status.ACTIVE and "11 reconnects" in many.summary
    few_fresh = by_key(evaluate(observed(cam(CameraState.RECORDING, reconnects=3)), facts(), CFG, "n1", NOW))[key]
    assert few_fresh.status is Status.PENDING  # less than an hour seen since a restart
    few_old = by_key(evaluate(observed(cam(CameraState.RECORDING, reconnects=3), since=NOW - 3600), facts(), CFG,
                              "n1", NOW))[key]
    assert few_old.status is Status.INACTIVE


def paused(obs: Observed, cfg: AlertsSettings = CFG) -> Condition:
    return by_key(evaluate(obs, facts(), cfg, "n1", NOW))["uploads_paused:node:n1"]


def test_uploads_paused_fires_and_resolves_on_evidence() -> None:
    c = paused(observed(paused=True, pause_reason="Drive storage is full", paused_since=NOW - 1, queue_files=3))
    assert c.status is Status.ACTIVE and "Drive storage is full" in c.summary
    assert paused(observed(paused=True, paused_since=NOW - 1), replace(CFG, uploads_paused_after=60)).status \
        is Status.PENDING
    # Just restarted, not paused (yet): the uploader has not met the cause again; wait for evidence.
    assert paused(observed(queue_files=3)).status is Status.PENDING
    assert paused(observed(queue_seen=False)).status is Status.PENDING
    assert paused(observed(queue_files=3, last_upload_at=NOW - 1)).status is Status.INACTIVE
    assert paused(observed(queue_files=0)).status is Status.INACTIVE
    assert paused(observed(queue_files=3, since=NOW - 121)).status is Status.INACTIVE
    assert paused(observed(queue_files=3, since=NOW - 999, resumed_at=NOW - 5)).status is Status.PENDING


def test_oldest_waiting_per_node() -> None:
    key = "oldest_waiting:node:n1"
    conds = by_key(evaluate(observed(), facts(oldest_waiting_since=NOW - 7300), CFG, "n1", NOW))
    old = conds[key]
    assert old.status is Status.ACTIVE and "2h1m40s" in old.summary and old.subject == "upload queue on n1"
    assert conds["oldest_waiting:queue"].status is Status.INACTIVE  # the one key of before the fleet resolves
    assert by_key(evaluate(observed(), facts(oldest_waiting_since=NOW - 60), CFG, "n1", NOW))[key].status \
        is Status.INACTIVE
    assert by_key(evaluate(observed(), facts(db_ok=False), CFG, "n1", NOW))[key].status is Status.PENDING


def test_disk_low_counts_what_retention_may_delete_and_forecast() -> None:
    rate = 10 * 1024**2  # bytes/s: about 35 GiB an hour
    low = by_key(evaluate(observed(cam(CameraState.RECORDING, rate=rate)),
                          facts(disk_free=2 * GIB, reclaimable_bytes=1 * GIB), CFG, "n1", NOW))
    assert low["disk_low:node:n1"].status is Status.ACTIVE
    assert low["disk_forecast:node:n1"].status is Status.ACTIVE
    ok = by_key(evaluate(observed(cam(CameraState.RECORDING, rate=rate)),
                         facts(disk_free=2 * GIB, reclaimable_bytes=40 * GIB), CFG, "n1", NOW))
    assert ok["disk_low:node:n1"].status is Status.INACTIVE  # retention can make room
    idle = by_key(evaluate(observed(), facts(disk_free=50 * GIB), CFG, "n1", NOW))
    assert idle["disk_forecast:node:n1"].status is Status.INACTIVE
    assert hours_left(facts(disk_free=rate * 3600), rate) == 1.0
    assert math.isinf(hours_left(facts(), 0.0))


def peer(name: str, *, alive: bool = False, stopped: bool = False, expired_for: float = 0.0,
         role: str = "recorder") -> PeerNode:
    return PeerNode(name, role, alive, stopped, expired_for, 0 if not alive else 2, None)


def test_node_gone_for_a_recorder_dead_past_the_threshold_only() -> None:
    nodes = (peer("n1", alive=True), peer("up", alive=True), peer("dead", expired_for=61),
             peer("just-expired", expired_for=10), peer("stopped", stopped=True, expired_for=3600),
             peer("console", role="control", expired_for=3600))
    conds = by_key(evaluate(observed(), facts(nodes=nodes, node_gone_open=frozenset({"forgotten"})), CFG, "n1", NOW))
    gone = {k.removeprefix("node_gone:node:"): c for k, c in conds.items() if k.startswith("node_gone:")}
    assert "n1" not in gone  # a node does not report itself
    dead = gone["dead"]
    assert dead.status is Status.ACTIVE and dead.subject == "node dead" and "1m1s" in dead.summary
    assert dead.since == NOW - 61
    assert gone["just-expired"].status is Status.PENDING  # a restart may bring it back
    assert {n: gone[n].status for n in ("up", "stopped", "console", "forgotten")} == dict.fromkeys(
        ("up", "stopped", "console", "forgotten"), Status.INACTIVE)
    # Off, or nothing read: nothing opens; what is open stays open when the database cannot be read.
    off = by_key(evaluate(observed(), facts(nodes=nodes), replace(CFG, node_gone_after=None), "n1", NOW))
    assert off["node_gone:node:dead"].status is Status.INACTIVE
    blind = evaluate(observed(), facts(nodes=nodes, db_ok=False), CFG, "n1", NOW)
    assert not [c for c in blind if c.key.startswith("node_gone:")]


def _budget(uploaded: int, waiting: int, rate: float, hours_left: float, account: str = "default") -> AccountBudget:
    now = datetime.fromtimestamp(NOW, UTC)
    return AccountBudget(account, uploaded, waiting, rate, 750 * GB, now + timedelta(hours=hours_left))


GB = 1000**3


@pytest.mark.parametrize(("uploaded", "waiting", "rate", "hours_left", "status", "words"), [
    (0, 0, 0.0, 24, Status.INACTIVE, "within"),  # nothing recorded
    (100 * GB, 10 * GB, 20 * GB, 24, Status.INACTIVE, "within"),  # 110 + 480 = 590 GB by the day's end
    (300 * GB, 50 * GB, 20 * GB, 24, Status.ACTIVE, "at about"),  # 400 GB left at 20 GB/h: 20 h, before 24 h
    (300 * GB, 50 * GB, 20 * GB, 19.9, Status.INACTIVE, "within"),  # ...the day ends first: a new budget
    (300 * GB, 50 * GB, 20 * GB, 20.1, Status.ACTIVE, "in 20h"),
    (700 * GB, 50 * GB, 0.0, 3, Status.ACTIVE, "reached now"),  # sent + waiting are the limit already
    (760 * GB, 0, 1 * GB, 3, Status.ACTIVE, "reached now"),
])
def test_drive_forecast_fires_while_the_day_will_pass_the_limit(
    uploaded: int, waiting: int, rate: float, hours_left: float, status: Status, words: str,
) -> None:
    got = by_key(drive_forecast(facts(drive=(_budget(uploaded, waiting, rate, hours_left),))))
    cond = got["drive_daily_limit_forecast:account:default"]
    assert cond.status is status and words in cond.summary, cond.summary
    if status is Status.ACTIVE:
        assert "drive.daily_limit" in cond.summary and "--drive-account" in cond.summary


def test_drive_forecast_per_account_and_through_evaluate() -> None:
    f = facts(drive=(_budget(0, 0, 0.0, 10), _budget(700 * GB, 0, 10 * GB, 10, "campus2")))
    got = by_key(evaluate(observed(), f, CFG, "n1", NOW))
    assert got["drive_daily_limit_forecast:account:default"].status is Status.INACTIVE
    assert got["drive_daily_limit_forecast:account:campus2"].status is Status.ACTIVE
    assert got["drive_daily_limit_forecast:account:campus2"].subject == "Google account campus2"
