"""What a console shows of the fleet, read in two queries whatever the number of cameras: every node (the
Nodes view) and each camera's holder (the camera table's Node column). Any thread; plain data out."""

from __future__ import annotations

from dataclasses import dataclass, field

from nvr_console.core.db.models import NodeRole
from nvr_console.core.db.session import Database
from nvr_console.core.fleet import leases, registry
from nvr_console.core.fleet.registry import NodeInfo


@dataclass(frozen=True)
class CameraNode:
    """Who records a camera, as the console shows it."""

    node: str
    online: bool  # the holder's node is alive (by the database's clock)

    @property
    def text(self) -> str:
        return self.node if self.online else f"offline node {self.node}"


@dataclass(frozen=True)
class FleetOverview:
    nodes: list[NodeInfo]
    cameras: dict[int, CameraNode] = field(default_factory=dict)  # camera id -> holder; absent: nobody holds it

    @property
    def several(self) -> bool:
        """More than one node shares the database: a single machine shows no Node column."""
        return len(self.nodes) > 1

    def recorders(self) -> list[str]:
        """Names of the recorder nodes (alive or not): the choices of a pinned node."""
        return [n.name for n in self.nodes if n.role == NodeRole.RECORDER.value]


def read_overview(db: Database) -> FleetOverview:
    nodes = registry.list_nodes(db)
    cameras = {cid: CameraNode(h.node, h.node_alive) for cid, h in leases.camera_holders(db).items()
               if h.node is not None}
    return FleetOverview(nodes, cameras)


def recorder_names(db: Database) -> list[str]:
    """Every recorder node's name, alive or not (the editors' "Record on node" choices). Any thread."""
    return [n.name for n in registry.list_nodes(db) if n.role == NodeRole.RECORDER.value]
