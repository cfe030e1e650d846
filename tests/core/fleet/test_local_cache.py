"""What a node keeps beside its recordings: the catalog and its holdings, round trip, private, and robust."""

from __future__ import annotations

import stat
from pathlib import Path

from nvr_console.core import catalog
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import catalog_cache, local_cache


def test_catalog_round_trip_private_file(fleet_db: Database, tmp_path: Path) -> None:
    catalog.edit_room(fleet_db, "R1", sound_source="rtsp://mic:pw@10.0.0.9/a", pinned_node="srv")
    cams, rooms = catalog.list_cameras(fleet_db), catalog.list_rooms(fleet_db)
    assert catalog_cache.save(tmp_path, cams, rooms)
    assert catalog_cache.load(tmp_path) == (cams, rooms)
    mode = stat.S_IMODE((tmp_path / catalog_cache.FILE).stat().st_mode)
    assert mode == 0o600  # stream URLs may carry camera passwords


def test_missing_or_damaged_cache_is_none(tmp_path: Path) -> None:
    assert catalog_cache.load(tmp_path) is None
    (tmp_path / catalog_cache.FILE).write_text("{not json", encoding="utf-8")
    assert catalog_cache.load(tmp_path) is None
    (tmp_path / catalog_cache.FILE).write_text('{"cameras": [{"id": 1}], "rooms": []}', encoding="utf-8")
    assert catalog_cache.load(tmp_path) is None


def test_an_unwritable_folder_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not local_cache.save(blocker / "sub" / "x.json", {"a": 1})
