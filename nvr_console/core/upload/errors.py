"""What an upload failure means for the queue: retry soon, start a new session, pause everything, or give up
on this one file.

Every error carries one operator sentence (`str()`), never a credential or a token.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from nvr_console.core.text.masking import mask_secrets

SIGN_IN_AGAIN = "sign in again with `nvr-console drive login`"


class UploadError(Exception):
    """Base class; `str()` is the operator sentence."""


class Retryable(UploadError):
    """Transient (5xx, 429, rate limit, network): back off and resume from the server's offset."""


class SessionExpired(UploadError):
    """The resumable session is gone (404/410): start a new one from byte 0."""


class Fatal(UploadError):
    """Nothing will upload until the operator acts (quota full, daily limit, sign-in revoked, no permission):
    the whole queue pauses with this message."""


class DailyCapReached(Fatal):
    """Drive's daily upload cap (750 GB per account per Pacific day) for the signed-in account: only that
    account's uploads wait, and try again every `drive.cap_probe_every` (the cap lifts at an hour nobody
    is told)."""


class FileFailed(UploadError):
    """This one file cannot be uploaded as it is (unreadable, rejected request); others go on."""


class FolderMissing(UploadError):
    """A cached Drive folder does not exist any more (deleted on Drive): forget it and create it again."""

    def __init__(self, folder_id: str) -> None:
        super().__init__(f"the Drive folder {folder_id} no longer exists; creating it again")
        self.folder_id = folder_id


class VerifyMismatch(Retryable):
    """Drive's copy differs from the local file in size or MD5: the bad copy is deleted and we upload again."""


def http_error_reason(exc: HttpError) -> tuple[int, str, str]:
    """(status, first error reason, message) of a Google-shaped HttpError."""
    status = int(getattr(exc.resp, "status", 0) or 0)
    reason, message = "", ""
    content: Any = exc.content
    try:
        data = json.loads(content.decode("utf-8") if isinstance(content, bytes) else content)
        err = data.get("error", {}) if isinstance(data, dict) else {}
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            errors = err.get("errors") or []
            if errors and isinstance(errors[0], dict):
                reason = str(errors[0].get("reason") or "")
                message = str(errors[0].get("message") or message)
            if not reason:
                reason = str(err.get("status") or "")
        elif isinstance(err, str):  # OAuth-style {"error": "invalid_grant"}
            reason = err
    except (ValueError, AttributeError, UnicodeDecodeError):
        message = ""
    return status, reason, message


# 403 reasons Google documents as "slow down and retry".
_RETRYABLE_403 = {"rateLimitExceeded", "userRateLimitExceeded", "sharingRateLimitExceeded", "backendError"}
# The undocumented 750 GB/day cap arrives as userRateLimitExceeded with exactly this message.
_UPLOAD_CAP_MESSAGE = "User rate limit exceeded."
_PERMISSION_403 = {"insufficientFilePermissions", "insufficientPermissions", "forbidden",
                   "appNotAuthorizedToFile", "insufficientParentPermissions", "teamDriveFileLimitExceeded"}


def classify(exc: BaseException, what: str = "Google Drive") -> UploadError:
    """Map a client-library or transport exception to an UploadError subclass with an operator sentence."""
    if isinstance(exc, UploadError):
        return exc
    if isinstance(exc, HttpError):
        status, reason, message = http_error_reason(exc)
        shown = mask_secrets(f"{status} {reason or ''} {message}".strip())
        if status in (404, 410):
            return SessionExpired(f"{what}: the upload session expired ({shown}); starting a new one")
        if status >= 500 or status == 429 or status == 408:
            return Retryable(f"{what} is busy or failing ({shown}); retrying")
        if status == 401:
            return Fatal(f"{what} refused our sign-in ({shown}); {SIGN_IN_AGAIN}")
        if status == 403:
            if reason in ("storageQuotaExceeded", "quotaExceeded", "teamDriveStorageQuotaExceeded"):
                return Fatal(
                    f"{what} storage is full ({shown}); free space or buy storage, then press Resume uploads"
                )
            if reason == "dailyLimitExceeded":
                return Fatal(f"{what} daily API limit reached ({shown}); uploads resume after the limit resets")
            if reason == "userRateLimitExceeded" and message.strip() == _UPLOAD_CAP_MESSAGE:
                return DailyCapReached(
                    f"{what} daily upload cap (750 GB/day per account) reached ({shown}); "
                    "uploads resume within 24 hours"
                )
            if reason in _RETRYABLE_403:
                return Retryable(f"{what} rate limit ({shown}); slowing down and retrying")
            if reason in _PERMISSION_403:
                return Fatal(
                    f"{what} denied permission to the upload folder ({shown}); share the folder with the "
                    "signed-in account (Editor) or clear the room's Drive folder, then press Resume uploads"
                )
            return Fatal(f"{what} refused the upload ({shown}); check the account and folder, then resume")
        return FileFailed(f"{what} rejected the request ({shown})")
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc)
        if "invalid_grant" in text or "revoked" in text.lower() or "expired" in text.lower():
            return Fatal(f"the Google Drive sign-in was revoked or has expired; {SIGN_IN_AGAIN}")
        return Retryable("could not refresh the Google Drive sign-in (network?); retrying")
    if isinstance(exc, auth_exceptions.TransportError):
        return Retryable(f"cannot reach Google sign-in ({type(exc).__name__}); retrying")
    if isinstance(exc, httplib2.HttpLib2Error | http.client.HTTPException | socket.timeout | OSError):
        return Retryable(f"network error talking to {what} ({type(exc).__name__}: {mask_secrets(str(exc))[:200]})")
    return FileFailed(f"unexpected error uploading to {what}: {type(exc).__name__}: {mask_secrets(str(exc))[:200]}")


class Stopped(UploadError):
    """The uploader is stopping (or lost its claim): leave the row resumable and return."""
