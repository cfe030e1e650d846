"""Read-only Drive look-ups for the console: which account is signed in, and what a pasted folder id names.

Each call builds its own Drive service with the uploader's factory (same `drive.api_root`, same credentials),
because httplib2 is not thread-safe. Every function that talks to Drive blocks on the network: call it on a
worker thread (the console uses ui/background.py), never on the UI thread. Errors are `DriveLookupError`s
whose text names the thing and the fix and never carries a token.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from nvr_console.core.config import Settings
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.auth import DriveAuthError, credentials_kind, load_credentials
from nvr_console.core.upload.drive_service import build_drive_service
from nvr_console.core.upload.errors import SIGN_IN_AGAIN, http_error_reason
from nvr_console.core.upload.folders import FOLDER_MIME

if TYPE_CHECKING:
    from googleapiclient._apis.drive.v3 import DriveResource

LOOKUP_TIMEOUT_S = 15.0  # an operator is waiting for a label: give up well before the library's 60 s
_RETRIES = 1  # one retry of a 5xx/429/reset (the library's own backoff), then say it could not be checked


class DriveLookupError(RuntimeError):
    """A look-up failed; `str()` is one operator sentence naming the thing and the fix."""


class DriveUnreachable(DriveLookupError):
    """Drive could not be asked (offline, timeout, server busy): nothing is known either way."""


class FolderProblem(DriveLookupError):
    """Drive answered, and the id is not a usable folder (missing, not visible, not a folder, in the trash)."""


@dataclass(frozen=True)
class Account:
    """The account uploads run as."""

    email: str
    display_name: str = ""


@dataclass(frozen=True)
class DriveItem:
    """What Drive says about an id: plain data for the UI."""

    id: str
    name: str
    is_folder: bool
    trashed: bool


def drive_ready(settings: Settings) -> bool:
    """True when uploads go to Drive and some sign-in exists, so a look-up can be tried. No network."""
    if settings.effective_destination() != "drive":
        return False
    try:
        kind = credentials_kind(settings)
    except DriveAuthError:
        return False
    if kind == "oauth_client":
        return settings.drive.token.exists()
    return kind != "none"


def service_account_email(settings: Settings) -> str | None:
    """`client_email` of a service-account key (no network), or None when `drive.credentials` is not one."""
    if not settings.drive.credentials or settings.drive.credentials == "anonymous":
        return None
    try:
        data = json.loads(Path(settings.drive.credentials).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        return None
    email = data.get("client_email")
    return email if isinstance(email, str) and email else None


def signed_in_account(settings: Settings, *, timeout: float = LOOKUP_TIMEOUT_S) -> Account:
    """The signed-in account, from Drive's `about.get` (service accounts: from the key, no network).

    Blocks on the network: worker thread. Raises DriveLookupError (DriveUnreachable when offline).
    """
    email = service_account_email(settings)
    if email is not None:
        return Account(email)
    service = _service(settings, timeout)
    try:
        return _about(service)
    except Exception as exc:
        raise _lookup_error(exc, settings, "the signed-in account") from None


def get_drive_item(settings: Settings, file_id: str, *, timeout: float = LOOKUP_TIMEOUT_S) -> DriveItem:
    """Name, kind and trash state of `file_id` as the signed-in account sees it.

    Blocks on the network: worker thread. 403/404 raise FolderProblem naming the account to share with;
    offline raises DriveUnreachable; a sign-in problem raises DriveLookupError.
    """
    service = _service(settings, timeout)
    try:
        meta = service.files().get(
            fileId=file_id, fields="id,name,mimeType,trashed", supportsAllDrives=True
        ).execute(num_retries=_RETRIES)
    except HttpError as exc:
        status, reason, _ = http_error_reason(exc)
        if status in (403, 404) and reason not in _BUSY_403:
            who = _account_for_message(settings, service)
            raise FolderProblem(
                f"no Drive folder with id {file_id} is visible to {who}; check the link or share the folder with "
                f"{who} (Editor). A folder nvr-console did not create may stay hidden from its drive.file sign-in: "
                "then leave the room's folder empty to use the root folder"
            ) from None
        raise _lookup_error(exc, settings, f"the Drive folder {file_id}") from None
    except Exception as exc:
        raise _lookup_error(exc, settings, f"the Drive folder {file_id}") from None
    return DriveItem(
        id=str(meta.get("id") or file_id),
        name=str(meta.get("name") or ""),
        is_folder=meta.get("mimeType") == FOLDER_MIME,
        trashed=bool(meta.get("trashed")),
    )


def check_room_folder(settings: Settings, folder_id: str, *, timeout: float = LOOKUP_TIMEOUT_S) -> DriveItem:
    """`get_drive_item`, plus FolderProblem when the id is a file or is in the trash. Worker thread."""
    item = get_drive_item(settings, folder_id, timeout=timeout)
    if not item.is_folder:
        raise FolderProblem(f"{item.name!r} ({folder_id}) is a file, not a folder; paste the link of the folder "
                            "that should hold this room's recordings")
    if item.trashed:
        raise FolderProblem(f"the Drive folder {item.name!r} ({folder_id}) is in the trash; restore it in Drive "
                            "or choose another folder")
    return item


# ---------------------------------------------------------------------------------------- internals

# 403 reasons that mean "slow down", not "you may not see this".
_BUSY_403 = {"rateLimitExceeded", "userRateLimitExceeded", "sharingRateLimitExceeded", "backendError"}


def _service(settings: Settings, timeout: float) -> DriveResource:
    try:
        creds = load_credentials(settings)
        return build_drive_service(settings.drive.api_root, creds, timeout=timeout)
    except DriveAuthError as exc:
        raise DriveLookupError(str(exc)) from None
    except ValueError as exc:  # an unusable drive.api_root, or anonymous against Google: the text says which
        raise DriveLookupError(mask_secrets(str(exc))) from None


def _about(service: DriveResource) -> Account:
    data = service.about().get(fields="user(emailAddress,displayName)").execute(num_retries=_RETRIES)
    user = data.get("user") or {}
    email = str(user.get("emailAddress") or "")
    if not email:
        raise DriveLookupError(f"Google Drive did not say which account is signed in; {SIGN_IN_AGAIN}")
    return Account(email, str(user.get("displayName") or ""))


def _account_for_message(settings: Settings, service: DriveResource) -> str:
    """Who to share a folder with, for an error text: best effort, 'the signed-in account' when unknown."""
    email = service_account_email(settings)
    if email is not None:
        return email
    try:
        return _about(service).email
    except Exception:  # the folder error is what matters; the account only makes it more precise
        return "the signed-in account"


def _lookup_error(exc: BaseException, settings: Settings, what: str) -> DriveLookupError:
    """One operator sentence for a failed look-up of `what`."""
    if isinstance(exc, DriveLookupError):
        return exc
    root = settings.drive.api_root
    if isinstance(exc, HttpError):
        status, reason, message = http_error_reason(exc)
        shown = mask_secrets(" ".join(p for p in (str(status), reason, message) if p))[:200]
        if status == 401:
            return DriveLookupError(f"Google Drive refused the sign-in while looking up {what} ({shown}); "
                                    f"{SIGN_IN_AGAIN}")
        if status >= 500 or status in (408, 429) or (status == 403 and reason in _BUSY_403):
            return DriveUnreachable(f"Google Drive at {root} is busy or failing ({shown}); {what} could not be "
                                    "checked, try again in a minute")
        return DriveLookupError(f"Google Drive refused to show {what} ({shown}); check the sign-in and the link")
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc)
        if SIGN_IN_AGAIN in text or "invalid_grant" in text:
            return DriveLookupError(f"the Google Drive sign-in was revoked or has expired; {SIGN_IN_AGAIN}")
        return DriveUnreachable(f"could not refresh the Google Drive sign-in ({type(exc).__name__}); {what} could "
                                "not be checked, check the network")
    if isinstance(exc, auth_exceptions.TransportError):
        return DriveUnreachable(f"cannot reach Google sign-in ({type(exc).__name__}); {what} could not be checked, "
                                "check the network")
    if isinstance(exc, httplib2.HttpLib2Error | http.client.HTTPException | OSError):
        detail = mask_secrets(str(exc))[:160]
        # Also what a token refresh raises when Google's sign-in endpoint cannot be reached.
        return DriveUnreachable(f"cannot reach Google Drive at {root} or Google sign-in ({type(exc).__name__}: "
                                f"{detail}); {what} could not be checked, check the network")
    return DriveLookupError(f"looking up {what} failed: {type(exc).__name__}: {mask_secrets(str(exc))[:160]}")
