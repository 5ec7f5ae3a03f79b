"""Marketing's coupon desk: list coupons with their uses, and edit what is safe to edit. Never commits.

What can change, and why (docs/api.md, "Coupons"):
- never, by PATCH: code, kind, value, currency, single_use, max_uses_per_customer, starts_at. A
  different offer is a new coupon; messages and adverts that named the code promised these terms.
- before the first redemption, also min_subtotal; once redeemed it is fixed (409 `coupon_redeemed`):
  shoppers who used the code and those who use it later must get the same deal.
- always: ends_at (later or sooner: it only decides until when the code can be used), max_uses (never
  below the uses already counted: 422 `coupon_max_uses_below_uses`), active (false deactivates it:
  carts then show the coupon as unknown and checkout refuses it; true brings it back).
"""

from __future__ import annotations

from sqlalchemy import func, select

from shop.carts import coupons
from shop.carts.models import Coupon, CouponRedemption
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.pagination import Page, keyset

FIXED_ONCE_REDEEMED = ("min_subtotal",)


def by_code(code: str, *, lock: bool = False) -> Coupon:
    """Any coupon, active or not (the desk sees deactivated ones); a 404 `coupon_not_found`."""
    stmt = select(Coupon).where(Coupon.code == coupons.normalize(code))
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    coupon = db.session.scalar(stmt)
    if coupon is None:
        raise DomainError("coupon_not_found", f"There is no coupon {code!r}.")
    return coupon


def with_uses(items: list[Coupon]) -> list[Coupon]:
    """Each coupon with `uses` (its redemptions), counted in one query for the lot."""
    ids = [c.id for c in items]
    counts = dict(db.session.execute(
        select(CouponRedemption.coupon_id, func.count(CouponRedemption.id))
        .where(CouponRedemption.coupon_id.in_(ids)).group_by(CouponRedemption.coupon_id)).all()) if ids else {}
    for coupon in items:
        coupon.uses = counts.get(coupon.id, 0)
    return items


def listing(active: bool | None, batch: str | None, limit: int, cursor: str | None) -> Page:
    """Coupons, newest first, filtered by active and batch; one page."""
    stmt = select(Coupon)
    if active is not None:
        stmt = stmt.where(Coupon.active.is_(active))
    if batch is not None:
        stmt = stmt.where(Coupon.batch == batch)
    page = keyset(stmt, (Coupon.id,), limit=limit, cursor=cursor, descending=True)
    with_uses(page.items)
    return page


def edit(code: str, changes: dict) -> Coupon:
    """Apply the safe changes (see the module's docstring); the coupon row is locked, so a checkout
    redeeming it at the same time is counted before the checks."""
    coupon = by_code(code, lock=True)
    uses = coupons.uses(coupon)
    fixed = [name for name in FIXED_ONCE_REDEEMED if name in changes and changes[name] != getattr(coupon, name)]
    if uses and fixed:
        raise DomainError("coupon_redeemed", f"{coupon.code} has been used {uses} times: "
                          f"{', '.join(fixed)} can no longer change. Make a new coupon instead.", fields=fixed)
    if changes.get("max_uses") is not None and changes["max_uses"] < uses:
        raise DomainError("coupon_max_uses_below_uses",
                          f"{coupon.code} has been used {uses} times already; max_uses cannot be lower.", uses=uses)
    ends_at = changes.get("ends_at", coupon.ends_at)
    if ends_at is not None and coupon.starts_at is not None and ends_at <= coupon.starts_at:
        raise DomainError("validation_error", "ends_at must be after starts_at.",
                          errors={"ends_at": ["Must be after starts_at."]})
    for name, value in changes.items():
        setattr(coupon, name, value)
    db.session.flush()
    coupon.uses = uses
    return coupon
