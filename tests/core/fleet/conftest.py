"""A migrated database (SQLite file or the throwaway MariaDB) with rooms and cameras, for the fleet modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database


@pytest.fixture
def fleet_db(any_db_url: str) -> Iterator[Database]:
    db = Database(any_db_url)
    prepare_database(db)
    catalog.add_room(db, "R1")
    for i in range(1, 5):
        catalog.add_camera(db, "R1", f"c{i}", f"rtsp://10.0.0.{i}/s")
    yield db
    db.dispose()
