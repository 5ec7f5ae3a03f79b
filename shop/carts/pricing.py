"""A cart as the shopper sees it: current prices, line totals, availability, discount and total.

Recomputed from the catalog and stock on every read, so a price change shows up at once, with the
price the line was added at beside it.
"""

from __future__ import annotations

from shop.carts import coupons, rules
from shop.carts.snapshot import CartSnapshot
from shop.core.clock import clock
from shop.core.errors import DomainError

LOW_STOCK = 3


def availability(available: int, quantity: int) -> str:
    if available <= 0:
        return "out"
    if available < quantity or available <= LOW_STOCK:
        return "low"
    return "in_stock"


def priced(cart: CartSnapshot) -> dict:
    """The cart with its figures, ready for CartSchema."""
    lines, subtotal = [], 0
    for line in cart.lines:
        line_total = line.price * line.quantity
        subtotal += line_total
        lines.append({
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.price,
            "line_total": line_total,
            "price_changed": line.price != line.price_at_add,
            "unit_price_when_added": line.price_at_add,
            "availability": ("out" if not line.active else
                             None if line.available is None else availability(line.available, line.quantity)),
        })
    currency = cart.lines[0].currency if cart.lines else None
    discount, coupon_problem = 0, None
    if cart.coupon_code:
        try:
            coupon = coupons.find(cart.coupon_code)
            rules.check_coupon(coupon, subtotal=subtotal, currency=currency, now=clock.now(),
                               customer_id=cart.customer_id, email=cart.email)
            discount = coupons.discount(coupon, subtotal)
        except DomainError as exc:
            coupon_problem = {"code": exc.code, "detail": exc.detail}
    return {
        "id": cart.id,
        "status": cart.status,
        "customer_id": cart.customer_id,
        "pickup_store_id": cart.pickup_store_id,
        "email": cart.email,
        "phone": cart.phone,
        "lines": lines,
        "subtotal": subtotal,
        "discount": discount,
        "total": subtotal - discount,
        "currency": currency,
        "coupon": {"code": cart.coupon_code, "applied": coupon_problem is None,
                   "problem": coupon_problem} if cart.coupon_code else None,
        "version": cart.version,
        "notes": cart.notes or [],
        "last_activity_at": cart.last_activity_at,
    }
