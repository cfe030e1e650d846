"""OutageBreaker with Database(fail_fast=True): a MariaDB server cut off by a black-holing TCP proxy costs one
caller its timeouts; the callers after it are refused without a connection attempt until the background probe
sees the server again. Real MariaDB, real PyMySQL errors."""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
from sqlalchemy.exc import OperationalError

from nvr_console.core import catalog
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.outage_breaker import is_unreachable
from nvr_console.core.db.session import Database, DatabaseUnavailable
from tests.core.fleet.fleet_rig import wait_for
from tests.support.mariadb import MariaDBServer
from tests.support.ports import free_port
from tests.support.tcp_proxy import TcpProxy


def test_only_an_unreachable_server_counts_as_an_outage() -> None:
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(host="127.0.0.1", port=free_port(), connect_timeout=2)
    assert refused.value.args[0] == 2003 and is_unreachable(refused.value)
    assert is_unreachable(OperationalError("SELECT 1", {}, pymysql.err.OperationalError(2013, "Lost connection")))
    # A live server's answers: a lock wait or a deadlock leaves the breaker closed.
    assert not is_unreachable(pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"))
    assert not is_unreachable(pymysql.err.OperationalError(1213, "Deadlock found"))
    assert not is_unreachable(ValueError("no code"))


def test_sqlite_has_no_breaker(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}", fail_fast=True)
    assert db.breaker is None
    db.dispose()


@pytest.mark.mariadb
def test_a_cut_off_server_costs_one_caller_its_timeouts_then_callers_are_refused_until_it_answers(
        mariadb_server: MariaDBServer, mariadb_url: str) -> None:
    with TcpProxy(mariadb_server.port) as proxy:
        url = mariadb_url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        db = Database(url + "?read_timeout=1&connect_timeout=1", fail_fast=True)
        prepare_database(db)
        catalog.add_room(db, "A-101")
        assert db.breaker is not None and not db.breaker.open
        proxy.cut()  # packets vanish: only timeouts end a call
        with pytest.raises(DatabaseUnavailable):
            catalog.list_rooms(db)
        assert db.breaker.open and db.breaker.trips == 1
        tried = proxy.attempts
        for _ in range(20):
            with pytest.raises(DatabaseUnavailable) as err:
                catalog.list_rooms(db)
        # Refused here, not at the server: no connection was opened for them (at most the probe's own).
        assert proxy.attempts - tried <= 2
        assert "checked again in the background" in str(err.value) and "cannot use the database" in str(err.value)
        proxy.restore()
        assert wait_for(lambda: not db.breaker.open, 15)  # type: ignore[union-attr]
        assert [r.name for r in catalog.list_rooms(db)] == ["A-101"]
        db.dispose()


@pytest.mark.mariadb
def test_without_fail_fast_every_caller_waits_for_the_server(mariadb_server: MariaDBServer, mariadb_url: str) -> None:
    """The CLI and migrations keep the plain behaviour: each call tries the server itself."""
    with TcpProxy(mariadb_server.port) as proxy:
        url = mariadb_url.replace(f":{mariadb_server.port}/", f":{proxy.port}/")
        db = Database(url + "?read_timeout=1&connect_timeout=1")
        prepare_database(db)
        assert db.breaker is None
        proxy.cut()
        tried = proxy.attempts
        for _ in range(2):
            with pytest.raises(DatabaseUnavailable):
                catalog.list_rooms(db)
        assert proxy.attempts - tried >= 1
        db.dispose()
