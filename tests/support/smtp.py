"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives, and can go down and come back.

`refuse` lists recipients answered with a 550 (a permanent refusal); `on_data` runs when a message
arrives, before the server answers (the worker-killed test kills the sender there).
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
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
    def __init__(self) -> None:
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

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> dict:
        return {"MAIL_BACKEND": "smtp", "MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": self.port,
                "MAIL_SMTP_SECURITY": "none", "MAIL_SMTP_TIMEOUT_SECONDS": 5}

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
