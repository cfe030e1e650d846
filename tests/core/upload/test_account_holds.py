"""Per-account holds of the uploader: which accounts wait, until when, and that a hold wakes the workers."""

from __future__ import annotations

import threading

import pytest

from nvr_console.core.upload.account_holds import AccountHolds


def test_a_hold_with_a_probe_lets_the_account_try_again_when_its_time_comes() -> None:
    holds = AccountHolds(threading.Condition(), probe_every_s=3600.0)
    holds.hold("campus2", "Google account campus2: daily cap", probe=True)
    assert holds.held_now() == frozenset({"campus2"})
    wait = holds.wait()
    assert wait is not None and 3590.0 < wait <= 3600.0
    assert holds.waiting() == {"campus2": "Google account campus2: daily cap"}

    due = AccountHolds(threading.Condition(), probe_every_s=0.0)  # its time to try again has come at once
    due.hold("campus2", "cap", probe=True)
    assert due.held_now() == frozenset()  # let go to try again ...
    assert due.waiting() == {"campus2": "cap"}  # ... but still shown as waiting until Drive takes bytes
    assert due.worked("campus2") is True
    assert due.waiting() == {} and due.worked("campus2") is False  # news once


def test_a_refused_probe_holds_the_account_again_and_others_are_not_touched() -> None:
    holds = AccountHolds(threading.Condition(), probe_every_s=0.0)
    holds.hold("a", "cap of a", probe=True)
    assert holds.held_now() == frozenset()  # a probes
    holds.hold("a", "cap of a again", probe=True)
    holds.hold("b", "sign-in of b missing", probe=False)
    assert holds.waiting() == {"a": "cap of a again", "b": "sign-in of b missing"}
    assert holds.worked("a") is False  # held again, not probing: a chunk of it cannot have gone through
    assert holds.held_now() == frozenset({"b"})  # b waits for resume, never tries by itself
    assert holds.wait() is None


def test_without_a_probe_only_clear_ends_the_wait() -> None:
    holds = AccountHolds(threading.Condition(), probe_every_s=0.0)
    holds.hold("lab", "Google account lab: not signed in", probe=False)
    assert holds.held_now() == frozenset({"lab"}) and holds.wait() is None
    assert holds.clear() == "Google account lab: not signed in"
    assert holds.held_now() == frozenset() and holds.waiting() == {} and holds.clear() == ""


@pytest.mark.parametrize("probe", [True, False])
def test_a_hold_wakes_a_worker_waiting_on_the_shared_condition(probe: bool) -> None:
    cond = threading.Condition()
    holds = AccountHolds(cond, probe_every_s=60.0)
    waiting, woken = threading.Event(), []

    def worker() -> None:
        with cond:
            waiting.set()
            woken.append(cond.wait(30))  # True only when notified

    t = threading.Thread(target=worker)
    t.start()
    waiting.wait(30)
    holds.hold("a", "cap", probe=probe)  # takes the condition only once the worker waits on it
    t.join(30)
    assert woken == [True]
