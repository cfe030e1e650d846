"""The recording engine's link to the fleet: the member (on its own thread) and its orders, on the engine thread.

The engine asks `records(camera)` when it plans its recorders, `token(camera)` when it writes rows and live
status, and tells the link what its recorders do (`camera_state`, `segment_opened`, and every tick the
cameras whose recorder runs). `changed` (a queued signal) says the orders changed: reconcile now.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from nvr_console import __version__
from nvr_console.core.config import Settings
from nvr_console.core.config.holder import SettingsHolder
from nvr_console.core.db.models import NodeRole
from nvr_console.core.fleet.holdings import Holdings
from nvr_console.core.fleet.local_cache import cache_dir
from nvr_console.core.fleet.member import FleetMember, MemberConfig
from nvr_console.core.fleet.orders import OrderBook
from nvr_console.core.recording.segment_names import raw_name_time
from nvr_console.core.status import CameraState

log = logging.getLogger(__name__)


def member_config(settings: Settings, role: NodeRole = NodeRole.RECORDER) -> MemberConfig:
    node, rec = settings.node, settings.recording
    return MemberConfig(settings.database.url, node.name, role, lease_ttl=node.lease_ttl,
                        max_cameras=node.max_cameras, handover_wait=node.handover_wait,
                        segment_length=rec.segment_length, zone=rec.zone(), version=__version__,
                        cache_dir=cache_dir(Path(rec.dir)))


class FleetLink(QObject):
    """Create and use on the engine thread (it is the parent's child)."""

    changed = Signal()  # the orders changed (or an order's time came): reconcile
    _holdings = Signal(object)  # from the member's thread, queued to the engine thread

    def __init__(self, settings: Settings, parent: QObject | None = None,
                 on_unreachable: Callable[[str], None] | None = None) -> None:
        super().__init__(parent)
        self._zone = settings.recording.zone()
        self.book = OrderBook()
        self.member = FleetMember(member_config(settings), self._holdings.emit, on_unreachable=on_unreachable)
        self._holdings.connect(self._on_holdings, Qt.ConnectionType.QueuedConnection)
        self._recorded: frozenset[int] = frozenset()
        self.ready = False  # the member's first orders have come (from the database, or its cache)

    @property
    def node(self) -> str:
        return self.member.name

    @property
    def holdings(self) -> Holdings:
        return self.book.holdings

    def follow(self, holder: SettingsHolder) -> None:
        """New recording or node settings reach the member (its handover cuts follow a new segment length).
        Engine thread."""
        def take(settings: Settings) -> None:
            self._zone = settings.recording.zone()
            self.member.reconfigure(member_config(settings))

        holder.subscribe(("recording", "node"), take)

    def start(self) -> None:
        self.member.start()

    def stop(self, handover: bool, timeout_s: float = 0.0) -> None:
        self.member.stop(handover=handover, timeout_s=timeout_s)

    @property
    def done(self) -> bool:
        return self.member.done.is_set()

    # --- what the engine asks (engine thread) -------------------------------------------------------

    def records(self, camera_id: int) -> bool:
        return self.book.should_record(camera_id, time.time())

    def token(self, camera_id: int | None) -> int | None:
        return self.book.token(camera_id) if camera_id is not None else None

    def tokens(self) -> dict[int, int]:
        """{camera id: token} of every camera this node holds now (live status is written for these only)."""
        return {c: o.token for o in self.book.holdings.orders.values() if o.token is not None and o.stop_after is None
                for c in o.camera_ids}

    # --- what the engine tells (engine thread) --------------------------------------------------------

    def camera_state(self, camera_id: int, state: CameraState) -> None:
        self.book.camera_state(camera_id, state)

    def camera_removed(self, camera_id: int) -> None:
        """The camera's row is gone and its recorder stopped: its last state is no longer the orders' concern."""
        self.book.forget_camera(camera_id)

    def segment_opened(self, camera_id: int | None, raw: Path) -> bool:
        """A recorder opened a segment; True if it is a handover's cut and the recorder is to stop now."""
        if camera_id is None:
            return False
        opened = raw_name_time(raw, self._zone)
        return self.book.segment_opened(camera_id, opened.timestamp() if opened else time.time())

    def tick(self, running: set[int]) -> None:
        """Once a second: tell the member which units write or stopped; `changed` when what should be recorded
        moved with the clock (an immediate handover's stop time, a cut that never came)."""
        started, stopped = self.book.changes(time.time(), running)
        for unit in started:
            self.member.recording(unit)
        for unit in stopped:
            self.member.not_recording(unit)
        self._check_recorded()

    def _recorded_now(self) -> frozenset[int]:
        now = time.time()
        return frozenset(c for o in self.book.holdings.orders.values() for c in o.camera_ids
                         if self.book.should_record(c, now))

    def _check_recorded(self) -> None:
        recorded = self._recorded_now()
        if recorded != self._recorded:
            self._recorded = recorded
            self.changed.emit()

    def _on_holdings(self, holdings: Holdings) -> None:
        self.ready = True
        self.book.update(holdings, time.time())
        self._recorded = self._recorded_now()
        self.changed.emit()
