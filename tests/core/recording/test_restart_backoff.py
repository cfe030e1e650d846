"""When a recorder may start FFmpeg again."""

from __future__ import annotations

from nvr_console.core.recording.restart_backoff import BACKOFF_S, FAILED_RETRY_S, GIVE_UP_AFTER, RestartBackoff
from nvr_console.core.status import CameraState


def test_failures_back_off_up_to_thirty_seconds_and_a_healthy_run_resets_it() -> None:
    b = RestartBackoff()
    delays = []
    for _ in range(8):
        assert b.after_failure(1000.0, permanent=False) is CameraState.RECONNECTING
        assert b.restart_at is not None
        delays.append(b.restart_at - 1000.0)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0] and max(BACKOFF_S) == 30.0
    b.reset()
    b.after_failure(1000.0, permanent=False)
    assert b.restart_at == 1001.0


def test_a_permanent_failure_waits_the_failed_period_and_shows_failed() -> None:
    b = RestartBackoff()
    assert b.after_failure(50.0, permanent=True) is CameraState.FAILED
    assert b.restart_at == 50.0 + FAILED_RETRY_S and b.countdown(50.0) == FAILED_RETRY_S


def test_never_in_the_same_second_as_the_last_exit() -> None:
    # FFmpeg names files by the second: a successor of a recorder that exited at 100.0 waits past 101.
    b = RestartBackoff(last_exit=100.0)
    b.start_soon(100.2)
    assert b.restart_at == 101.05
    assert not b.due(101.0) and b.pending
    assert b.due(101.05) and not b.pending  # consumed
    assert not b.due(200.0)
    b.exited(300.0)
    assert b.after_failure(300.0, permanent=False) is CameraState.RECONNECTING
    assert b.restart_at == 301.05  # 1 s backoff, but never before the second is over


def test_cancel_and_countdown() -> None:
    b = RestartBackoff()
    assert b.countdown(0.0) == 0.0
    b.after_failure(10.0, permanent=False)
    assert b.countdown(10.44) == 0.6
    b.cancel()
    assert not b.pending and b.countdown(10.0) == 0.0


def test_it_gives_up_after_unwritable_runs_in_a_row_until_the_operator_clears_it() -> None:
    b = RestartBackoff()
    for _ in range(GIVE_UP_AFTER - 1):
        assert not b.count_run(unwritable=True)
        b.after_failure(10.0, permanent=False)
    assert not b.count_run(unwritable=False)  # another failure breaks the row
    for _ in range(GIVE_UP_AFTER - 1):
        assert not b.count_run(unwritable=True)
    b.healthy()  # a run that recorded long enough: the row starts again
    for _ in range(GIVE_UP_AFTER - 1):
        assert not b.count_run(unwritable=True)
        b.after_failure(10.0, permanent=False)
    assert b.count_run(unwritable=True) and b.gave_up and b.unwritable_runs == GIVE_UP_AFTER
    assert not b.pending and b.countdown(10.0) == 0.0  # nothing scheduled
    b.clear_failures()
    assert not b.gave_up and b.unwritable_runs == 0
