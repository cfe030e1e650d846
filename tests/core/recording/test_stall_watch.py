"""The stall watchdog: progress that does not move for longer than the limit is a stall, once per run."""

from __future__ import annotations

from nvr_console.core.recording.stall_watch import StallWatch


def test_progress_that_stops_moving_is_a_stall_after_the_limit_to_the_second() -> None:
    w = StallWatch()
    w.new_run(100.0)
    for t in range(101, 111):  # every second, nothing yet (a run that opened but writes nothing)
        assert w.check(float(t), (0, 0, 0), 10.0) is False
    assert w.check(110.5, (0, 0, 0), 10.0) is True and w.stalled


def test_any_of_size_finished_files_or_out_time_moving_resets_the_limit() -> None:
    w = StallWatch()
    w.new_run(0.0)
    for i, progress in enumerate([(5, 0, 0), (5, 1, 0), (5, 1, 7), (6, 1, 7)], start=1):
        t = 9.0 * i
        assert w.check(t, progress, 10.0) is False  # moved: counts from t
        assert w.check(t + 10.0, progress, 10.0) is False  # exactly the limit: not yet
    assert w.check(36.0 + 10.5, (6, 1, 7), 10.0) is True


def test_a_new_run_starts_clean() -> None:
    w = StallWatch()
    w.new_run(0.0)
    assert w.check(20.0, (0, 0, 0), 10.0) and w.stalled
    w.new_run(50.0)
    assert not w.stalled
    assert w.check(55.0, (0, 0, 0), 10.0) is False  # counts from the run's start, not the last one's growth
    assert w.check(60.5, (0, 0, 0), 10.0) is True
