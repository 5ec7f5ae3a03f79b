"""SMS keyword opt-ins (table `sms_keyword_optins`): a number texted an advert's keyword; then, maybe, Y.

One row per number and keyword: `pending` once the keyword came in (the prompt we replied is kept,
word for word, as the wording the Y agrees to), `confirmed` with the coupon minted for it once Y
came within SMS_KEYWORD_REPLY_HOURS. A number gets one code per keyword, however often it asks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.core.clock import utcnow
from shop.core.extensions import UTCDateTime, db

OPTIN_STATUSES = ("pending", "confirmed")


class SmsKeywordOptin(db.Model):
    __tablename__ = "sms_keyword_optins"
    __table_args__ = (
        UniqueConstraint("phone", "keyword", name="uq_sms_keyword_optins_phone_keyword"),
        CheckConstraint(f"status IN {OPTIN_STATUSES!r}", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    keyword: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    prompt: Mapped[str] = mapped_column(String(320))
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    coupon_code: Mapped[str | None] = mapped_column(String(64))
