"""What staff do with the outbox: look messages up (newest first) and queue a failed one again."""

from __future__ import annotations

from sqlalchemy import select

from notifications.models import Message
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset


def messages(*, limit: int, cursor: str | None = None, customer_id: int | None = None,
             order_id: int | None = None, status: str | None = None) -> Page:
    """Newest first, one keyset page (shop.core.pagination)."""
    stmt = select(Message)
    for column, value in ((Message.customer_id, customer_id), (Message.order_id, order_id),
                          (Message.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    return keyset(stmt, [Message.id], limit=limit, cursor=cursor, descending=True)


def resend(message_id: int) -> Message:
    """A failed message goes back to the queue, due now, with fresh attempts; anything else is a 409."""
    message = db.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    if message is None:
        raise DomainError("message_not_found", f"No message {message_id}.")
    if message.status != "failed":
        raise DomainError("message_not_failed", f"Only failed messages are sent again; this one is "
                          f"{message.status}.", status_now=message.status)
    message.status, message.attempts, message.due_at = "queued", 0, clock.now()
    message.reason = f"resent after: {message.reason or 'failure'}"[:300]
    return message
