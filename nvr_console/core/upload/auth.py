"""Google Drive sign-in: OAuth installed-app tokens, service accounts, and `anonymous` for test peers.

* `drive.credentials` = an OAuth client JSON ("installed"/"web"): the token made by `nvr-console drive login`
  (or copied with `drive import-token`) is read from `drive.token` and saved again after every refresh.
* `drive.credentials` = a service-account JSON: no token file; uploads need a shared drive
  (`drive.shared_drive`) because service accounts have no storage of their own.
* `drive.credentials` = `anonymous`: no credentials at all (only for a non-Google `drive.api_root`).
* `drive.credentials` empty but a token file exists: the token alone (it carries its client id).

Tokens and secrets are never logged nor put in exception text. Functions run on the calling thread; token
saving is serialised by a process-wide lock because several upload threads share one Credentials object.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import google.auth.credentials
import google.auth.transport
import google.oauth2.credentials
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import Request

from nvr_console.core.config import DEFAULT_DRIVE_ACCOUNT, Settings
from nvr_console.core.upload.drive_service import is_google_api_root
from nvr_console.core.upload.errors import SIGN_IN_AGAIN

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/drive.file"]
_SAVE_LOCK = threading.Lock()


class DriveAuthError(RuntimeError):
    """Sign-in is missing, unreadable or revoked; `str()` names the fix."""


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600 (created so from the start, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)  # umask cannot widen it, but an existing tmp might have been wider
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class SavingCredentials(google.oauth2.credentials.Credentials):
    """User credentials that write themselves to the token file after every refresh (any thread)."""

    _token_path: Path | None = None

    def refresh(self, request: google.auth.transport.Request) -> None:
        try:
            super().refresh(request)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
        except auth_exceptions.RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise auth_exceptions.RefreshError(
                    f"the Google Drive sign-in was revoked or has expired; {SIGN_IN_AGAIN}"
                ) from None
            raise
        if self._token_path is not None:
            save_token(self._token_path, self)


def save_token(path: Path, creds: google.oauth2.credentials.Credentials) -> None:
    """Save user credentials as authorized-user JSON with mode 0600."""
    with _SAVE_LOCK:
        write_private(path, creds.to_json())
    log.info("Google Drive token saved to %s", path)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DriveAuthError(f"{what} {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise DriveAuthError(f"{what} {path} is not readable JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise DriveAuthError(f"{what} {path} is not a JSON object")
    return data


def credentials_kind(settings: Settings) -> str:
    """'anonymous', 'service_account', 'oauth_client', 'token_only' or 'none'."""
    cred = settings.drive.credentials
    if cred == "anonymous":
        return "anonymous"
    if cred:
        data = _read_json(Path(cred), "Google credentials file")
        if data.get("type") == "service_account":
            return "service_account"
        if "installed" in data or "web" in data:
            return "oauth_client"
        if data.get("type") == "authorized_user":
            return "token_only"
        raise DriveAuthError(
            f"Google credentials file {cred} is neither an OAuth client (Desktop app) JSON nor a "
            "service-account key; download one from Google Cloud Console > APIs & Services > Credentials"
        )
    return "token_only" if settings.drive.token.exists() else "none"


def load_token(path: Path) -> SavingCredentials:
    data = _read_json(path, "Google Drive token file")
    if data.get("type") not in (None, "authorized_user") or "refresh_token" not in data:
        raise DriveAuthError(f"Google Drive token file {path} is not a signed-in token; {SIGN_IN_AGAIN}")
    # google-auth leaves it unannotated (untyped_calls_exclude misses a call through our subclass).
    creds: SavingCredentials = SavingCredentials.from_authorized_user_info(  # type: ignore[no-untyped-call]
        data, scopes=data.get("scopes") or SCOPES)
    if data.get("token_uri"):  # keep a non-Google token endpoint (proxies, tests); from_* overrides it
        creds._token_uri = data["token_uri"]
    creds._token_path = path
    return creds


def load_credentials(settings: Settings) -> google.auth.credentials.Credentials | None:
    """The credentials the uploader uses, or None for anonymous. Raises DriveAuthError with the fix."""
    kind = credentials_kind(settings)
    if kind == "anonymous":
        if is_google_api_root(settings.drive.api_root):
            raise DriveAuthError("drive.credentials = anonymous works only with a non-Google drive.api_root")
        return None
    if kind == "service_account":
        from google.oauth2 import service_account

        try:
            key: service_account.Credentials = service_account.Credentials.from_service_account_file(
                settings.drive.credentials, scopes=SCOPES)
            return key
        except (ValueError, KeyError) as exc:
            raise DriveAuthError(
                f"service-account key {settings.drive.credentials} is invalid ({type(exc).__name__}); "
                "download a new JSON key"
            ) from None
    if kind == "none" or not settings.drive.token.exists():
        flag = "" if settings.drive.account == DEFAULT_DRIVE_ACCOUNT else f" --account {settings.drive.account}"
        raise DriveAuthError(
            f"not signed in to Google Drive (no token at {settings.drive.token}); run `nvr-console drive login{flag}` "
            f"or copy a token made elsewhere with `nvr-console drive import-token{flag} FILE`"
        )
    return load_token(settings.drive.token)


def refresh_now(creds: google.auth.credentials.Credentials) -> None:
    """Refresh once (used by `drive status` to check a sign-in); raises DriveAuthError when revoked."""
    try:
        creds.refresh(Request())
    except auth_exceptions.RefreshError as exc:
        if SIGN_IN_AGAIN in str(exc) or "invalid_grant" in str(exc):
            raise DriveAuthError(f"the Google Drive sign-in was revoked or has expired; {SIGN_IN_AGAIN}") from None
        raise DriveAuthError(f"could not refresh the Google Drive sign-in: {type(exc).__name__}") from None
    except auth_exceptions.TransportError:
        raise DriveAuthError("cannot reach Google to check the sign-in (network?)") from None


def login(
    settings: Settings,
    *,
    port: int = 0,
    open_browser: bool = True,
    bind_addr: str | None = None,
    announce: Callable[[str], None] = print,
) -> Path:
    """Run the installed-app OAuth flow (a local redirect on `port`) and save the token; main thread.

    Over SSH: pass `open_browser=False` and a fixed `port`, tunnel it (`ssh -L PORT:localhost:PORT host`),
    and open the printed URL on your own machine.
    """
    if credentials_kind(settings) != "oauth_client":
        raise DriveAuthError(
            "drive.credentials must name an OAuth client JSON (type 'Desktop app') to sign in; set it with "
            "NVR_DRIVE_CREDENTIALS=/path/client_secret.json or in config.toml [drive] credentials = ..."
        )
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_secrets_file(settings.drive.credentials, scopes=SCOPES)
    message = (
        "Open this URL in a browser and allow access to Google Drive:\n\n    {url}\n\n"
        f"(the browser is sent back to http://localhost:{port or 'PORT'}/ on this machine; over SSH run "
        f"`ssh -L {port or 'PORT'}:localhost:{port or 'PORT'} THIS_HOST` first)"
    )
    kwargs: dict[str, Any] = {"port": port, "open_browser": open_browser, "authorization_prompt_message": message,
                              "success_message": "Signed in. You may close this window."}
    if bind_addr:
        kwargs["bind_addr"] = bind_addr
    # The flow prints the URL; over SSH stdout may be a pipe (block-buffered): make it reach the operator now.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(line_buffering=True)
    logging.getLogger("google_auth_oauthlib.flow").setLevel(logging.WARNING)  # it would log the URL twice
    creds = flow.run_local_server(**kwargs)
    if not getattr(creds, "refresh_token", None):
        raise DriveAuthError("Google returned no refresh token; remove the app's access in your Google account "
                             "settings and sign in again")
    save_token(settings.drive.token, creds)
    announce(f"signed in; token saved to {settings.drive.token} (mode 0600)")
    return settings.drive.token


def import_token(settings: Settings, source: Path) -> Path:
    """Copy a token file made on another machine into place (validated, mode 0600)."""
    data = _read_json(source, "token file")
    if "refresh_token" not in data or "client_id" not in data:
        raise DriveAuthError(
            f"{source} is not a Google Drive token (no refresh_token/client_id); make one with "
            "`nvr-console drive login` on a machine with a browser and copy that file"
        )
    data.setdefault("type", "authorized_user")
    write_private(settings.drive.token, json.dumps(data))
    return settings.drive.token


def logout(settings: Settings) -> bool:
    """Forget the saved token (the Google-side grant can be revoked in the account's security settings)."""
    try:
        settings.drive.token.unlink()
        return True
    except FileNotFoundError:
        return False
