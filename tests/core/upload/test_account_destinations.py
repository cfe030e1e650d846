"""Per-account destinations: local or Drive, an unknown account a clear error, one sign-in per account shared
until reload()."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.upload.account_destinations import AccountDestinations
from nvr_console.core.upload.auth import DriveAuthError
from nvr_console.core.upload.destinations import DriveDestination, LocalDestination
from tests.support.drive_server import DriveServer
from tests.support.drive_token import write_fresh_token


def _accounts(destination: str, db: Database) -> AccountDestinations:
    return AccountDestinations(destination, db, threading.Condition(), retry_base_s=2.0, max_inline_retries=6)


def test_a_local_archive_needs_no_account(settings_factory: Callable[..., Settings], db: Database) -> None:
    settings = settings_factory(**{"upload.destination": "local"})
    assert isinstance(_accounts("local", db).make(settings, "default"), LocalDestination)


def test_an_account_not_in_the_settings_is_a_sign_in_error_naming_it(
    settings_factory: Callable[..., Settings], db: Database, drive: DriveServer,
) -> None:
    settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": drive.root_url,
                                   "drive.credentials": "anonymous"})
    with pytest.raises(DriveAuthError, match="campus9.*drive.accounts"):
        _accounts("drive", db).make(settings, "campus9")


def test_the_sign_in_is_loaded_once_and_again_after_reload(
    settings_factory: Callable[..., Settings], db: Database, drive: DriveServer,
) -> None:
    settings = settings_factory(**{"upload.destination": "drive", "drive.api_root": drive.root_url})
    write_fresh_token(settings.drive.token)
    accounts = _accounts("drive", db)
    first = accounts.make(settings, "default")
    assert isinstance(first, DriveDestination)
    settings.drive.token.unlink()  # signed out on disk: destinations made now still share the loaded sign-in
    second = accounts.make(settings, "default")
    assert isinstance(second, DriveDestination) and second is not first  # one per worker
    generation = accounts.generation
    accounts.reload()
    assert accounts.generation == generation + 1  # workers make their destinations again
    with pytest.raises(DriveAuthError, match="drive login"):
        accounts.make(settings, "default")
