"""What staff do with the outbox: look messages up (newest first) and queue a failed one again.

Who sees what (docs/security.md#messages): an admin every message; store staff only the messages
of orders and carts of their own stores (`store_id` on the message), so a message with no store
(an email verification, an offer) is an admin's; marketing only marketing messages, of every store.
A message out of the caller's reach is not found (404), as if it did not exist.
"""

from __future__ import annotations

from sqlalchemy import false, select

from notifications.models import Message
from shop.accounts.auth import Caller
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset


def visible_to(caller: Caller):
    """The messages this caller may see, as a WHERE clause."""
    if caller.role == "admin":
        return None
    if caller.role == "staff":
        return Message.store_id.in_(sorted(caller.store_ids)) if caller.store_ids else false()
    if caller.role == "marketing":
        return Message.purpose == "marketing"
    return false()


def messages(caller: Caller, *, limit: int, cursor: str | None = None, customer_id: int | None = None,
             order_id: int | None = None, status: str | None = None) -> Page:
    """Newest first, one keyset page (shop.core.pagination), of the messages the caller may see."""
    stmt = select(Message)
    scope = visible_to(caller)
    if scope is not None:
        stmt = stmt.where(scope)
    for column, value in ((Message.customer_id, customer_id), (Message.order_id, order_id),
                          (Message.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    return keyset(stmt, [Message.id], limit=limit, cursor=cursor, descending=True)


def resend(caller: Caller, message_id: int) -> Message:
    """A failed message goes back to the queue, due now, with fresh attempts; anything else is a 409."""
    stmt = select(Message).where(Message.id == message_id)
    scope = visible_to(caller)
    if scope is not None:
        stmt = stmt.where(scope)
    message = db.session.scalar(stmt.with_for_update())
    if message is None:
        raise DomainError("message_not_found", f"No message {message_id}.")
    if message.status != "failed":
        raise DomainError("message_not_failed", f"Only failed messages are sent again; this one is "
                          f"{message.status}.", status_now=message.status)
    message.status, message.attempts, message.due_at = "queued", 0, clock.now()
    message.reason = f"resent after: {message.reason or 'failure'}"[:300]
    return message
