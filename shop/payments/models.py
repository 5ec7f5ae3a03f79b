"""The card payment of an order and the provider events already processed."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

if TYPE_CHECKING:
    from shop.orders.models import Order


class Payment(db.Model):
    """The card payment of an order: a Stripe PaymentIntent authorised at checkout, captured at handover.

    Provider calls run after the commit that decided them, so what is due is recorded first
    (`void_pending`, `capture_pending`, `refund_pending`) and the outcome after; a payment in a
    state nobody can repair alone is flagged for staff (`attention`, `flagged_at`: logged once, when
    flagged) until a staff member resolves it (`resolved_at`, `resolved_by_id`, `resolution_note`).
    """

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_flagged_at", "flagged_at"),
                      Index("ix_payments_refund_since", "refund_since"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    intent_id: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    amount_authorized: Mapped[int] = mapped_column(default=0)
    authorized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_pending: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(String(300))
    capture_pending: Mapped[bool] = mapped_column(default=False)  # sent (or about to be), outcome not recorded
    void_attempts: Mapped[int] = mapped_column(default=0)  # failed voids so far
    next_try_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # sweeps leave it alone until then
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # last compared with the provider's intent
    refund_pending: Mapped[dict | None] = mapped_column(JSON)  # a refund sent (or about to be), outcome not recorded
    # When that refund went in flight (NULL when none is): what the refunds-in-flight sweep looks for.
    refund_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attention: Mapped[str | None] = mapped_column(String(300))  # why staff must look at it
    flagged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # staff dealt with `attention`
    resolved_by_id: Mapped[int | None]
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="payment")


class WebhookEvent(db.Model):
    """A provider event already processed: a redelivery is recognised by its id and ignored."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
