"""Coupons: finding a code, the discount it gives, and its redemptions. Never commits.

Whether a code may be used now by this shopper is a cart rule: shop.carts.rules.check_coupon.

Rounding: a percentage discount is rounded half up to the minor unit, computed in integers
((subtotal * percent + 50) // 100), never through a float; no discount exceeds the subtotal.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, func, or_, select

from shop.carts.models import Coupon, CouponRedemption
from shop.core.clock import clock
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


def uses(coupon: Coupon, customer_id: int | None = None, email: str | None = None) -> int:
    """Redemptions of the coupon (by this customer or email, when given): what the limits count."""
    stmt = select(func.count(CouponRedemption.id)).where(CouponRedemption.coupon_id == coupon.id)
    if customer_id is not None or email is not None:
        who = []
        if customer_id is not None:
            who.append(CouponRedemption.customer_id == customer_id)
        if email:
            who.append(CouponRedemption.email == email)
        stmt = stmt.where(or_(*who))
    return db.session.scalar(stmt) or 0


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


CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: typed from a text message
CODE_LENGTH = 10  # 50 bits: a guess finds no one's code


def mint_single_use(kind: str, value: int, valid_days: int, batch: str, currency: str | None = None) -> str:
    """A new single-use code (a campaign's incentive, a keyword's reward; the port "mint_coupon"):
    valid from now for `valid_days`, one use in all, grouped by `batch` (the campaign or keyword)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Coupon.id).where(Coupon.code == code)) is None:
            break
    now = clock.now()
    create({"code": code, "kind": kind, "value": value, "currency": currency, "single_use": True, "batch": batch[:64],
            "starts_at": now, "ends_at": now + dt.timedelta(days=valid_days)})
    return code


def _order_reference(order_id: int) -> str:
    return f"order:{order_id}"


def redeem(coupon: Coupon, order_id: int, customer_id: int | None, email: str | None) -> None:
    """Count a use by an order (at checkout)."""
    db.session.add(CouponRedemption(coupon_id=coupon.id, customer_id=customer_id, email=email,
                                    reference=_order_reference(order_id)))


def give_back(code: str | None, order_id: int) -> None:
    """The use by an order that will not be collected (cancelled, expired) stops counting: the
    shopper may use a single-use or once-per-customer code again. Deleted rather than voided: the
    order keeps its coupon_code and its events, which is the history."""
    if code is None:
        return
    coupon_id = select(Coupon.id).where(Coupon.code == code).scalar_subquery()
    db.session.execute(delete(CouponRedemption).where(
        CouponRedemption.coupon_id == coupon_id, CouponRedemption.reference == _order_reference(order_id)))

