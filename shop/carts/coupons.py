"""Coupons: whether a code may be used now by this shopper, and the discount it gives. Never commits.

Rounding: a percentage discount is rounded half up to the minor unit, computed in integers
((subtotal * percent + 50) // 100), never through a float; no discount exceeds the subtotal.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from shop.carts.models import Coupon, CouponRedemption
from shop.core.errors import DomainError
from shop.core.extensions import db


def normalize(code: str) -> str:
    return code.strip().upper()


def find(code: str, *, lock: bool = False) -> Coupon:
    """The active coupon; `lock` (at checkout) serialises use of a limited code."""
    stmt = select(Coupon).where(Coupon.code == normalize(code))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    coupon = db.session.scalar(stmt)
    if coupon is None or not coupon.active:
        raise DomainError("coupon_unknown", f"There is no coupon {code!r}.")
    return coupon


def _uses(coupon: Coupon, customer_id: int | None = None, email: str | None = None) -> int:
    stmt = select(func.count(CouponRedemption.id)).where(CouponRedemption.coupon_id == coupon.id)
    if customer_id is not None or email is not None:
        who = []
        if customer_id is not None:
            who.append(CouponRedemption.customer_id == customer_id)
        if email:
            who.append(CouponRedemption.email == email)
        stmt = stmt.where(or_(*who))
    return db.session.scalar(stmt) or 0


def check(coupon: Coupon, *, subtotal: int, currency: str | None, now: dt.datetime,
          customer_id: int | None = None, email: str | None = None) -> None:
    """Raise a 422 naming the reason when the coupon cannot be used for this cart now."""
    def no(code: str, detail: str, **extra) -> DomainError:
        return DomainError(code, detail, coupon=coupon.code, **extra)

    if coupon.starts_at and now < coupon.starts_at:
        raise no("coupon_not_started", f"{coupon.code} can be used from {coupon.starts_at.isoformat()}.")
    if coupon.ends_at and now >= coupon.ends_at:
        raise no("coupon_expired", f"{coupon.code} expired on {coupon.ends_at.isoformat()}.")
    limit = 1 if coupon.single_use else coupon.max_uses
    if limit is not None and _uses(coupon) >= limit:
        raise no("coupon_exhausted", f"{coupon.code} has been used up.")
    per_customer = coupon.max_uses_per_customer
    known = customer_id is not None or bool(email)
    if per_customer is not None and known and _uses(coupon, customer_id, email) >= per_customer:
        raise no("coupon_used", f"You have already used {coupon.code}.")
    if coupon.kind == "fixed" and currency and coupon.currency != currency:
        raise no("coupon_currency", f"{coupon.code} is for {coupon.currency} carts.")
    if subtotal < coupon.min_subtotal:
        raise no("coupon_min_subtotal",
                 f"{coupon.code} needs a subtotal of at least {coupon.min_subtotal} minor units.",
                 min_subtotal=coupon.min_subtotal)


def discount(coupon: Coupon, subtotal: int) -> int:
    amount = (subtotal * coupon.value + 50) // 100 if coupon.kind == "percent" else coupon.value
    return max(0, min(amount, subtotal))


def create(data: dict) -> Coupon:
    data = {**data, "code": normalize(data["code"])}
    if db.session.scalar(select(Coupon.id).where(Coupon.code == data["code"])) is not None:
        raise DomainError("coupon_code_taken", f"Coupon {data['code']} exists already.")
    coupon = Coupon(**data)
    db.session.add(coupon)
    db.session.flush()
    return coupon


def redeem(coupon: Coupon, reference: str, customer_id: int | None, email: str | None) -> None:
    """Count a use (at checkout)."""
    db.session.add(CouponRedemption(coupon_id=coupon.id, customer_id=customer_id, email=email,
                                    reference=reference))
