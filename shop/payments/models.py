"""The card payment of an order and the provider events already processed."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

if TYPE_CHECKING:
    from shop.orders.models import Order


class Payment(db.Model):
    """The card payment of an order: a Stripe PaymentIntent authorised at checkout, captured at handover."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    intent_id: Mapped[str] = mapped_column(String(100), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    amount_authorized: Mapped[int] = mapped_column(default=0)
    authorized_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_pending: Mapped[bool] = mapped_column(default=False)
    last_error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="payment")


class WebhookEvent(db.Model):
    """A provider event already processed: a redelivery is recognised by its id and ignored."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
