"""The whole upload queue's pause after a fatal error: how long it waits, doubling, and what ends it."""

from __future__ import annotations

import threading

from nvr_console.core.upload.queue_pause import PROBE_CAP_S, QueuePause


def test_a_probed_pause_doubles_up_to_the_cap_and_a_success_makes_it_short_again() -> None:
    p = QueuePause(threading.Condition(), probe_s=1000.0, poll_s=15.0)
    assert p.wait() is None and p.reason == ""
    waits = []
    for _ in range(6):
        p.pause("storage quota exceeded")
        w = p.wait()
        assert w is not None
        waits.append(round(w, -1))
    assert waits == [1000.0, 2000.0, 4000.0, 8000.0, PROBE_CAP_S, PROBE_CAP_S] and p.reason == "storage quota exceeded"
    p.worked()
    p.pause("storage quota exceeded")
    w = p.wait()
    assert w is not None and 990.0 < w <= 1000.0


def test_when_the_probe_time_is_up_the_queue_tries_again_by_itself() -> None:
    p = QueuePause(threading.Condition(), probe_s=0.0, poll_s=15.0)
    p.pause("daily limit")
    assert p.wait() is None and p.reason == ""


def test_an_unprobed_pause_lasts_until_resume() -> None:
    p = QueuePause(threading.Condition(), probe_s=0.0, poll_s=15.0)
    p.pause("not signed in", probe=False)
    assert p.wait() == 15.0 and p.wait() == 15.0 and p.reason == "not signed in"
    assert p.resume() == "not signed in"
    assert p.wait() is None and p.resume() == ""


def test_resume_starts_the_next_pause_short_again() -> None:
    p = QueuePause(threading.Condition(), probe_s=1000.0, poll_s=15.0)
    p.pause("quota")
    p.pause("quota")
    p.resume()
    p.pause("quota")
    w = p.wait()
    assert w is not None and 990.0 < w <= 1000.0


def test_a_pause_wakes_a_worker_waiting_on_the_shared_condition() -> None:
    cond = threading.Condition()
    p = QueuePause(cond, probe_s=60.0, poll_s=15.0)
    waiting, woken = threading.Event(), []

    def worker() -> None:
        with cond:
            waiting.set()
            woken.append(cond.wait(30))

    t = threading.Thread(target=worker)
    t.start()
    waiting.wait(30)
    p.pause("quota")
    t.join(30)
    assert woken == [True]
