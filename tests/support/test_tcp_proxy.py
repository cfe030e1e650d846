"""The TCP proxy test peer: forwards, cuts (black hole or reset) and restores, in front of the real MariaDB."""

from __future__ import annotations

import time

import pymysql
import pytest

from nvr_console.core.db.session import Database, DatabaseUnavailable
from tests.support.mariadb import MariaDBServer
from tests.support.tcp_proxy import TcpProxy


def _connect(port: int, timeout: float = 2) -> pymysql.connections.Connection:
    return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", connect_timeout=timeout,
                           read_timeout=timeout, write_timeout=timeout)


def _select_one(conn: pymysql.connections.Connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        row = cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.mark.mariadb
def test_forward_blackhole_and_restore(mariadb_server: MariaDBServer) -> None:
    with TcpProxy(mariadb_server.port) as proxy:
        conn = _connect(proxy.port)
        assert _select_one(conn) == 1 and proxy.connections == 1
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError):
            _select_one(conn)  # the query hangs in the black hole until read_timeout
        assert 1.5 < time.monotonic() - started < 10
        with pytest.raises(pymysql.err.OperationalError):
            _connect(proxy.port, timeout=1)  # the server's greeting never comes
        proxy.restore()
        assert _select_one(_connect(proxy.port)) == 1


@pytest.mark.mariadb
def test_reset_closes_at_once_and_refuses(mariadb_server: MariaDBServer) -> None:
    with TcpProxy(mariadb_server.port) as proxy:
        conn = _connect(proxy.port, timeout=30)
        assert _select_one(conn) == 1
        proxy.cut("reset")
        started = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError):
            _select_one(conn)
        with pytest.raises(pymysql.err.OperationalError):
            _connect(proxy.port, timeout=30)
        assert time.monotonic() - started < 5  # no waiting for timeouts
        proxy.restore()
        assert _select_one(_connect(proxy.port)) == 1


@pytest.mark.mariadb
def test_a_database_behind_a_black_hole_fails_within_its_timeouts(mariadb_server: MariaDBServer) -> None:
    """Database(read_timeout_s=...) bounds every statement: a partition never hangs the calling thread."""
    url = mariadb_server.create_database()
    with TcpProxy(mariadb_server.port) as proxy:
        db = Database(url.replace(f":{mariadb_server.port}/", f":{proxy.port}/"), read_timeout_s=1)
        db.check_connection()
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable), db.session() as s:
            s.connection().exec_driver_sql("SELECT 1")
        assert time.monotonic() - started < 15  # the read timeout on the ping, then the connect timeout (5 s)
        proxy.restore()
        db.check_connection()
        db.dispose()
