"""Pickup orders, their lines and their event log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.models import Product
from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db
from shop.core.limits import MAX_FEEDBACK_COMMENT, MAX_RATING, MIN_RATING
from shop.payments.models import Payment
from stores.models import Store

ORDER_STATUSES = ("pending_payment", "placed", "picking", "ready_for_pickup", "picked_up",
                  "cancelled", "expired")



class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status_known"),
        CheckConstraint("payment_method IN ('card', 'pay_at_store')", name="payment_method_known"),
        CheckConstraint("total >= 0 AND captured_amount >= 0 AND refunded_amount >= 0", name="money_nonnegative"),
        CheckConstraint("refunded_amount <= captured_amount", name="refund_within_capture"),
        Index("ix_orders_store_status_promised", "store_id", "status", "promised_at"),
        Index("ix_orders_status_deadline", "status", "pickup_deadline"),
        Index("ix_orders_status_payment_expires", "status", "payment_expires_at"),
        Index("ix_orders_status_reminder_due", "status", "reminder_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    access_token: Mapped[str] = mapped_column(String(64), unique=True)
    pickup_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    cart_id: Mapped[str | None] = mapped_column(String(43), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    sms_updates: Mapped[bool] = mapped_column(default=False)
    channel: Mapped[str] = mapped_column(String(10), default="web")
    payment_method: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[int]
    discount: Mapped[int] = mapped_column(default=0)
    total: Mapped[int]
    captured_amount: Mapped[int] = mapped_column(default=0)
    refunded_amount: Mapped[int] = mapped_column(default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    reservation_id: Mapped[int | None] = mapped_column(ForeignKey("reservations.id"))
    promised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    payment_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pickup_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminder_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # shop/orders/reminders.py
    reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    picked_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    wrong_code_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    payment_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id", lazy="selectin"
    )
    # Loaded when read (a pay-at-store order has none; the handover asks only for a card's).
    payment: Mapped[Payment | None] = relationship(back_populates="order", uselist=False)
    # Loaded with the order by get_order (every move's message names the store); else when read.
    store: Mapped[Store] = relationship()


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        # The collected orders holding a product (shop.orders.recommendations).
        Index("ix_order_lines_product_id_order_id", "product_id", "order_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("picked_quantity IS NULL OR picked_quantity BETWEEN 0 AND quantity",
                        name="picked_within_ordered"),
        CheckConstraint("refunded_quantity >= 0", name="refunded_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    unit_price: Mapped[int]
    quantity: Mapped[int]
    picked_quantity: Mapped[int | None]
    refunded_quantity: Mapped[int] = mapped_column(default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def handed_quantity(self) -> int:
        return self.quantity if self.picked_quantity is None else self.picked_quantity


class OrderEvent(db.Model):
    """Every move of an order: from and to which status, who, on which channel, when."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(10))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderFeedback(db.Model):
    """A shopper's rating of a collected order: one per order, never edited (shop.orders.feedback)."""

    __tablename__ = "order_feedback"
    __table_args__ = (
        CheckConstraint(f"rating BETWEEN {MIN_RATING} AND {MAX_RATING}", name="rating_range"),
        CheckConstraint(f"length(comment) <= {MAX_FEEDBACK_COMMENT}", name="comment_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    rating: Mapped[int]
    comment: Mapped[str | None] = mapped_column(String(MAX_FEEDBACK_COMMENT))
    channel: Mapped[str] = mapped_column(String(10), default="web")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
