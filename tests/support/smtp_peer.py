"""A real SMTP server on loopback for the alert e-mail tests (aiosmtpd), plus a server that never answers.

``SmtpPeer(security="starttls"|"tls"|"none", username=..., password=...)`` accepts mail (and AUTH LOGIN/PLAIN
over TLS when a login is given) and keeps every received message; its throwaway self-signed certificate for
127.0.0.1 is written to ``cert_path`` so a client can trust it as its CA file. ``SilentSmtp`` accepts TCP
connections and never sends a greeting: a mail server that is dead but still reachable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import ipaddress
import socket
import ssl
import tempfile
import threading
import time
import warnings
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.ports import free_port


def make_self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1 and localhost, valid for a day (cert.pem, key.pem)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nvr-console test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler:
    def __init__(self, peer: SmtpPeer) -> None:
        self.peer = peer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)  # the controller does not decode: bytes as received
        msg = email.message_from_bytes(content, policy=email.policy.default)
        with self.peer.lock:
            self.peer.messages.append(msg)
            self.peer.envelopes.append(tuple(envelope.rcpt_tos))
            self.peer.raw.append(content)
            self.peer.logins_seen.append(getattr(session, "auth_data", None))
        return "250 OK"


class SmtpPeer:
    def __init__(self, security: str = "starttls", username: str | None = None, password: str | None = None) -> None:
        self.security, self.username, self.password = security, username, password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, ...]] = []  # each message's RCPT TO addresses, as the server got them
        self.raw: list[bytes] = []
        self.logins_seen: list[object] = []
        self.failed_logins = 0
        self.lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="nvr-smtp-")
        self.cert_path, self.key_path = make_self_signed(Path(self._dir.name))
        self.port = 0
        self._controller: Controller | None = None

    def _auth(self, server: object, session: object, envelope: object, mechanism: str, data: object) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login.decode() == self.username \
            and data.password.decode() == self.password
        if not ok:
            self.failed_logins += 1
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpPeer:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        self.port = free_port()
        kwargs: dict[str, Any] = {}  # the controller's and the SMTP server's keywords, of many types
        if self.username is not None:
            kwargs.update(authenticator=self._auth, auth_required=True)
        if self.security == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        elif self.security == "tls":
            # aiosmtpd counts only STARTTLS as TLS for AUTH; here the whole connection is TLS already.
            kwargs.update(ssl_context=ctx, auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")  # implicit TLS: it is TLS
            self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                          server_hostname="localhost", **kwargs)
        if self.security == "tls":
            # The controller's own ready check speaks plain SMTP; with implicit TLS it must trust our cert.
            self._controller.ssl_context = ctx
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            with contextlib.suppress(Exception):
                self._controller.stop()
            self._controller = None
        self._dir.cleanup()

    def wait_for(self, count: int, timeout_s: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)

    def __enter__(self) -> SmtpPeer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SilentSmtp:
    """Accepts connections and says nothing: a client waits until its own timeout."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._held.append(conn)

    def __enter__(self) -> SilentSmtp:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        for c in self._held:
            c.close()
        self._sock.close()
