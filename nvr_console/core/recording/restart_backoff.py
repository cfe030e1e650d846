"""When a recorder may start FFmpeg again: at once, after a backoff (1, 2, 4 ... 30 s), or every 30 s while
failed; never in the same second as the previous run's exit (FFmpeg names files by the second and the
segment muxer overwrites silently); and no more after GIVE_UP_AFTER runs in a row ended on a stream the
recorder cannot write (an endless reconnect loop leaves a file per try), until the operator starts it again.
Plain logic on the engine thread; the recorder owns one.
"""

from __future__ import annotations

from nvr_console.core.status import CameraState

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
FAILED_RETRY_S = 30.0
SAME_SECOND_GAP_S = 1.05
GIVE_UP_AFTER = 3


class RestartBackoff:
    """The next start time of one recorder. Engine thread."""

    def __init__(self, last_exit: float = 0.0) -> None:
        self.last_exit = last_exit  # epoch s when the previous FFmpeg of this recorder exited (0: never ran)
        self.restart_at: float | None = None
        self._step = 0
        self.unwritable_runs = 0  # runs in a row that ended on a stream the recorder cannot write
        self.gave_up = False  # after GIVE_UP_AFTER of them: nothing is scheduled until clear_failures()

    @property
    def pending(self) -> bool:
        """A start is scheduled (now or after a delay)."""
        return self.restart_at is not None

    def start_soon(self, now: float) -> None:
        """Start as soon as allowed, with the backoff reset (the operator, or a fresh start)."""
        self._step = 0
        self.restart_at = max(now, self.last_exit + SAME_SECOND_GAP_S)

    def reset(self) -> None:
        """The recording ran long enough to count as healthy: the next failure waits the shortest delay."""
        self._step = 0

    def healthy(self) -> None:
        """The recording ran long enough to count as healthy: the shortest delay next, and unwritable runs
        count from zero again."""
        self._step = 0
        self.unwritable_runs = 0

    def clear_failures(self) -> None:
        """The operator starts (or stops) the recorder: it may try again however often it gave up."""
        self.unwritable_runs, self.gave_up = 0, False

    def count_run(self, unwritable: bool) -> bool:
        """A run ended on a failure: count it; True once GIVE_UP_AFTER in a row were unwritable (nothing is
        scheduled then)."""
        self.unwritable_runs = self.unwritable_runs + 1 if unwritable else 0
        if self.unwritable_runs >= GIVE_UP_AFTER:
            self.gave_up = True
            self.restart_at = None
        return self.gave_up

    def cancel(self) -> None:
        self.restart_at = None

    def exited(self, now: float) -> None:
        self.last_exit = now

    def due(self, now: float) -> bool:
        """Whether the scheduled start has come; consumes it when it has."""
        if self.restart_at is not None and now >= self.restart_at:
            self.restart_at = None
            return True
        return False

    def after_failure(self, now: float, permanent: bool) -> CameraState:
        """Schedule the next try after a failure; returns the state to show meanwhile."""
        if permanent:
            delay, state = FAILED_RETRY_S, CameraState.FAILED
        else:
            delay = BACKOFF_S[min(self._step, len(BACKOFF_S) - 1)]
            self._step += 1
            state = CameraState.RECONNECTING
        self.restart_at = max(now + delay, self.last_exit + SAME_SECOND_GAP_S)
        return state

    def countdown(self, now: float) -> float:
        """Seconds until the next try (0 when none is scheduled), to a tenth."""
        return max(0.0, round(self.restart_at - now, 1)) if self.restart_at else 0.0
