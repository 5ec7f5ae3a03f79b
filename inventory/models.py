"""The item master, stock per store and SKU, the append-only stock ledger, reservations, till events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

LEDGER_REASONS = ("receipt", "sale", "return", "count", "damage", "reservation", "release", "pickup")


class Product(db.Model):
    """A sellable SKU with its price in minor units of one ISO 4217 currency."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_nonnegative"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    price: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Stock(db.Model):
    """The one stock figure of a store and SKU, shared by online sales and the tills."""

    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_nonnegative"),
        CheckConstraint("safety_stock >= 0", name="safety_nonnegative"),
    )

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(lazy="joined")


class LedgerEntry(db.Model):
    """One stock change, never updated or deleted: on_hand and reserved are the sums of these."""

    __tablename__ = "stock_ledger"
    __table_args__ = (
        CheckConstraint(f"reason IN {LEDGER_REASONS!r}", name="reason_known"),
        Index("ix_stock_ledger_store_product_id", "store_id", "product_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    delta_on_hand: Mapped[int] = mapped_column(default=0)
    delta_reserved: Mapped[int] = mapped_column(default=0)
    reason: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(lazy="joined")


_AT_RISK = text("at_risk AND status = 'active'")


class Reservation(db.Model):
    """Units promised to one reference (an order) at one store until it is consumed or released."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'released', 'consumed', 'expired')", name="status_known"
        ),
        Index("ix_reservations_status_expires_at", "status", "expires_at"),  # the sweep, all stores
        # Expired holds at one store: every writer and reader of that store's stock asks this.
        Index("ix_reservations_store_id_status_expires_at", "store_id", "status", "expires_at"),
        # Open holds at risk (stock_events.count_at_risk, for /metrics): only those rows, so counting is cheap.
        Index("ix_reservations_at_risk", "expires_at", postgresql_where=_AT_RISK, sqlite_where=_AT_RISK),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    reference: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    at_risk: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[ReservationLine]] = relationship(
        back_populates="reservation", cascade="all, delete-orphan", lazy="selectin"
    )


class ReservationLine(db.Model):
    __tablename__ = "reservation_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("reservation_id", "product_id", name="uq_reservation_lines_res_product"),
        # The lines of live holds of one SKU at one store, by expiry: what expired_units, the hold's lock
        # and the at-risk check read. Only live lines are in it: it grows with the holds open, not history.
        Index("ix_reservation_lines_live", "store_id", "product_id", "expires_at",
              postgresql_where=text("live"), sqlite_where=text("live")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    at_risk: Mapped[bool] = mapped_column(default=False)
    # Copies of the reservation's store, expiry and "status is active", for the index above. Written
    # with the hold; `live` is cleared with the status (inventory.expiring.claim), expires_at
    # moves with it (reservations.extend); tests/support/invariants.py checks they never differ.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    live: Mapped[bool] = mapped_column(default=True)

    reservation: Mapped[Reservation] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")

    @property
    def sku(self) -> str:
        return self.product.sku


class StockEvent(db.Model):
    """A till or back-room event, kept by its event_id so a retry returns the first result."""

    __tablename__ = "stock_events"
    __table_args__ = (UniqueConstraint("store_id", "event_id", name="uq_stock_events_store_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(20))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict] = mapped_column(JSON)
    actor_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
