"""The consent ledger's table: one row per consent event, appended and never changed.

Who: a customer id (no foreign key: the ledger is evidence and outlives an account), the address
the event was about (a normalised email or E.164 phone), or both. An event recorded by staff at a
counter names the store (`store_id`) and the staff member (`actor_id`); neither has a foreign key
either. An UPDATE or DELETE through the
ORM raises here; on PostgreSQL a trigger (migration 3c1f0e7a9b2d) refuses them from any client.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db
from shop.core.limits import CONSENT_WORDING_MAX

CHANNELS = ("email", "sms")
PURPOSES = ("transactional", "marketing")
STATES = ("granted", "withdrawn", "pending")  # pending: a marketing email yes awaiting its confirmation
SOURCES = ("web", "app", "store", "checkout", "sms_keyword", "sms_reply", "unsubscribe_link", "staff",
           "email_confirmation", "confirmation_expired")  # confirmation_expired: a pending yes lapsed
WORDING_MAX = CONSENT_WORDING_MAX


class ConsentRecord(db.Model):
    """A customer's (or a bare address's) yes or no to one channel and purpose, with how and when."""

    __tablename__ = "consent_records"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose_known"),
        CheckConstraint(f"state IN {STATES!r}", name="state_known"),
        CheckConstraint(f"source IN {SOURCES!r}", name="source_known"),
        CheckConstraint("customer_id IS NOT NULL OR address IS NOT NULL", name="has_subject"),
        Index("ix_consent_records_channel_address_id", "channel", "address", "id"),
        Index("ix_consent_records_customer_id_id", "customer_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column()
    address: Mapped[str | None] = mapped_column(String(254))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    wording: Mapped[str] = mapped_column(String(WORDING_MAX))
    reference: Mapped[str] = mapped_column(String(100), default="")
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    store_id: Mapped[int | None] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column()


class AppendOnlyError(RuntimeError):
    """A consent record was about to be changed or removed: the ledger only grows."""


@event.listens_for(ConsentRecord, "before_update")
def _refuse_update(mapper, connection, target) -> None:
    raise AppendOnlyError("consent_records is append-only: record a new event instead")


@event.listens_for(ConsentRecord, "before_delete")
def _refuse_delete(mapper, connection, target) -> None:
    raise AppendOnlyError("consent_records is append-only: record a new event instead")
