"""Where alert messages go: a webhook (JSON POST: plain, Slack/Mattermost or Telegram) and e-mail over SMTP.

A channel's `send()` blocks (network) and raises ChannelError with an operator sentence that never holds a
secret (webhook URLs' paths and SMTP logins are the secrets). Channels run on the dispatcher's threads only.
The desktop channel lives in the console (tray notifications), fed by the monitor's `notice` signal.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import ssl
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from nvr_console import __version__
from nvr_console.core.config import EmailSettings, Settings, WebhookSettings
from nvr_console.core.monitoring.rules import RULES
from nvr_console.core.text.masking import mask_secrets, redact_url_path

log = logging.getLogger(__name__)

TIMEOUT_S = 20.0
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class ChannelError(Exception):
    """A message that did not go out; `str()` is one masked sentence."""


@dataclass(frozen=True)
class Message:
    """One message to every channel: an alert's firing/repeat/resolved, or a test."""

    kind: str  # firing | repeat | resolved | test
    alert_id: int
    seq: int
    rule: str
    key: str
    severity: str
    subject: str
    summary: str
    node: str
    started_at: datetime
    fired_at: datetime
    resolved_at: datetime | None

    @property
    def title(self) -> str:
        rule = RULES.get(self.rule)
        what = rule.title if rule else self.rule
        if self.kind == "test":
            return f"nvr-console test message from {self.node}"
        if self.kind == "resolved":
            return f"RESOLVED: {self.subject}: {what}"
        prefix = "STILL " if self.kind == "repeat" else ""
        return f"{prefix}{self.severity.upper()}: {self.subject}: {what}"

    @property
    def text(self) -> str:
        """One line for chat channels and notifications."""
        if self.kind == "test":
            return f"{self.title}: alerts reach this channel."
        if self.kind == "resolved":
            lasted = _ago((self.resolved_at or self.fired_at) - self.started_at)
            return f"{self.title} (lasted {lasted}; node {self.node})"
        since = self.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.title} - {self.summary} (since {since}; node {self.node})"

    def body(self) -> dict[str, object]:
        """The documented JSON body of the plain webhook (README: Monitoring and alerts)."""
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d is not None else None

        return {
            "version": 1, "source": "nvr-console", "status": self.kind, "text": self.text,
            "alert": {"id": self.alert_id, "rule": self.rule, "key": self.key, "severity": self.severity,
                      "subject": self.subject, "summary": self.summary, "node": self.node,
                      "started_at": iso(self.started_at), "fired_at": iso(self.fired_at),
                      "resolved_at": iso(self.resolved_at)},
        }


@dataclass(frozen=True)
class Mail:
    """An e-mail to chosen recipients that is not an alert (a lecture's delivery notice): the e-mail channel's
    per-message recipients. `headers`: extra (name, value) pairs, e.g. to tell notices apart."""

    recipients: tuple[str, ...]
    subject: str
    text: str
    headers: tuple[tuple[str, str], ...] = ()


def _one_line(text: str) -> str:
    """A header value from calendar text: no line breaks (they would end the header)."""
    return " ".join(text.split())


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def test_message(node: str) -> Message:
    now = datetime.now(UTC)
    return Message("test", 0, 0, "test", "test", "info", "test", "a test message", node, now, now, None)


class Channel:
    name = "channel"

    def send(self, msg: Message) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class WebhookChannel(Channel):
    def __init__(self, cfg: WebhookSettings, timeout_s: float = TIMEOUT_S) -> None:
        self.cfg, self.timeout_s = cfg, timeout_s
        self.name = f"webhook {redact_url_path(cfg.url)}"

    def payload(self, msg: Message) -> dict[str, object]:
        if self.cfg.format == "slack":  # Slack and Mattermost incoming webhooks
            return {"text": msg.text, "username": "nvr-console"}
        if self.cfg.format == "telegram":  # Bot API sendMessage
            return {"chat_id": self.cfg.telegram_chat_id, "text": msg.text, "disable_web_page_preview": True}
        return msg.body()

    def send(self, msg: Message) -> None:
        """POST the JSON body; any 2xx is delivered. Dispatcher thread."""
        self._post(self.payload(msg))

    def send_notice(self, body: dict[str, object], text: str) -> None:
        """POST a notice that is not an alert (a lecture delivered): `body` as it is for the plain format, `text`
        for chat ones. Blocking; the caller's thread."""
        if self.cfg.format == "slack":
            self._post({"text": text, "username": "nvr-console"})
        elif self.cfg.format == "telegram":
            self._post({"chat_id": self.cfg.telegram_chat_id, "text": text, "disable_web_page_preview": True})
        else:
            self._post({**body, "text": text})

    def _post(self, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(self.cfg.url, data=data, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": f"nvr-console/{__version__}"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                resp.read(65536)
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"{self.name} answered HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(f"{self.name} unreachable: {mask_secrets(str(reason))}") from None


class EmailChannel(Channel):
    def __init__(self, cfg: EmailSettings, timeout_s: float = TIMEOUT_S) -> None:
        self.cfg, self.timeout_s = cfg, timeout_s
        self.port = cfg.port or DEFAULT_PORTS[cfg.security]
        self.name = f"e-mail via {cfg.host}:{self.port}"
        self._warned_mode = False

    def _login(self) -> tuple[str, str] | None:
        path = self.cfg.secrets_file
        if path is None:
            return None
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
            if os.name == "posix" and Path(path).stat().st_mode & 0o077 and not self._warned_mode:
                self._warned_mode = True
                log.warning("email.secrets_file %s is readable by other users; run chmod 600 on it", path)
        except OSError as exc:
            raise ChannelError(f"cannot read email.secrets_file {path}: {exc.strerror or type(exc).__name__}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            # The parser's message may quote the file: say only where it is.
            raise ChannelError(f"email.secrets_file {path} is not TOML with username and password") from None
        user, password = data.get("username"), data.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or not user:
            raise ChannelError(f"email.secrets_file {path} needs username = \"...\" and password = \"...\"")
        return user, password

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cfg.ca_file) if self.cfg.ca_file else None)

    def _envelope(self, subject: str, recipients: tuple[str, ...]) -> EmailMessage:
        sender = self.cfg.sender or f"nvr-console@{socket.gethostname()}"
        em = EmailMessage()
        em["Subject"] = _one_line(f"[nvr-console] {subject}")
        em["From"] = sender
        em["To"] = ", ".join(recipients)
        em["Date"] = formatdate(localtime=False)
        em["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        return em

    def compose(self, msg: Message) -> EmailMessage:
        em = self._envelope(msg.title, self.cfg.recipients)
        em["X-NVR-Alert"] = f"{msg.key} {msg.kind}"
        lines = [msg.text, ""]
        if msg.kind != "test":
            lines += [f"Rule: {msg.rule} ({msg.severity})", f"Subject: {msg.subject}", f"Details: {msg.summary}",
                      f"Started: {msg.started_at.isoformat()}", f"Node: {msg.node}"]
            if msg.resolved_at is not None:
                lines.append(f"Resolved: {msg.resolved_at.isoformat()}")
            lines += ["", "`nvr-console alerts list` shows every active and recent alert."]
        em.set_content("\n".join(lines) + "\n")
        return em

    def compose_mail(self, mail: Mail) -> EmailMessage:
        if not mail.recipients:
            raise ChannelError(f"{self.name}: the message {mail.subject!r} has no recipient")
        em = self._envelope(mail.subject, mail.recipients)
        for name, value in mail.headers:
            em[name] = _one_line(value)
        em.set_content(mail.text if mail.text.endswith("\n") else mail.text + "\n")
        return em

    def send(self, msg: Message) -> None:
        """An alert to email.recipients: connect, encrypt as configured, log in, send, quit. Dispatcher thread."""
        self._transmit(self.compose(msg))

    def send_mail(self, mail: Mail) -> None:
        """A message to its own recipients (not email.recipients), the same way. Blocks (network): any thread
        but the UI's."""
        self._transmit(self.compose_mail(mail))

    def _transmit(self, em: EmailMessage) -> None:
        login = self._login()
        try:
            if self.cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.cfg.host, self.port, timeout=self.timeout_s,
                                                      context=self._context())
            else:
                smtp = smtplib.SMTP(self.cfg.host, self.port, timeout=self.timeout_s)
            with smtp:
                smtp.ehlo()
                if self.cfg.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo()
                if login is not None:
                    smtp.login(*login)
                smtp.send_message(em)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"{self.name}: login refused ({exc.smtp_code}); check email.secrets_file") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ChannelError(f"{self.name}: {exc} (check email.security)") from None
        except smtplib.SMTPResponseException as exc:
            raise ChannelError(f"{self.name}: server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            reason = str(exc) or type(exc).__name__
            raise ChannelError(f"{self.name}: {mask_secrets(reason)[:300]}") from None


def build_channels(settings: Settings) -> list[Channel]:
    """The configured network channels (webhook, e-mail); the console adds its desktop notifications."""
    out: list[Channel] = []
    if settings.webhook.url:
        out.append(WebhookChannel(settings.webhook))
    if settings.email.host:
        out.append(EmailChannel(settings.email))
    return out
