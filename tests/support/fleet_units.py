"""What the tests ask of the lease table in one call (the product reads it inside its own sessions)."""

from __future__ import annotations

from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases
from nvr_console.core.fleet.units import Unit, camera_rows_in, group


def wanted_units(db: Database) -> list[Unit]:
    """Every unit the cameras in the database make (as the fleet member groups them)."""
    with db.session() as s:
        return group(camera_rows_in(s))


def holds(db: Database, unit: str, node: str, token: int) -> bool:
    """The lease is `node`'s, under `token`, and live by the database's clock."""
    lease = leases.read_table(db).leases.get(unit)
    return lease is not None and lease.live and lease.holder == node and lease.token == token


def handover_target(db: Database, unit: str) -> str | None:
    """The node a handover of `unit` is going to, if one is asked."""
    lease = leases.read_table(db).leases.get(unit)
    return lease.desired_holder if lease is not None else None
