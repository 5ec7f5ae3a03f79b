"""Every cart rule, once: line and quantity caps, active SKUs, one currency, and the coupon checks.

Each path that changes a cart asks these functions (the hot add, set quantity, a claim's merge,
checkout, the priced read) and none restates them. Rules judge the cart as it would be after a
change: `breach(lines, changed)` names the first rule broken, limiting the line rules to the lines
the change touched, so a line that became unavailable blocks checkout, not an edit of another line.
The hot add (shop.carts.adds) refuses the common cases in its upsert's WHERE with these numbers and
asks `breach` for the answer; tests/api/test_cart_rules.py proves both decide alike.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from shop.carts import coupons
from shop.carts.models import CartLine, Coupon
from shop.core.errors import DomainError
from shop.core.limits import MAX_LINE_QUANTITY, MAX_LINES  # noqa: F401  (the cart's caps, named once)


class LineLike(Protocol):
    sku: str
    quantity: int
    currency: str
    active: bool


@dataclasses.dataclass(frozen=True)
class Line:
    """A line as the rules see it: a snapshot line has the same four fields."""

    sku: str
    quantity: int
    currency: str
    active: bool

    @classmethod
    def of(cls, line: CartLine) -> Line:
        return cls(line.product.sku, line.quantity, line.product.currency, line.product.active)


def added(lines: Sequence[LineLike], new: LineLike) -> list[LineLike]:
    """The lines after adding `new`: an existing line of its SKU grows, otherwise it is appended."""
    out, grown = [], False
    for line in lines:
        if line.sku == new.sku:
            line, grown = Line(line.sku, line.quantity + new.quantity, new.currency, new.active), True
        out.append(line)
    return out if grown else [*out, new]


def with_quantity(lines: Sequence[LineLike], sku: str, quantity: int) -> list[LineLike]:
    """The lines after setting one line's quantity."""
    return [Line(line.sku, quantity, line.currency, line.active) if line.sku == sku else line
            for line in lines]


def breach(lines: Sequence[LineLike], changed: Iterable[str] | None = None) -> DomainError | None:
    """The first rule these lines break, as the 422 to raise; None when they are a valid cart.

    `changed` names the SKUs a change touched; the line rules (active, quantity, currency) apply to
    those only. None means every line (checkout).
    """
    if len(lines) > MAX_LINES:
        return DomainError("too_many_lines", f"A cart holds at most {MAX_LINES} lines.")
    wanted = None if changed is None else set(changed)
    judged = [line for line in lines if wanted is None or line.sku in wanted]
    gone = [line.sku for line in judged if not line.active]
    if gone:
        return DomainError("unknown_sku", f"No longer sold: {', '.join(gone)}.", skus=gone)
    for line in judged:
        if line.quantity > MAX_LINE_QUANTITY:
            return DomainError("quantity_too_large",
                               f"At most {MAX_LINE_QUANTITY} of one SKU; {line.sku} would have {line.quantity}.")
        others = {other.currency for other in lines if other.sku != line.sku}
        if others and line.currency not in others:
            return DomainError("currency_mismatch",
                               f"{line.sku} is priced in {line.currency}; the cart is in {min(others)}.")
    return None


def check(lines: Sequence[LineLike], changed: Iterable[str] | None = None) -> None:
    """Raise the first rule the lines break (see `breach`)."""
    error = breach(lines, changed)
    if error is not None:
        raise error


def merged(lines: Sequence[LineLike], incoming: LineLike) -> tuple[int | None, str | None]:
    """A line merged in from another cart: the quantity its line ends with (None: left out) and a note.

    Merging never refuses the claim: a sum over the cap is capped, a line no rule allows stays out.
    """
    held = next((line.quantity for line in lines if line.sku == incoming.sku), 0)
    total = held + incoming.quantity
    quantity = min(total, MAX_LINE_QUANTITY)
    error = breach(added(lines, Line(incoming.sku, quantity - held, incoming.currency, incoming.active)),
                   [incoming.sku])
    if error is not None:
        return None, f"{incoming.sku} was not added: {error.detail}"
    if quantity < total:
        return quantity, f"{incoming.sku}: {total} wanted, capped at {MAX_LINE_QUANTITY}."
    return quantity, None


def check_coupon(coupon: Coupon, *, subtotal: int, currency: str | None, now: dt.datetime,
                 customer_id: int | None = None, email: str | None = None) -> None:
    """Raise a 422 naming the reason when the coupon cannot be used for this cart now."""
    def no(code: str, detail: str, **extra) -> DomainError:
        return DomainError(code, detail, coupon=coupon.code, **extra)

    if coupon.starts_at and now < coupon.starts_at:
        raise no("coupon_not_started", f"{coupon.code} can be used from {coupon.starts_at.isoformat()}.")
    if coupon.ends_at and now >= coupon.ends_at:
        raise no("coupon_expired", f"{coupon.code} expired on {coupon.ends_at.isoformat()}.")
    limit = 1 if coupon.single_use else coupon.max_uses
    if limit is not None and coupons.uses(coupon) >= limit:
        raise no("coupon_exhausted", f"{coupon.code} has been used up.")
    per_customer = coupon.max_uses_per_customer
    known = customer_id is not None or bool(email)
    if per_customer is not None and known and coupons.uses(coupon, customer_id, email) >= per_customer:
        raise no("coupon_used", f"You have already used {coupon.code}.")
    if coupon.kind == "fixed" and currency and coupon.currency != currency:
        raise no("coupon_currency", f"{coupon.code} is for {coupon.currency} carts.")
    if subtotal < coupon.min_subtotal:
        raise no("coupon_min_subtotal",
                 f"{coupon.code} needs a subtotal of at least {coupon.min_subtotal} minor units.",
                 min_subtotal=coupon.min_subtotal)
