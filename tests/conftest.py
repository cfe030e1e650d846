"""Shared fixtures: every test gets its own HOME/XDG folders and working directory, so nothing
reads or writes the developer's real settings, database or recordings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nvr_console.core.config import Settings, load_settings
from nvr_console.core.db.migrate import prepare_database
from nvr_console.core.db.session import Database
from tests.support.fixtures_rtsp import (  # noqa: F401 (shared fixtures)
    fresh_rtsp_server,
    rtsp_server,
    rtsp_server_session,
)
from tests.support.mariadb import MariaDBServer, mariadb_available

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                     ("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(var, str(home / sub))
    for var in list(os.environ):
        if var.startswith("NVR_") or var == "SQLALCHEMY_DATABASE_URI":
            monkeypatch.delenv(var)
    work = home / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # a stray .env in the checkout must not leak into tests
    return home


@pytest.fixture(autouse=True)
def no_engine_left_running() -> Iterator[None]:
    """A test that leaves an engine thread running fails here, and the engine is stopped, so the leak
    cannot abort a later test when Qt destroys a running thread."""
    yield
    from nvr_console.core.engine.host import _LIVE

    if _LIVE:
        hosts = list(_LIVE)
        for host in hosts:
            host.stop(10)
        pytest.fail(f"{len(hosts)} engine(s) left running by this test; call EngineHost.stop() in a finally block")


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """`settings_factory(**{"upload.destination": "local"})` -> Settings on a temp SQLite DB and folders."""

    def make(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "database.url": f"sqlite:///{(tmp_path / 'nvr.sqlite3').as_posix()}",
            "recording.dir": str(tmp_path / "recordings"),
            "upload.local_dir": str(tmp_path / "archive"),
            "log.dir": str(tmp_path / "log"),
            "drive.token": str(tmp_path / "config" / "drive-token.json"),
        }
        base.update({k: (str(v) if isinstance(v, Path) else v) for k, v in overrides.items()})
        return load_settings(overrides=base)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    return settings_factory()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database.url)
    prepare_database(database)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    if not mariadb_available():
        if os.environ.get("NVRTEST_REQUIRE_MARIADB") == "1":
            pytest.fail("MariaDB is not installed but the test command requires it (apt-get install mariadb-server)")
        pytest.skip("MariaDB is not installed; scripts/test installs it")
    server = MariaDBServer().start()
    yield server
    server.stop()


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer) -> str:
    return mariadb_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite file and on a real MariaDB server."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'any.sqlite3').as_posix()}"
    return request.getfixturevalue("mariadb_url")


# `scripts/test --quick` (NVRTEST_QUICK=1): the inner loop, without the peers (the RTSP server, MariaDB,
# node processes; a test that starts one itself is marked peer) and without the tests marked slow; the full run
# keeps them all.
PEER_FIXTURES = frozenset({"rtsp_server", "rtsp_server_session", "fresh_rtsp_server", "mariadb_server", "mariadb_url"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NVRTEST_QUICK") == "1":
        _keep_quick(config, items)
    # Longest first: scripts/test hands whole files to the pytest-xdist workers (--dist loadfile: a module's
    # fixtures are made once) in this order, so the .deb build and the slow and peer tests start at once and the
    # short ones fill the gaps beside them. A stable sort keeps each module's own order.
    items.sort(key=_weight)


# The longest test of all (CI builds and installs the .deb): first.
FIRST = ("tests/packaging/test_deb.py",)


def _weight(item: pytest.Item) -> int:
    if item.nodeid.startswith(FIRST):
        return 0
    if item.get_closest_marker("slow") or item.get_closest_marker("peer") or \
            PEER_FIXTURES & set(getattr(item, "fixturenames", ())):
        return 1
    return 2


def _keep_quick(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept, dropped = [], []
    for item in items:
        peers = PEER_FIXTURES & set(getattr(item, "fixturenames", ()))
        marked = any(item.get_closest_marker(m) for m in ("slow", "mariadb", "peer"))
        (dropped if peers or marked else kept).append(item)
    items[:] = kept
    config.hook.pytest_deselected(items=dropped)
