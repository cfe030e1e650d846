"""Lecture figures for the metrics: how many lectures are in each state, how long delivery took.

Read-only queries on the lectures table, here rather than in core.lectures (which raises its alerts through
monitoring, so monitoring may not import it back: the core layers contract). Evaluator thread.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from nvr_console.core.db.models import Lecture, LectureState
from nvr_console.core.db.session import Database

FINISHED = (LectureState.DELIVERED.value, LectureState.INCOMPLETE.value)


def counts_by_state(db: Database) -> dict[str, int]:
    """Lectures by state, every room sharing the database."""
    with db.session() as s:
        return {state: n for state, n in s.execute(select(Lecture.state, func.count()).group_by(Lecture.state))}


def delivery_seconds(db: Database, post_roll_s: float, since: datetime) -> list[float]:
    """Seconds from each lecture's end (+ post-roll) to its verified delivery, for lectures delivered since
    `since`, most recent last."""
    with db.session() as s:
        rows = s.execute(select(Lecture.end, Lecture.delivered_at).where(
            Lecture.state.in_(FINISHED), Lecture.delivered_at >= since).order_by(Lecture.delivered_at)).all()
    return [max(0.0, (at - end).total_seconds() - post_roll_s) for end, at in rows if at is not None]
