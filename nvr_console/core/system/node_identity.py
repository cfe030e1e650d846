"""Who this engine is (`host:pid`), and whether another engine on this host is still alive.

Rows an engine claims (uploads) or reports (camera status) carry this name, so a restarted process can
tell its dead predecessor's claims from a live neighbour's.
"""

from __future__ import annotations

import getpass
import os
import socket

from nvr_console.core.system.process_group import pid_alive


def node_name(pid: int | None = None) -> str:
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def operator_name(node: str) -> str:
    """Who is acting, as an acknowledge records it: the OS user at the node (`node.name`): "anna@desk-2"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container), no USER/LOGNAME: the uid then
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown user"
    return f"{user}@{node}"


def dead_local_node(name: str | None) -> bool:
    """True if `name` is an engine on THIS host whose process no longer exists."""
    if not name:
        return False
    host, _, pid_text = name.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    return not _pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    # On Windows os.kill(pid, 0) would terminate the process, so there we conservatively report
    # "alive" and rely on the lease expiry.
    if os.name != "posix":
        return True
    return pid_alive(pid)
