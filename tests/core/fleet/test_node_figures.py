"""Each node's own figures in its row (issue 17: `nodes list` showed FREE DISK empty and a queue that never
changed): two `nvr-console --no-gui` nodes as OS processes on the real MariaDB, recording the loopback RTSP
server, one uploading to its local archive and one not, the second with its recordings on a disk of its own
(a 6 GiB tmpfs: above retention.min_free_space, so the disk guard lets it record)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nvr_console.cli.main import main
from tests.core.fleet.fleet_rig import TIMINGS, make_db, wait_for
from tests.support.fixtures_rtsp import rtsp_server  # noqa: F401
from tests.support.fleet_nodes import NodeFleet
from tests.support.mariadb import MariaDBServer
from tests.support.rtsp_peer import RtspServer
from tests.support.small_disk import small_disk

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

GIB = 1024**3


def _nodes(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    assert main(["nodes", "list", "--json", "--database-url", url]) == 0
    return {n["name"]: n for n in json.loads(capsys.readouterr().out)}


def test_nodes_list_shows_each_nodes_own_free_disk_and_queue(
        mariadb_server: MariaDBServer, rtsp_server: RtspServer, tmp_path: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    url = mariadb_server.create_database()
    db = make_db(url, 2, rtsp_server.url("/frames"))
    with small_disk(tmp_path / "n2" / "recordings", 6 * GIB) as disk, NodeFleet(tmp_path, url, **TIMINGS) as fleet:
        fleet.start("n1", destination="local")
        n2 = fleet.start("n2")  # uploads off: its finished files stay in its queue
        seen: list[dict[str, dict[str, Any]]] = []

        def figures() -> bool:
            nodes = _nodes(capsys, url)
            seen.append(nodes)
            one, two = nodes.get("n1"), nodes.get("n2")
            return (one is not None and two is not None and one["cameras_held"] == two["cameras_held"] == 1
                    and two["queue_files"] >= 2 and one["free_disk"] is not None and two["free_disk"] is not None)

        assert wait_for(figures, 60), ({k: {f: v.get(f) for f in ("cameras_held", "free_disk", "queue_files")}
                                        for k, v in seen[-1].items()}, n2.log_tail())
        first = seen[-1]
        # Each its own disk: n1 the test's file system, n2 its tmpfs (what the disk guard measured, a few
        # seconds ago: within what a few segments take).
        assert abs(first["n1"]["free_disk"] - shutil.disk_usage(tmp_path).free) < 512 * 1024**2
        assert abs(first["n2"]["free_disk"] - shutil.disk_usage(disk).free) < 16 * 1024**2
        assert first["n2"]["free_disk"] <= 6 * GIB < first["n1"]["free_disk"]
        # n2's queue grows as it records, its disk fills; n1 uploads what it records (its queue stays short).
        assert wait_for(lambda: (n := _nodes(capsys, url)["n2"])["queue_files"] >= first["n2"]["queue_files"] + 2
                        and n["free_disk"] < first["n2"]["free_disk"], 30)
        last = _nodes(capsys, url)
        assert last["n2"]["queue_bytes"] > first["n2"]["queue_bytes"] > 0
        assert last["n1"]["queue_files"] <= 1 and any((tmp_path / "n1" / "archive").rglob("*.mp4"))
    db.dispose()
