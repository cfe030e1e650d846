"""The cameras and rooms a node records, kept beside its recordings for when the database cannot be reached.

`<recording.dir>/.nvr-node/catalog.json`, written (atomically, mode 0600: stream URLs may hold camera
passwords, as the database does) whenever the engine reads a catalog that differs from the saved one,
and read when a recorder starts while the database is down, with the member's holdings.json, so it
records what it held last time.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from nvr_console.core.catalog import CameraInfo, RoomInfo
from nvr_console.core.fleet import local_cache

FILE = "catalog.json"


def _camera(d: dict[str, Any]) -> CameraInfo:
    names = {f.name for f in fields(CameraInfo)}
    values = {k: v for k, v in d.items() if k in names}
    for k in ("created_at", "updated_at"):
        values[k] = datetime.fromisoformat(values[k])
    return CameraInfo(**values)


def _room(d: dict[str, Any]) -> RoomInfo:
    names = {f.name for f in fields(RoomInfo)}
    return RoomInfo(**{k: v for k, v in d.items() if k in names})


def save(cache_dir: Path, cameras: list[CameraInfo], rooms: list[RoomInfo]) -> bool:
    data = {"cameras": [asdict(c) | {"created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}
                        for c in cameras],
            "rooms": [asdict(r) for r in rooms]}
    return local_cache.save(cache_dir / FILE, data)


def load(cache_dir: Path) -> tuple[list[CameraInfo], list[RoomInfo]] | None:
    """The saved catalog, or None if there is none (or it is unreadable: logged)."""
    data = local_cache.load(cache_dir / FILE)
    if not isinstance(data, dict):
        return None
    try:
        return [_camera(c) for c in data["cameras"]], [_room(r) for r in data["rooms"]]
    except (KeyError, TypeError, ValueError):
        return None


class CatalogMemory:
    """The catalog the engine read last: in memory, and on disk whenever it changed, so that an outage of the
    database, or a start without it, records what this node held from it. Engine thread."""

    def __init__(self) -> None:
        self.last: tuple[list[CameraInfo], list[RoomInfo]] | None = None
        self._saved: tuple[list[CameraInfo], list[RoomInfo]] | None = None

    def load(self, cache_dir: Path) -> None:
        self.last = load(cache_dir)

    def remember(self, cache_dir: Path, cameras: list[CameraInfo], rooms: list[RoomInfo]) -> None:
        self.last = (cameras, rooms)
        if self._saved != self.last and save(cache_dir, cameras, rooms):
            self._saved = self.last
