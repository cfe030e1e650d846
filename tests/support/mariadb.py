"""A throwaway MariaDB server for tests: its own data dir, port and socket; gone when stopped.

mariadb-install-db, then mariadbd --no-defaults on its own port and socket. pytest-mysql drives mysqld_safe,
which insists on a system layout; a 60-line fixture of our own is simpler to trust.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pymysql

from tests.support.ports import free_port

SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/bin")


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (str(Path(d) / name) for d in SEARCH if (Path(d) / name).exists()), None
        )
        if found:
            return found
    return None


def mariadb_available() -> bool:
    return bool(_find("mariadbd", "mysqld") and _find("mariadb-install-db", "mysql_install_db"))


class MariaDBServer:
    """Start with `start()`, make databases with `create_database()`, stop with `stop()`."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = Path(base or tempfile.mkdtemp(prefix="nvr-mariadb-"))
        self.port = free_port()
        self.socket = self.base / "mysqld.sock"
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = 0

    def start(self, timeout: float = 60) -> MariaDBServer:
        mariadbd = _find("mariadbd", "mysqld")
        install = _find("mariadb-install-db", "mysql_install_db")
        if not (mariadbd and install):
            raise RuntimeError("MariaDB is not installed: apt-get install mariadb-server (scripts/test does it)")
        data = self.base / "data"
        subprocess.run(
            [install, "--no-defaults", f"--datadir={data}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._serve(mariadbd, data, deadline):
                return self
            # Another process (a pytest-xdist worker's peer) bound the port free_port() gave us between that
            # call and mariadbd's bind: take another. Anything else is an error.
            if "Address already in use" not in self._log_tail() or time.monotonic() > deadline:
                tail = self._log_tail()
                self.stop()
                raise RuntimeError(f"MariaDB did not start on port {self.port}:\n{tail}")
            self.port = free_port()

    def _log_tail(self) -> str:
        return (self.base / "mariadbd.log").read_text(errors="replace")[-2000:]

    def _serve(self, mariadbd: str, data: Path, deadline: float) -> bool:
        """Start mariadbd on self.port; True once it answers, False if it exited or did not answer in time."""
        self.log = open(self.base / "mariadbd.log", "wb")  # noqa: SIM115 - kept open while it runs
        self.proc = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", "--user=root", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.socket}", "--skip-log-bin",
             "--innodb-buffer-pool-size=32M", "--skip-name-resolve"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        while True:
            try:
                # Through our own socket: over TCP a server of another worker that holds the port would answer.
                # mariadbd opens the socket after binding the TCP port, so this answer means the port is ours.
                pymysql.connect(unix_socket=str(self.socket), user="root", password="").close()
                return True
            except pymysql.err.OperationalError:
                if self.proc.poll() is not None:
                    self.log.close()
                    return False
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.2)

    def create_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL (mysql+pymysql://root:@127.0.0.1:PORT/db)."""
        self._counter += 1
        name = f"nvr_test_{self._counter}"
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="")
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
        return f"mysql+pymysql://root:@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)
