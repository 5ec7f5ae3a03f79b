"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, and can go down and come back.

`refuse` lists recipients answered with a 550 (a permanent refusal); `on_data` runs when a message
arrives, before the server answers (the worker-killed test kills the sender there).
With `security="ssl"` the server speaks TLS from the first byte (implicit TLS, like port 465); with
`security="starttls"` it offers STARTTLS and refuses mail until the client has switched; either
way it shows `certificate` (a trustme LeafCert) and the app trusts `ca_file` only.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, security: str = "none", certificate=None, ca_file: str = "") -> None:
        self.security, self.certificate, self.ca_file = security, certificate, ca_file
        self.port = free_port()
        self.received: list[EmailMessage] = []
        self.refuse: set[str] = set()
        self.on_data: Callable[[], None] | None = None
        self._controller: Controller | None = None

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        if self.on_data is not None:
            self.on_data()
        return "250 Message accepted for delivery"

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.certificate.configure_cert(context)
        return context

    def start(self) -> None:
        if self.security == "ssl":
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ssl_context=self._tls())
        elif self.security == "starttls":
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port, tls_context=self._tls(),
                                          require_starttls=True)
        else:
            self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict:
        return {"MAIL_BACKEND": "smtp", "MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": self.port,
                "MAIL_SMTP_SECURITY": self.security, "MAIL_SMTP_TIMEOUT_SECONDS": 5, "MAIL_SMTP_CA_FILE": self.ca_file}

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == address]


@pytest.fixture
def smtp_server(app) -> Iterator[SmtpServer]:
    """A running SMTP server, and the app's mail sent to it for this test."""
    server = SmtpServer()
    server.start()
    saved = {key: app.config[key] for key in server.config()}
    app.config.update(server.config())
    try:
        yield server
    finally:
        app.config.update(saved)
        server.stop()


@pytest.fixture
def tls_smtp(app, tmp_path) -> Iterator[Callable[..., SmtpServer]]:
    """Start SMTP servers over TLS: `tls_smtp("ssl" | "starttls", trusted=True, name="127.0.0.1")`.

    One CA made for the test (trustme) is the app's MAIL_SMTP_CA_FILE; `trusted=False` gives the
    server a certificate from another CA, `name` the name its certificate is for."""
    import trustme

    ca, stranger = trustme.CA(), trustme.CA()
    ca_file = tmp_path / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    servers: list[SmtpServer] = []
    saved = dict(app.config)

    def start(security: str, trusted: bool = True, name: str = "127.0.0.1") -> SmtpServer:
        server = SmtpServer(security, (ca if trusted else stranger).issue_cert(name), str(ca_file))
        server.start()
        servers.append(server)
        app.config.update(server.config())
        return server

    try:
        yield start
    finally:
        app.config.update({key: saved.get(key, "") for key in SmtpServer().config()})
        for server in servers:
            server.stop()
