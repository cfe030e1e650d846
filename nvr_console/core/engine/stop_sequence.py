"""How an engine stops: this node's cameras handed over to the other nodes first, then every recorder stopped
cleanly and its last files finalized, then the engine's parts shut down, all within time limits.

A planned handover (SIGTERM, the console closing, `nodes drain`) lets the other nodes start recording before
this one stops, at a segment boundary: the files on both sides of the switch are whole. With no other node to
take the cameras the fleet member releases them at once and the stop goes straight on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from nvr_console.core.engine.camera_reconcile import RecorderSet
from nvr_console.core.engine.disk_guard import DiskGuard
from nvr_console.core.fleet.engine_link import FleetLink
from nvr_console.core.live_state.publisher import LiveStatusPublisher
from nvr_console.core.recording.finalize_dispatch import FinalizingDispatch
from nvr_console.core.upload.upload_service import UploadService

SHUTDOWN_LIMIT_S = 25.0  # then remaining FFmpeg are killed; recovery finishes their files next start
HANDOVER_SLACK_S = 20.0  # a stop with handover waits node.handover_wait plus this, at most, for the others


class StopSequence:
    """The phases of the engine's stop (handing over, stopping, done) and what each does to its parts.
    Engine thread only."""

    def __init__(self, fleet: FleetLink, recorders: RecorderSet, finalizing: FinalizingDispatch, disk: DiskGuard,
                 uploads: UploadService, live: LiveStatusPublisher, emit_log: Callable[[str, str], None]) -> None:
        self._fleet, self._recorders, self._finalizing = fleet, recorders, finalizing
        self._disk, self._uploads, self._live, self._emit_log = disk, uploads, live, emit_log
        self.handing_over = False
        self.stopping = False
        self._handover_deadline = 0.0
        self._stop_started = 0.0

    def request(self, running: bool, handover_wait_s: float) -> None:
        """Begin the stop: a handover when this node holds cameras, else stop the recorders now."""
        if self.stopping or self.handing_over:
            return
        if running and self._fleet.holdings.orders:
            self.handing_over = True
            wait = handover_wait_s + HANDOVER_SLACK_S
            self._handover_deadline = time.time() + wait
            self._emit_log("info", "stopping: handing this node's cameras over to the other nodes first")
            self._fleet.stop(handover=True, timeout_s=wait)
            return
        self.stop_recorders(running)

    def handover_over(self) -> bool:
        """Once the handover is done (or overdue), stop the recorders; True then. Each tick while handing over."""
        if not self.handing_over or not (self._fleet.done or time.time() > self._handover_deadline):
            return False
        self.handing_over = False
        self.stop_recorders(True)
        return True

    def stop_recorders(self, running: bool) -> None:
        self._fleet.stop(handover=False)  # whatever was not handed over is released (or expires)
        self.stopping = self._live.stopping = True
        self._stop_started = time.time()
        if running:
            self._emit_log("info", "stopping all recorders")
            for rec in self._recorders.all():
                if rec.running or rec.wanted:
                    rec.stop()

    def finish(self) -> bool:
        """Shut the parts down once no recorder runs and no file is being finalized, or the time limit passed;
        True when it did (the engine then emits `stopped`)."""
        busy = self._recorders.any_running() or self._finalizing.busy
        overdue = time.time() - self._stop_started > SHUTDOWN_LIMIT_S
        if busy and not overdue:
            return False
        if busy:
            self._emit_log("error", "shutdown took too long; unfinished files are recovered at the next start")
        self._recorders.dispose_all()
        self._finalizing.shutdown()
        self._disk.shutdown()
        self._uploads.shutdown()
        if not busy:
            self._finalizing.drop_old_sound(everything=True)
        return True
