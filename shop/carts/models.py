"""Carts: one per shopper across devices, keyed by an unguessable id, with lines and an event log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.models import Product
from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db
from shop.core.limits import MAX_LINE_QUANTITY

CART_STATUSES = ("active", "converted", "merged", "expired")
CHANNELS = ("web", "app", "store")
_IDLE_UNSIGNALLED = text("status = 'active' AND abandoned_at IS NULL")



class Cart(db.Model):
    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint(f"status IN {CART_STATUSES!r}", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Abandoned-cart detection scans active carts by idle time.
        Index("ix_carts_status_last_activity_at", "status", "last_activity_at"),
        # The abandonment sweep's claim: active carts not yet looked at in this idle spell, the
        # longest idle first, so "the next 1,000 due" reads 1,000 index entries (shop.carts.abandonment).
        Index("ix_carts_idle_unsignalled", "last_activity_at", "id", postgresql_where=_IDLE_UNSIGNALLED,
              sqlite_where=_IDLE_UNSIGNALLED),
        # At most one active cart per customer, enforced by the database.
        Index("uq_carts_one_active_per_customer", "customer_id", unique=True,
              postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
    )

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="active")
    pickup_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    channel: Mapped[str] = mapped_column(String(10), default="web")
    notes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the abandonment sweep looked at this cart in its current idle spell (signalled or not);
    # every change clears it (shop.carts.service.bump), so a cart touched again can be signalled again.
    abandoned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id", lazy="selectin"
    )


class CartLine(db.Model):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_lines_cart_product"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_LINE_QUANTITY}", name="quantity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    unit_price_at_add: Mapped[int]
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class CartEvent(db.Model):
    """Every change to a cart: what, on which channel, by whom (guest, customer or staff)."""

    __tablename__ = "cart_events"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        Index("ix_cart_events_cart_id_id", "cart_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[str] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None]
    store_id: Mapped[int | None]
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Coupon(db.Model):
    __tablename__ = "coupons"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind != 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint("kind != 'fixed' OR currency IS NOT NULL", name="fixed_has_currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int]  # percent (1-100) or minor units
    currency: Mapped[str | None] = mapped_column(String(3))
    min_subtotal: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None]
    max_uses_per_customer: Mapped[int | None]
    single_use: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    batch: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CouponRedemption(db.Model):
    """A coupon used by an order (written at checkout): counts toward the usage limits."""

    __tablename__ = "coupon_redemptions"
    __table_args__ = (Index("ix_coupon_redemptions_coupon_customer", "coupon_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id", ondelete="CASCADE"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    reference: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
