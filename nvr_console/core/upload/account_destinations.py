"""Each Google account's settings, sign-in and folder cache, and the destination a worker uploads through.

Credentials are loaded once per account and shared by the workers (token saving is serialised in auth) until
reload() (the operator resumed: a new sign-in may have been saved). Folder caches live as long as the uploader.
"""

from __future__ import annotations

import threading

import google.auth.credentials

from nvr_console.core.config import Settings
from nvr_console.core.db.session import Database
from nvr_console.core.upload.auth import DriveAuthError, load_credentials
from nvr_console.core.upload.destinations import DriveDestination, LocalDestination
from nvr_console.core.upload.folders import DriveFolders


class AccountDestinations:
    """Per-account credentials and folders of the uploader. Any thread (guarded by the uploader's condition)."""

    def __init__(self, destination: str, db: Database, cond: threading.Condition, *, retry_base_s: float,
                 max_inline_retries: int) -> None:
        self._destination = destination  # "drive" or "local" (settings.effective_destination())
        self._db = db
        self._cond = cond
        self._retry_base = retry_base_s
        self._max_inline = max_inline_retries
        self._folders: dict[str, DriveFolders] = {}
        self.generation = 0  # destinations made before a change of it are to be made again
        self._creds: dict[str, google.auth.credentials.Credentials | None] = {}  # per account, this generation
        self._creds_loaded_gen = -1

    def reload(self) -> None:
        """Sign-ins are loaded again for the next destinations made."""
        with self._cond:
            self.generation += 1

    def make(self, settings: Settings, account: str) -> DriveDestination | LocalDestination:
        """A new destination for one worker (each has its own connection). Raises DriveAuthError."""
        if self._destination == "local":
            return LocalDestination(settings)
        account_settings = _account_settings(settings, account)
        with self._cond:
            folders = self._folders.setdefault(account, DriveFolders(account_settings, self._db, account))
        return DriveDestination(
            account_settings, folders, self._credentials(account_settings, account),
            retry_base_s=self._retry_base / 2, max_inline_retries=self._max_inline,
        )

    def forget_folder(self, account: str, folder_id: str) -> None:
        """Drive says the folder is gone: `account`'s cache forgets it."""
        folders = self._folders.get(account)
        if folders is not None:
            folders.forget(folder_id)

    def _credentials(self, settings: Settings, account: str) -> google.auth.credentials.Credentials | None:
        with self._cond:
            if self._creds_loaded_gen != self.generation:
                self._creds.clear()
                self._creds_loaded_gen = self.generation
            if account not in self._creds:
                self._creds[account] = load_credentials(settings)
            return self._creds[account]


def _account_settings(settings: Settings, account: str) -> Settings:
    try:
        return settings.for_drive_account(account)
    except KeyError as exc:
        raise DriveAuthError(str(exc.args[0])) from None
