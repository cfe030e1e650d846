"""A segment length changed in the Settings dialog reaches the fleet member: a handover that follows is cut on
the new grid, by both nodes (issue 18: the member kept the length it started with).

Node b is a headless `nvr-console --no-gui` process on 3 s segments, recording camera c1 (pinned to a). Node a
is this process's console: a real main window over a real engine, started on 1 h segments. Once a has joined
the fleet, the operator sets 3 s in the Settings dialog; b then hands c1 to a. The handover's boundary must be
a 3 s cut (not the next full hour, nor 'at once' because the hour is further than handover_wait), and both
nodes' files must switch there.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core import catalog
from nvr_console.core.config import load_settings
from nvr_console.core.db.session import Database
from nvr_console.core.engine.host import EngineHost
from nvr_console.core.engine.recording_engine import Engine
from nvr_console.core.fleet import handover, leases
from nvr_console.ui.app import build_console
from tests.core.fleet.fleet_rig import TIMINGS, alive, holders, make_db, opened, rows
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet
from tests.support.mariadb import MariaDBServer
from tests.support.rtsp_peer import RtspServer
from tests.ui.dialogs.test_settings_dialog import save_in_the_dialog

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

NEW_SEGMENT = 3  # b's length from the start; a's after the dialog


@pytest.fixture
def user_file(isolated_env: Path) -> Iterator[Path]:
    path = isolated_env / ".config" / "nvr-console" / "config.toml"
    path.parent.mkdir(parents=True)
    yield path


def test_a_segment_length_saved_in_the_dialog_moves_the_handover_cut(
        qtbot, mariadb_server: MariaDBServer, rtsp_server: RtspServer,  # noqa: F811
        tmp_path: Path, user_file: Path) -> None:
    url = mariadb_server.create_database()
    db = make_db(url, 1, rtsp_server.url("/frames"))
    catalog.edit_camera(db, "R", "c1", pinned_node="a")
    # a's settings as an operator's config.toml: what the dialog edits and the console reloads.
    user_file.write_text(
        f'[database]\nurl = "{url}"\n'
        f'[node]\nname = "a"\nrecord = "true"\nlease_ttl = "10s"\nhandover_wait = "20s"\n'
        f'[recording]\nsegment_length = "1h"\ndir = "{tmp_path / "a" / "recordings"}"\n'
        f'[log]\ndir = "{tmp_path / "a" / "log"}"\n[upload]\ndestination = "none"\n', encoding="utf-8")
    settings = load_settings(system_config=tmp_path / "no-etc.toml")
    assert settings.recording.segment_length == 3600
    seen: dict[str, tuple[str, datetime]] = {}  # the handover's state and boundary, as the lease said

    def look() -> None:
        for lease in leases.read_table(db).leases.values():
            if lease.handover_state in handover.READY_STATES and lease.handover_boundary is not None:
                seen.setdefault("handover", (lease.handover_state, lease.handover_boundary))

    with NodeFleet(tmp_path, url, **{**TIMINGS, "segment_length": NEW_SEGMENT}) as fleet:
        b = fleet.start("b")
        qtbot.waitUntil(lambda: holders(db) == {"c1": "b"} and any(r.node == "b" for r in rows(db)), timeout=40_000)
        a_db = Database(url, fail_fast=True)
        host = EngineHost(settings, a_db, Engine(settings, a_db), shell="console")
        console = build_console(settings, a_db, host.engine)
        window = console.window
        window.close_question = lambda _active: "keep"  # type: ignore[method-assign]
        qtbot.addWidget(window)
        window.show()
        host.start()
        try:
            # a has joined (its fleet member runs, with 1 h segments); its settle time (TTL / 5 = 2 s) and its
            # recorder's connect still lie before any handover can be readied.
            qtbot.waitUntil(lambda: alive(db, "a"), timeout=20_000)
            said = save_in_the_dialog(qtbot, window, {"recording.segment_length": f"{NEW_SEGMENT}s"})
            assert said == ["Saved. Applied now: recording.segment_length."]

            def handed_over() -> bool:
                look()
                return holders(db) == {"c1": "a"}

            qtbot.waitUntil(handed_over, timeout=60_000)
            switched = time.time()  # after the boundary: a's files from here on are its own
            # Each node's files around the switch are finalized (a's next cut, b's last fraction).
            qtbot.waitUntil(lambda: any(r.node == "a" and r.start is not None and r.start.timestamp() > switched
                                        for r in rows(db)), timeout=30_000)
        finally:
            window.request_quit()
            assert host.stop(30)
            a_db.dispose()
        b.terminate()
        assert b.wait(60) == 0, b.log_tail()

    assert "handover" in seen, "no handover at a cut was seen (an immediate one: the member's grid was 1 h)"
    state, boundary = seen["handover"]
    assert state == handover.READY  # at a cut, not at once
    at = boundary.timestamp()
    assert at % NEW_SEGMENT == 0, boundary  # on the new grid
    got = rows(db)
    cut = datetime.fromtimestamp(at)  # local, as the files are named
    # A file opens at the first keyframe after its cut and is named to the second: within a second of it.
    slack = timedelta(seconds=1)
    # (b's files up to the switch: a hands c1 back to b when its console quits, well after it.)
    b_rows = sorted((r for r in got if r.node == "b" and opened(r) <= cut + slack), key=opened)
    a_rows = sorted((r for r in got if r.node == "a"), key=opened)
    # b stops just after its cut at the boundary (its last file opens there); a has a file opening there too.
    assert cut <= opened(b_rows[-1]) <= cut + slack, [(opened(r), r.path.name) for r in b_rows]
    assert any(cut <= opened(r) <= cut + slack for r in a_rows), [opened(r) for r in a_rows]
    db.dispose()
