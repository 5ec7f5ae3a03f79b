"""Back-in-stock alerts (table `stock_alerts`): a shopper asked to be told once when a SKU is back at a store.

No foreign keys to stores, products or users: notifications owns its tables and learns of the rest
through signals and ports (DESIGN.md). The id is random and unguessable: it is the subscriber's key
to cancel the alert, as a cart's id is a guest's key to the cart.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

ALERT_CHANNELS = ("email", "sms")
ALERT_STATUSES = ("waiting", "told", "cancelled")
_WAITING = text("status = 'waiting'")


class StockAlert(db.Model):
    __tablename__ = "stock_alerts"
    __table_args__ = (
        CheckConstraint(f"channel IN {ALERT_CHANNELS!r}", name="channel_known"),
        CheckConstraint(f"status IN {ALERT_STATUSES!r}", name="status_known"),
        # What the receiver reads when a SKU comes back at a store: the waiting alerts only.
        Index("ix_stock_alerts_waiting", "store_id", "product_id", "id",
              postgresql_where=_WAITING, sqlite_where=_WAITING),
        # One waiting alert per store, SKU and address: asking twice gives the first back.
        Index("uq_stock_alerts_waiting_address", "store_id", "product_id", "channel", "address", unique=True,
              postgresql_where=_WAITING, sqlite_where=_WAITING),
    )

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    store_id: Mapped[int]
    product_id: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    message_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
