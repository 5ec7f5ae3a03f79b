"""Accounts, their store assignments and bearer tokens: the tables shop.auth needs, kept beside it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

ROLES = ("customer", "staff", "marketing", "admin")

user_stores = Table(
    "user_stores",
    db.metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", Integer, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True),
)



class User(db.Model):
    """Anyone who signs in: a shopper (customer) or a member of staff, marketing or admin."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(20), default="customer")
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    preferred_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"))
    locale: Mapped[str] = mapped_column(String(20), default="en", server_default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # personal data removed on request

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def store_ids(self) -> list[int]:
        rows = db.session.execute(
            db.select(user_stores.c.store_id).where(user_stores.c.user_id == self.id)
        )
        return sorted(r[0] for r in rows)


class ApiToken(db.Model):
    """An opaque bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class TimelineEntry(db.Model):
    __tablename__ = "timeline_entries"
    __table_args__ = (Index("ix_timeline_entries_customer_id_id", "customer_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10))
    reference: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataRequest(db.Model):
    """A data-rights request carried out (an export or an erasure): who asked, who did it, when.

    Kept after an erasure as the record that it happened; it holds no personal data itself.
    """

    __tablename__ = "data_requests"
    __table_args__ = (CheckConstraint("kind IN ('export', 'erasure')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    on_behalf: Mapped[bool] = mapped_column(default=False)  # staff acting on the customer's request
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
