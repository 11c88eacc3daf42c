"""A real SMTP server on loopback for the notification tests (aiosmtpd): STARTTLS required, with a
certificate of a private CA, then a login, before it takes any mail; what it took, kept in order."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from relais.brokers.certificates import make_server_cert, make_test_ca

USER, PASSWORD = "relais@mairie.example", "smtp-password-of-the-town"


@dataclass
class Mailbox:
    """What the server took, and the settings and CA a controller needs to send to it."""

    port: int
    ca_file: Path
    mails: list[EmailMessage] = field(default_factory=list)
    refused_logins: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def smtp(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "starttls": True,
            "username": USER,
            "password": PASSWORD,
            "sender": "relais@prefecture.example",
        }

    def received(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.mails)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.original_content, policy=policy.default)
        with self._lock:
            self.mails.append(mail)  # type: ignore[arg-type]
        return "250 OK"

    def check_login(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if not good:
            self.refused_logins += 1
        return AuthResult(success=good)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(folder: Path) -> Iterator[Mailbox]:
    """The server, stopped on leaving; mail only over STARTTLS, after a login."""
    ca = make_test_ca(folder / "ca", "Relais test mail CA")
    cert, key = make_server_cert(folder / "server", ca, ["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox(_free_port(), ca[0])
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=mailbox.port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=mailbox.check_login,
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
