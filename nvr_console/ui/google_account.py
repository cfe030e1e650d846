"""The console's Google account: the toolbar action's label (who is signed in), what clicking it does (sign
in, or say who), and the status-bar words for where finished files go. UI thread unless a docstring says
otherwise; Drive is asked on a pool thread (ui.background) and its answer cached per sign-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox

from nvr_console.core.config import Settings
from nvr_console.core.text.masking import mask_secrets
from nvr_console.core.upload.where_files_go import where_files_go
from nvr_console.ui.background import run_in_background

if TYPE_CHECKING:  # the Drive client is imported when an account is first looked up, not at start-up
    from nvr_console.core.upload.drive_lookup import Account

log = logging.getLogger(__name__)

# (kind, API root, credentials file, token file): a new sign-in changes one of them.
Identity = tuple[str, str, str, str]
SIGNED_IN_KINDS = ("token_only", "service_account", "anonymous")


def look_up_account(settings: Settings, identity: Identity) -> tuple[Identity, Account | str]:
    """(identity, Account or the failure sentence) for the Google action. Pool thread (network)."""
    from nvr_console.core.upload.drive_lookup import DriveLookupError, signed_in_account

    try:
        return identity, signed_in_account(settings)
    except DriveLookupError as exc:
        return identity, str(exc)
    except Exception as exc:  # the label must still settle: keep "signed in" and say why in the tooltip
        return identity, f"{type(exc).__name__}: {mask_secrets(str(exc))[:200]}"


def credentials_state(settings: Settings) -> str:
    """core.upload.auth.credentials_kind, or "none" when the credentials file cannot be read. No network."""
    try:
        from nvr_console.core.upload.auth import credentials_kind

        return credentials_kind(settings)
    except Exception:  # an unreadable credentials file: the action says sign in
        return "none"


def is_signed_in(settings: Settings, kind: str) -> bool:
    return kind in SIGNED_IN_KINDS or (kind == "oauth_client" and settings.drive.token.exists())


def destination_text(settings: Settings) -> tuple[str, str, bool]:
    """(status-bar text, tooltip, needs attention) saying where finished files go (core.upload.where_files_go,
    the words `drive status` prints too). No network."""
    signed_in = settings.effective_destination() != "drive" or is_signed_in(settings, credentials_state(settings))
    goes = where_files_go(settings, signed_in=signed_in)
    tip = f"Finished files go to {goes.sentence}."
    if goes.sign_in_sends_to_drive:
        tip += " Click Sign in to Google to upload to Drive instead."
    elif not signed_in:
        tip += " Click Sign in to Google."
    return goes.label, tip, goes.needs_attention


class GoogleAccount(QObject):
    """Keeps the Google action's text and tooltip true, and handles its clicks. UI thread.

    The account's email is looked up on a pool thread (Drive's about.get) and cached per sign-in, so a
    label refresh costs no network; service accounts show the key's client_email without any network.
    """

    signed_in = Signal()  # a sign-in from the console finished: the engine should use the new token

    def __init__(self, action: QAction, settings: Callable[[], Settings], window: QMainWindow) -> None:
        super().__init__(window)
        self.action, self._settings, self.window = action, settings, window
        self._account: Account | None = None
        self._account_identity: Identity | None = None
        self._account_pending: Identity | None = None

    @property
    def account(self) -> Account | None:
        """The signed-in account once Drive has said who it is."""
        return self._account

    def state(self) -> str:
        return credentials_state(self._settings())

    def _identity(self, kind: str) -> Identity:
        d = self._settings().drive
        return (kind, d.api_root, d.credentials, str(d.token))

    def _set_label(self, text: str, tip: str) -> None:
        self.action.setText(text)
        self.action.setToolTip(f"{tip} ({self.action.shortcut().toString()})")

    def update(self, refresh: bool = False) -> None:
        """Label the action "Sign in to Google" or with the signed-in account; `refresh` asks Drive again
        (after a sign-in)."""
        settings = self._settings()
        kind = self.state()
        if not is_signed_in(settings, kind):
            self._set_label("Sign in to Google", "Sign in to Google Drive")
            return
        if kind == "service_account":
            from nvr_console.core.upload.drive_lookup import service_account_email

            email = service_account_email(settings)
            self._set_label(f"Google: {email}" if email else "Google: service account",
                            f"Uploads run as the service account {email or '(no client_email in the key)'}")
            return
        identity = self._identity(kind)
        if identity == self._account_identity and self._account is not None and not refresh:
            self._show_account()
            return
        if identity != self._account_identity:
            self._account = None
            self._account_identity = identity
        if self._account is None:
            self._set_label(self._base_label(kind), "Signed in; looking up the account…")
        if self._account_pending == identity and not refresh:
            return  # already asking
        self._account_pending = identity
        run_in_background(lambda: look_up_account(settings, identity), self._looked_up, context=self)

    @staticmethod
    def _base_label(kind: str) -> str:
        return "Drive: test server" if kind == "anonymous" else "Google: signed in"

    def _show_account(self) -> None:
        account = self._account
        if account is None or self._account_identity is None:
            return
        name = f" ({account.display_name})" if account.display_name else ""
        if self._account_identity[0] == "anonymous":
            self._set_label(f"Drive: test server ({account.email})",
                            f"Anonymous, Drive-compatible server {self._settings().drive.api_root}; "
                            f"it reports the account {account.email}{name}")
        else:
            self._set_label(f"Google: {account.email}", f"Signed in to Google Drive as {account.email}{name}")

    def _looked_up(self, result: tuple[Identity, Account | str]) -> None:
        """The background look-up's answer (stale ones, for a sign-in since replaced, are dropped)."""
        identity, found = result
        if identity == self._account_pending:
            self._account_pending = None
        if identity != self._account_identity:
            return
        if isinstance(found, str):
            if self._account is None:  # never replace a known account with a transient failure
                self._set_label(self._base_label(identity[0]),
                                f"Signed in, but the account could not be looked up: {found}")
            return
        self._account = found
        self._show_account()

    def activate(self) -> None:
        """The action was clicked: sign in (browser, on a pool thread), explain, or say who is signed in."""
        settings = self._settings()
        kind = self.state()
        if kind == "oauth_client" and not settings.drive.token.exists():
            from nvr_console.core.upload.auth import login

            self._status("Opening Google sign-in in your browser…", 30_000)
            run_in_background(lambda: login(settings, announce=log.info), self._login_done,
                              lambda msg: QMessageBox.warning(self.window, "Google sign-in", msg), context=self)
            return
        if kind == "none":
            QMessageBox.information(
                self.window, "Google account",
                "To upload to Google Drive, choose an OAuth client file (Desktop app) under Settings → "
                "Google credentials file, then click Sign in. Until then finished files go to the local archive "
                f"({settings.upload.local_dir}).")
            return
        who = f"Signed in as {self._account.email}" if self._account is not None else self.action.text()
        QMessageBox.information(self.window, "Google account",
                                f"{who}. Token file: {settings.drive.token}.\n"
                                "To sign out run `nvr-console drive logout`.")

    def _login_done(self, _result: object) -> None:
        self.update(refresh=True)
        self._status("Signed in to Google", 10_000)
        self.signed_in.emit()

    def _status(self, text: str, timeout_ms: int) -> None:
        self.window.statusBar().showMessage(text, timeout_ms)
