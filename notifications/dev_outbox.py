"""Until the outbox and its senders exist: messages written to instance/outbox/ as .eml files.

Written only after the transaction that asked for them commits (a rolled-back sign-up sends
nothing), never from inside the request's unit of work.
"""

from __future__ import annotations

import logging
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.core import events
from shop.core.extensions import db

log = logging.getLogger(__name__)
PENDING = "omnishop_pending_eml"


def _write(folder: Path, message: EmailMessage) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.eml"
    path.write_bytes(bytes(message))
    log.info("development outbox: wrote %s", path.name)


def _verification_message(app: Flask, email: str, token: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = email
    message["From"] = app.config["MAIL_FROM"]
    message["Subject"] = "Confirm your email for Omnishop"
    message.set_content(
        "Welcome to Omnishop.\n\nConfirm this address so your earlier orders and carts join your account:\n"
        f"send this token to POST /api/v1/me/email-verification\n\n{token}\n\nIt is valid for 3 days.\n"
    )
    return message


@event.listens_for(Session, "after_commit")
def _flush_pending(session) -> None:
    for folder, message in session.info.pop(PENDING, []):
        _write(folder, message)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session) -> None:
    session.info.pop(PENDING, None)


def init_app(app: Flask) -> None:
    folder = Path(app.config["DEV_OUTBOX_DIR"])

    def on_verification(sender, email: str, token: str, **_):
        db.session.info.setdefault(PENDING, []).append((folder, _verification_message(app, email, token)))

    events.email_verification_requested.connect(on_verification, sender=app, weak=False)
