"""The outbox (table `messages`): one row per message to send, added in the business transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

CHANNELS = ("email", "sms")
PURPOSES = ("transactional", "marketing")
STATUSES = ("queued", "held", "sending", "sent", "delivered", "failed", "skipped")
FINAL = ("sent", "delivered", "failed", "skipped")  # no sweep claims these again
# The rows a sweep may claim, in the claim's order: the backlog, not the history, so the claim reads
# a batch off its front (tests/integration/test_outbox_plan.py). Written as NOT IN the final statuses:
# PostgreSQL proves the claim's OR implies that, and cannot prove it implies "status IN (pending)".
_PENDING = text(f"status NOT IN {FINAL!r}")


class Message(db.Model):
    """A message, from the moment a change asked for it until the provider says it arrived.

    `queued` and `held` (quiet hours, a marketing cap) wait for `due_at`; `sending` is claimed by a
    delivery sweep; `sent` the provider accepted it; `delivered` the provider confirmed it; `failed`
    after a permanent error or the last retry; `skipped` when the re-check at send time said no.
    """

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose_known"),
        CheckConstraint(f"status IN {STATUSES!r}", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        Index("ix_messages_status_due_at", "status", "due_at"),
        Index("ix_messages_pending_due_at_id", "due_at", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
        Index("ix_messages_customer_id_id", "customer_id", "id"),
        Index("ix_messages_order_id_id", "order_id", "id"),
        Index("ix_messages_store_id_id", "store_id", "id"),  # a clerk's list: their stores' messages
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    to_address: Mapped[str] = mapped_column(String(254))
    customer_id: Mapped[int | None]
    order_id: Mapped[int | None]
    cart_id: Mapped[str | None] = mapped_column(String(43))
    store_id: Mapped[int | None]
    timezone: Mapped[str | None] = mapped_column(String(64))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    reason: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
