"""Segment lines before a run's second progress block wait for it (or for the exit), in order."""

from __future__ import annotations

from nvr_console.core.recording.progress import SegmentFinished
from nvr_console.core.recording.segment_line_hold import SegmentLineHold

A = SegmentFinished("2026-12-07_10-00-00.mkv", 0.0, 4.0)
B = SegmentFinished("2026-12-07_10-00-04.mkv", 4.0, 8.0)
C = SegmentFinished("2026-12-07_10-00-08.mkv", 8.0, 12.0)


def test_lines_before_the_second_block_wait_for_it_and_later_ones_go_at_once() -> None:
    h = SegmentLineHold()
    assert h.segment(A) == []  # no block yet
    assert h.block() == []  # the first block lets nothing go
    assert h.segment(B) == []
    assert h.block() == [A, B]  # the second does, in order
    assert h.segment(C) == [C]
    assert h.block() == [] and h.release() == []


def test_the_exit_lets_held_lines_go_and_a_new_run_counts_blocks_again() -> None:
    h = SegmentLineHold()
    h.block()
    assert h.segment(A) == []
    assert h.release() == [A] and h.release() == []
    h.block()
    h.block()
    h.new_run()
    assert h.segment(B) == []  # a new run: its own first two blocks again
    h.block()
    assert h.block() == [B]
