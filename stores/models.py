"""Stores, their weekly opening hours and dated exceptions, and their pickup settings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db
from shop.core.limits import DEFAULT_HOLD_DAYS, MAX_HOLD_DAYS, MIN_HOLD_DAYS


class Store(db.Model):
    """A physical store: where stock sits, where tills sell and where pickup orders are handed over."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint(f"hold_days BETWEEN {MIN_HOLD_DAYS} AND {MAX_HOLD_DAYS}", name="hold_days_range"),
        CheckConstraint("prep_lead_minutes >= 0", name="prep_lead_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    pickup_enabled: Mapped[bool] = mapped_column(default=True)
    pay_at_store_enabled: Mapped[bool] = mapped_column(default=True)
    hold_days: Mapped[int] = mapped_column(default=DEFAULT_HOLD_DAYS)
    prep_lead_minutes: Mapped[int] = mapped_column(default=60)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="store", cascade="all, delete-orphan", order_by="OpeningHours.weekday"
    )
    exceptions: Mapped[list[OpeningException]] = relationship(
        back_populates="store", cascade="all, delete-orphan", order_by="OpeningException.date"
    )


class OpeningHours(db.Model):
    """One opening span on a weekday (0 = Monday); `closes` at or before `opens` runs past midnight."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        UniqueConstraint("store_id", "weekday", name="uq_opening_hours_store_weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    weekday: Mapped[int]
    opens: Mapped[dt.time] = mapped_column(Time)
    closes: Mapped[dt.time] = mapped_column(Time)

    store: Mapped[Store] = relationship(back_populates="hours")


class OpeningException(db.Model):
    """A dated override of the weekly hours: a holiday closure (no times) or special hours."""

    __tablename__ = "opening_exceptions"
    __table_args__ = (UniqueConstraint("store_id", "date", name="uq_opening_exceptions_store_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    date: Mapped[dt.date] = mapped_column(Date)
    opens: Mapped[dt.time | None] = mapped_column(Time)
    closes: Mapped[dt.time | None] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(200), default="")

    store: Mapped[Store] = relationship(back_populates="exceptions")
