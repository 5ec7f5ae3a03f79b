"""The customer timeline: every interaction on every channel, appended by signal receivers."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from shop.accounts.models import TimelineEntry
from shop.core import events
from shop.core.extensions import db
from shop.core.pagination import Page, keyset


def append(customer_id: int, type_: str, channel: str, summary: str, reference: str = "") -> None:
    db.session.add(TimelineEntry(customer_id=customer_id, type=type_, channel=channel,
                                 summary=summary[:300], reference=reference))


def entries(customer_id: int, limit: int, cursor: str | None) -> Page:
    """A customer's timeline, newest first, one page after the cursor."""
    stmt = select(TimelineEntry).where(TimelineEntry.customer_id == customer_id)
    return keyset(stmt, (TimelineEntry.id,), limit=limit, cursor=cursor, descending=True)


def last_contact(customer_id: int) -> TimelineEntry | None:
    return db.session.scalar(
        select(TimelineEntry).where(TimelineEntry.customer_id == customer_id)
        .order_by(TimelineEntry.id.desc()).limit(1)
    )


def init_app(app: Flask) -> None:
    """Connect the receivers that turn domain signals into timeline entries."""

    def on_cart(sender, customer_id, cart_id, type, channel, summary, **_):
        if customer_id is not None:
            append(customer_id, f"cart.{type}", channel, summary, f"cart:{cart_id}")

    def on_signup(sender, user_id, **_):
        append(user_id, "account.created", "web", "Created an account")

    def on_verified(sender, user_id, **_):
        append(user_id, "account.email_verified", "web", "Verified their email address")

    def on_order(sender, customer_id, order_id, number, type, channel, status, **_):
        if customer_id is not None:
            append(customer_id, f"order.{type}", channel, f"Order {number}: {type.replace('_', ' ')} ({status})",
                   f"order:{order_id}")

    def on_feedback(sender, customer_id, order_id, number, rating, channel="web", **_):
        if customer_id is not None:
            append(customer_id, "order.feedback", channel, f"Order {number}: rated {rating}/5", f"order:{order_id}")

    def on_message(sender, customer_id, message_id, channel, summary, **_):
        append(customer_id, "message.sent", channel, summary, f"message:{message_id}")

    def on_consent(sender, customer_id, type, via, summary, reference="", **_):
        append(customer_id, type, via, summary, reference)

    events.cart_changed.connect(on_cart, sender=app, weak=False)
    events.message_sent.connect(on_message, sender=app, weak=False)
    events.consent_changed.connect(on_consent, sender=app, weak=False)
    events.order_event.connect(on_order, sender=app, weak=False)
    events.order_feedback.connect(on_feedback, sender=app, weak=False)
    events.customer_signed_up.connect(on_signup, sender=app, weak=False)
    events.customer_email_verified.connect(on_verified, sender=app, weak=False)
