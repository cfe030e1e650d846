"""Alert channels against real peers on loopback: aiosmtpd (STARTTLS, implicit TLS, login) and an HTTP receiver."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nvr_console.core.config import EmailSettings, WebhookSettings
from nvr_console.core.monitoring.channels import ChannelError, EmailChannel, Mail, Message, WebhookChannel
from tests.support.http_receiver import HttpReceiver
from tests.support.smtp_peer import SilentSmtp, SmtpPeer

PASSWORD = "s3cret-Pa55"


def message(kind: str = "firing") -> Message:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return Message(kind, 7, 1, "camera_down", "camera_down:camera:3", "critical", "A-101 / front",
                   "not recording for 2m (reconnecting: Connection refused)", "node-a", start,
                   start + timedelta(minutes=2), start + timedelta(minutes=9) if kind == "resolved" else None)


def email_settings(peer: SmtpPeer | None, secrets: Path | None, **kw: object) -> EmailSettings:
    base = EmailSettings(host="127.0.0.1", port=peer.port if peer else 0, security=peer.security if peer else "none",
                         secrets_file=secrets, sender="nvr@example.edu", recipients=("ops@example.edu",
                                                                                     "av@example.edu"),
                         ca_file=peer.cert_path if peer else None)
    return replace(base, **kw)


def secrets_file(tmp_path: Path, user: str = "nvr", password: str = PASSWORD) -> Path:
    path = tmp_path / "smtp.toml"
    path.write_text(f'username = "{user}"\npassword = "{password}"\n')
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_out_encrypted_with_login(security: str, tmp_path: Path) -> None:
    with SmtpPeer(security, "nvr", PASSWORD) as peer:
        EmailChannel(email_settings(peer, secrets_file(tmp_path))).send(message())
        [mail] = peer.wait_for(1)
    assert mail["Subject"] == "[nvr-console] CRITICAL: A-101 / front: camera not recording"
    assert mail["To"] == "ops@example.edu, av@example.edu" and mail["From"] == "nvr@example.edu"
    assert "Connection refused" in mail.get_content() and "node-a" in mail.get_content()
    assert PASSWORD not in peer.raw[0].decode()


def test_resolved_mail_says_how_long_it_lasted(tmp_path: Path) -> None:
    with SmtpPeer("starttls") as peer:
        EmailChannel(email_settings(peer, None)).send(message("resolved"))
        [mail] = peer.wait_for(1)
    assert mail["Subject"] == "[nvr-console] RESOLVED: A-101 / front: camera not recording"
    assert "lasted 9m00s" in mail.get_content()


def test_wrong_password_is_an_error_without_the_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with SmtpPeer("starttls", "nvr", "right") as peer:
        with pytest.raises(ChannelError) as err:
            EmailChannel(email_settings(peer, secrets_file(tmp_path, password=PASSWORD))).send(message())
        assert peer.failed_logins >= 1 and not peer.messages  # smtplib tries each mechanism
    assert "login refused" in str(err.value) and "email.secrets_file" in str(err.value)
    assert PASSWORD not in str(err.value) and PASSWORD not in caplog.text


def test_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with SmtpPeer("starttls") as peer:
        with pytest.raises(ChannelError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            EmailChannel(email_settings(peer, None, ca_file=None)).send(message())
        assert not peer.messages


def test_unreadable_or_broken_secrets_file(tmp_path: Path) -> None:
    with pytest.raises(ChannelError, match="cannot read email.secrets_file"):
        EmailChannel(email_settings(None, tmp_path / "missing.toml")).send(message())
    broken = tmp_path / "broken.toml"
    broken.write_text(f"password = {PASSWORD}\n")  # not TOML: the parser's message would quote it
    with pytest.raises(ChannelError) as err:
        EmailChannel(email_settings(None, broken)).send(message())
    assert PASSWORD not in str(err.value)


def test_silent_server_fails_at_the_timeout() -> None:
    with SilentSmtp() as silent:
        ch = EmailChannel(email_settings(None, None, port=silent.port), timeout_s=0.5)
        with pytest.raises(ChannelError, match="timed out"):
            ch.send(message())
        assert silent.connections == 1


@pytest.mark.parametrize("fmt", ["plain", "slack", "telegram"])
def test_webhook_bodies(fmt: str) -> None:
    with HttpReceiver() as rx:
        cfg = WebhookSettings(url=rx.url("/bot123:SECRET/sendMessage"), format=fmt, telegram_chat_id="-10042")
        WebhookChannel(cfg).send(message())
        [body] = rx.wait_for(1)
        assert rx.received[0].headers["Content-Type"] == "application/json"
    text = "CRITICAL: A-101 / front: camera not recording - not recording for 2m (reconnecting: Connection refused)"
    if fmt == "plain":
        assert body["version"] == 1 and body["status"] == "firing" and body["text"].startswith(text)
        assert body["alert"] == {
            "id": 7, "rule": "camera_down", "key": "camera_down:camera:3", "severity": "critical",
            "subject": "A-101 / front", "summary": "not recording for 2m (reconnecting: Connection refused)",
            "node": "node-a", "started_at": "2026-11-23T09:00:00+00:00", "fired_at": "2026-11-23T09:02:00+00:00",
            "resolved_at": None}
    elif fmt == "slack":
        assert set(body) == {"text", "username"} and body["text"].startswith(text)
    else:
        assert body["chat_id"] == "-10042" and body["text"].startswith(text)


def test_webhook_error_names_host_not_the_secret_path() -> None:
    with HttpReceiver() as rx:
        rx.fail_next(1, 500)
        ch = WebhookChannel(WebhookSettings(url=rx.url("/hooks/SECRETTOKEN"), format="plain", telegram_chat_id=""))
        with pytest.raises(ChannelError) as err:
            ch.send(message())
    assert "HTTP 500" in str(err.value) and "SECRETTOKEN" not in str(err.value)
    assert f"127.0.0.1:{rx.port}/***" in str(err.value)


def test_a_mail_with_its_own_recipients_goes_only_to_them_and_alerts_still_to_email_recipients(
        tmp_path: Path) -> None:
    with SmtpPeer("starttls", "nvr", PASSWORD) as peer:
        channel = EmailChannel(email_settings(peer, secrets_file(tmp_path)))
        # A calendar's title may hold a line break: it must not end the header (header injection).
        channel.send_mail(Mail(("noether@uni.example",), "Lecture delivered: Algebra\r\nBcc: evil@example.com",
                               "The recording is delivered.", headers=(("X-NVR-Lecture", "7 v1"),)))
        channel.send(message())
        notice, alert = peer.wait_for(2)
    assert peer.envelopes == [("noether@uni.example",), ("ops@example.edu", "av@example.edu")]
    assert notice["To"] == "noether@uni.example" and notice["From"] == "nvr@example.edu"
    assert notice["Subject"] == "[nvr-console] Lecture delivered: Algebra Bcc: evil@example.com"
    assert notice["Bcc"] is None and notice["X-NVR-Lecture"] == "7 v1"
    assert notice.get_content().rstrip() == "The recording is delivered." and notice["X-NVR-Alert"] is None
    assert alert["To"] == "ops@example.edu, av@example.edu" and alert["X-NVR-Alert"] == "camera_down:camera:3 firing"


def test_a_mail_without_recipients_is_an_error_naming_it() -> None:
    with pytest.raises(ChannelError, match="'Lecture delivered: Algebra' has no recipient"):
        EmailChannel(email_settings(None, None)).send_mail(Mail((), "Lecture delivered: Algebra", "text"))
