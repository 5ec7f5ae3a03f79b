"""Campaign tables: campaigns, enrolments (one subject's way through the steps), step runs, and the
clicks and orders credited to a step (attribution). docs/campaigns.md explains the model.

A campaign's audience, steps and exits are JSON documents checked by the API's schemas
(notifications.campaigns.schemas); what the database can state, it states as named CHECKs.
Enrolments carry no foreign key to carts or orders: notifications knows the shop only by ids.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

TRIGGERS = ("cart_abandoned", "order_picked_up", "order_expired", "back_in_stock", "sms_keyword")
CAMPAIGN_STATUSES = ("draft", "active", "paused")
ENROLMENT_STATUSES = ("active", "exited", "completed")
EXITS = ("order_placed", "cart_emptied", "unsubscribed")
RUN_OUTCOMES = ("sent", "skipped")
CHANNELS = ("email", "sms")
AUDIENCES = ("customer", "guest", "any")
DEFAULT_COOLDOWN_DAYS = 7
DEFAULT_ATTRIBUTION_DAYS = 5
_ACTIVE = text("status = 'active'")


class Campaign(db.Model):
    """What starts it (trigger), who may enter (audience), what it sends (steps), what ends it (exits)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(f"trigger_kind IN {TRIGGERS!r}", name="trigger_known"),
        CheckConstraint(f"status IN {CAMPAIGN_STATUSES!r}", name="status_known"),
        CheckConstraint("cooldown_days >= 0", name="cooldown_nonnegative"),
        CheckConstraint("attribution_days >= 1", name="attribution_positive"),
        Index("ix_campaigns_trigger_kind_status", "trigger_kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    trigger: Mapped[str] = mapped_column("trigger_kind", String(20))  # "trigger" is an SQL keyword
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # {"channels": ["email", ...] (one with consent is enough), "store_ids": [...] or [],
    #  "min_cart_value": minor units or null, "who": customer|guest|any, "keyword": sms_keyword only}
    audience: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"delay_minutes", "channel", "template", "incentive": {"kind", "value", "valid_days"} | null}]
    steps: Mapped[list] = mapped_column(JSON, default=list)
    exit_on: Mapped[list] = mapped_column(JSON, default=list)
    cooldown_days: Mapped[int] = mapped_column(default=DEFAULT_COOLDOWN_DAYS)
    attribution_days: Mapped[int] = mapped_column(default=DEFAULT_ATTRIBUTION_DAYS)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Enrolment(db.Model):
    """One subject (a cart, an order) and its contact on their way through a campaign's steps.

    At most one active enrolment per campaign and subject, and per campaign and contact: partial
    unique indexes, so two schedulers racing cannot enrol twice; the cool-down (no new enrolment
    for a subject or contact within `cooldown_days` of the last) is checked on insert.
    """

    __tablename__ = "campaign_enrolments"
    __table_args__ = (
        CheckConstraint(f"status IN {ENROLMENT_STATUSES!r}", name="status_known"),
        CheckConstraint("next_step >= 0", name="next_step_nonnegative"),
        CheckConstraint("status = 'active' OR reason IS NOT NULL", name="ended_has_reason"),
        Index("uq_campaign_enrolments_active_subject", "campaign_id", "subject", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("uq_campaign_enrolments_active_contact", "campaign_id", "contact", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        # The advance sweep's claim: active enrolments by due time.
        Index("ix_campaign_enrolments_due", "next_due_at", "id", postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("ix_campaign_enrolments_campaign_subject", "campaign_id", "subject", "created_at"),
        Index("ix_campaign_enrolments_campaign_contact", "campaign_id", "contact", "created_at"),
        Index("ix_campaign_enrolments_cart_id", "cart_id"),
        Index("ix_campaign_enrolments_customer_id", "customer_id"),
        # An order exits a guest's enrolments by their contact (email or phone), in any campaign.
        Index("ix_campaign_enrolments_active_contact", "contact", postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80))  # cart:, order:, stock_alert:, sms_keyword: <id>
    contact: Mapped[str] = mapped_column(String(270))  # "customer:<id>", "email:<address>", "sms:<phone>"
    customer_id: Mapped[int | None]
    cart_id: Mapped[str | None] = mapped_column(String(43))
    order_id: Mapped[int | None]
    store_id: Mapped[int | None]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    facts: Mapped[dict] = mapped_column(JSON, default=dict)  # what the trigger said (the messages' context)
    anchor_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # step delays count from here
    next_step: Mapped[int] = mapped_column(default=0)
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="active")
    reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship(lazy="joined")


class StepRun(db.Model):
    """A step's outcome for an enrolment: the message queued, or why it was skipped."""

    __tablename__ = "campaign_step_runs"
    __table_args__ = (
        UniqueConstraint("enrolment_id", "step", name="uq_campaign_step_runs_enrolment_step"),
        CheckConstraint(f"outcome IN {RUN_OUTCOMES!r}", name="outcome_known"),
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel_known"),
        CheckConstraint("(outcome = 'sent') = (message_id IS NOT NULL)", name="sent_has_message"),
        CheckConstraint("outcome = 'sent' OR reason IS NOT NULL", name="skipped_has_reason"),
        Index("ix_campaign_step_runs_campaign_id_step", "campaign_id", "step"),
        Index("ix_campaign_step_runs_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("campaign_enrolments.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    step: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Click(db.Model):
    """A tagged recovery link opened: which step's message, for which cart."""

    __tablename__ = "campaign_clicks"
    __table_args__ = (Index("ix_campaign_clicks_cart_id", "cart_id"),
                      Index("ix_campaign_clicks_customer_id", "customer_id"),
                      Index("ix_campaign_clicks_step_run_id", "step_run_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("campaign_step_runs.id", ondelete="CASCADE"))
    cart_id: Mapped[str | None] = mapped_column(String(43))
    customer_id: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversion(db.Model):
    """An order credited to a step (last touch): one per order at most."""

    __tablename__ = "campaign_conversions"
    __table_args__ = (CheckConstraint("revenue >= 0", name="revenue_nonnegative"),
                      Index("ix_campaign_conversions_step_run_id", "step_run_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    step_run_id: Mapped[int] = mapped_column(ForeignKey("campaign_step_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(unique=True)
    revenue: Mapped[int]
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
