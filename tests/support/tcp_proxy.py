"""A TCP proxy the test controls: forward, cut, restore. Puts a network partition between a node and MariaDB.

    with TcpProxy(target_port=mariadb.port) as proxy:
        url = f"mysql+pymysql://root:@127.0.0.1:{proxy.port}/db"   # the node connects through it
        proxy.cut()        # partition: open connections hang (bytes go nowhere), new ones get no answer
        proxy.cut("reset") # or: every connection is closed at once and new ones are refused
        proxy.restore()    # the network is back: black-holed connections are closed, new ones go through

"blackhole" is what a pulled cable or a dead switch looks like to a client (only timeouts end it);
"reset" is what a restarted server or a firewall sending RSTs looks like. Threads of the test process;
`close()` stops everything.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from types import TracebackType
from typing import Literal

Mode = Literal["blackhole", "reset"]


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []  # accepted while cut (blackhole): never answered
        self._cut: Mode | None = None
        self._closing = False
        self.connections = 0  # accepted and forwarded, over the proxy's life
        self.attempts = 0  # every connection a client opened, cut or not
        self._thread = threading.Thread(target=self._accept_loop, name=f"tcp-proxy-{self.port}", daemon=True)
        self._thread.start()

    # --- control (any thread) ----------------------------------------------------------------------

    @property
    def is_cut(self) -> bool:
        return self._cut is not None

    def cut(self, mode: Mode = "blackhole") -> None:
        """Partition: nothing passes any more."""
        with self._lock:
            self._cut = mode
            if mode == "reset":
                self._close_all_locked()

    def restore(self) -> None:
        """Heal the partition: connections held in the black hole are closed (their peers reconnect)."""
        with self._lock:
            self._cut = None
            self._close_all_locked()

    def close(self) -> None:
        with self._lock:
            self._closing = True
            self._close_all_locked()
        self._thread.join(5)
        self._listener.close()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------------

    def _close_all_locked(self) -> None:
        for a, b in self._pairs:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
        for sock in self._held:
            with contextlib.suppress(OSError):
                sock.close()
        self._pairs.clear()
        self._held.clear()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.attempts += 1
                cut = self._cut
                if cut == "reset" or self._closing:
                    client.close()
                    continue
                if cut == "blackhole":
                    self._held.append(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True,
                             name=f"tcp-proxy-{self.port}-pump").start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                if self._cut is not None:
                    if self._closing or a.fileno() < 0:
                        return
                    time.sleep(0.05)  # black hole: leave the bytes where they are
                    continue
                try:
                    readable, _, _ = select.select([a, b], [], [], 0.2)
                except (OSError, ValueError):
                    return  # closed by cut/restore/close
                if self._cut is not None:
                    continue
                for sock in readable:
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    try:
                        peers[sock].sendall(data)
                    except OSError:
                        return
        finally:
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()
