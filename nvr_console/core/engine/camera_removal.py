"""Removing a camera through the engine: its recorder stops, its last segment is finalized, then its row is
deleted (its recordings stay, with their place in the upload queue).

The console asks the engine (Engine.remove_camera) instead of deleting the row itself, so no recorder ever
runs for a camera whose row is gone. A camera deleted by another process (`nvr-console cameras remove`)
is noticed by the reconcile instead; either way its recordings stay, named by room and camera.
Engine thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from nvr_console.core import catalog
from nvr_console.core.db.models import DesiredState
from nvr_console.core.db.session import Database, DatabaseUnavailable
from nvr_console.core.events.actor import actor_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Removed:
    camera_id: int
    name: str  # "room/camera", or "#id" when its row was gone already


class CameraRemovals:
    """The cameras being removed through this engine. Engine thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.leaving: set[int] = set()

    def request(self, camera_id: int) -> bool:
        """Begin removing a camera; False if it is being removed already. Its desired state becomes stopped
        at once, so other engines and a restart of this one do not record it while it goes."""
        if camera_id in self.leaving:
            return False
        self.leaving.add(camera_id)
        try:
            catalog.set_desired_state(self.db, camera_id, DesiredState.STOPPED)
        except catalog.NotFound:
            pass  # removed meanwhile by another console: finish() announces it all the same
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.info("camera #%d: desired state not saved before its removal: %s", camera_id, exc)
        return True

    def finish(self, busy: Callable[[int], bool]) -> list[Removed]:
        """Delete the rows of the cameras no longer `busy` (recorder stopped, last segment finalized). A
        database that is down keeps the removal for the next call."""
        done: list[Removed] = []
        for cid in sorted(self.leaving):
            if busy(cid):
                continue
            try:
                info = catalog.remove_camera_by_id(self.db, cid, actor=actor_name("console"))
            except (DatabaseUnavailable, SQLAlchemyError) as exc:
                log.warning("camera #%d: its row is not deleted yet (%s); trying again", cid, exc)
                continue
            self.leaving.discard(cid)
            done.append(Removed(cid, f"{info.room}/{info.name}" if info is not None else f"#{cid}"))
        return done
