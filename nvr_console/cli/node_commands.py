"""`nvr-console nodes list [--json] | drain NAME [--wait S] | forget NAME [--force]`: the machines sharing the database.

Registered by `add_nodes_parser()` from cli/parser.py and run by `run_nodes()` from cli/admin_commands.py
(main thread).
"""

from __future__ import annotations

import argparse
import time

from nvr_console.cli.output import human_size, print_json, print_table
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.registry import NodeInfo

NODES_HELP = """\
the machines (nodes) sharing this database: recorders and control stations.

A recorder holds a lease on each camera it records; when it stops renewing them (crash, power, network),
its cameras move to the other recorders within about node.lease_ttl. `drain` moves a recorder's cameras
to the others at their next segment boundary (no frame lost), e.g. before maintenance."""


def add_nodes_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the `nodes` command group to the top-level subparsers (parents=[common] like the others)."""
    gp = sub.add_parser("nodes", help="the machines sharing the database: list, drain, forget",
                        description=NODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                        parents=[common])
    actions = gp.add_subparsers(dest="action", metavar="ACTION", required=True)
    c = actions.add_parser("list", help="every node: role, alive or last seen, cameras, disk, upload queue",
                           description="every node: role, alive or last seen, cameras, disk, upload queue",
                           parents=[common])
    c.add_argument("--json", action="store_true", help="print JSON for scripts")
    c = actions.add_parser("drain", help="move a recorder's cameras to the other recorders (no frame lost)",
                           description="move a recorder's cameras to the other recorders at their next segment "
                           "boundary, and give it no new ones until it restarts", parents=[common])
    c.add_argument("name", metavar="NAME")
    c.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to this long until it holds no camera (exit 1 if it still does)")
    c = actions.add_parser("forget", help="remove a dead node's row once its files are dealt with",
                           description="remove a dead node's row once its recordings are uploaded", parents=[common])
    c.add_argument("name", metavar="NAME")
    c.add_argument("--force", action="store_true", help="even if recordings on its disk are not uploaded yet")


def run_nodes(args: argparse.Namespace, db: Database) -> int:
    if args.action == "list":
        return _list(args, db)
    if args.action == "drain":
        return _drain(args, db)
    info = registry.forget(db, args.name, force=args.force)
    print(f"forgot node {info.name!r}; its cameras go to the live recorders")
    return 0


def _state(n: NodeInfo) -> str:
    if n.alive:
        return "draining" if n.draining else "alive"
    return f"offline {_ago(n.seconds_since_heartbeat)}"


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h"
    return f"{seconds / 86400:.0f}d"


def _list(args: argparse.Namespace, db: Database) -> int:
    nodes = registry.list_nodes(db)
    if args.json:
        print_json([n.public() for n in nodes])
        return 0
    print_table(
        ("name", "role", "state", "version", "cameras", "free disk", "queue", "uploads"),
        [(n.name, n.role, _state(n), n.version,
          f"{n.cameras_held}/{n.max_cameras}" if n.max_cameras else n.cameras_held,
          human_size(n.free_disk), f"{n.queue_files} ({human_size(n.queue_bytes)})",
          f"PAUSED: {n.pause_reason}" if n.uploads_paused else "running") for n in nodes],
        empty="no nodes yet: every nvr-console that records (or a console) registers when it starts",
    )
    return 0


def _drain(args: argparse.Namespace, db: Database) -> int:
    info = registry.set_draining(db, args.name)
    if not info.alive:
        print(f"node {info.name!r} is offline: its cameras already go to the other recorders; it will take none "
              "until it restarts")
        return 0
    print(f"draining node {info.name!r}: its {info.cameras_held} camera(s) move to the other recorders at their "
          "next segment boundary; `nvr-console nodes list` shows the progress")
    if args.wait <= 0:
        return 0
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        held = sum(1 for h in leases.camera_holders(db).values() if h.node == info.name and h.live)
        if held == 0:
            print(f"node {info.name!r} holds no camera now")
            return 0
        time.sleep(1.0)
    print(f"node {info.name!r} still holds {held} camera(s) after {args.wait:.0f} s (no other recorder with room?)")
    return 1
