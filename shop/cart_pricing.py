"""A cart as the shopper sees it: current prices, line totals, availability, discount and total.

Recomputed from the catalog and stock on every read, so a price change shows up at once, with the
price the line was added at beside it.
"""

from __future__ import annotations

from inventory.stock import store_stock
from shop import coupons
from shop.errors import DomainError
from shop.extensions import clock
from shop.models.carts import Cart

LOW_STOCK = 3


def availability(available: int, quantity: int) -> str:
    if available <= 0:
        return "out"
    if available < quantity or available <= LOW_STOCK:
        return "low"
    return "in_stock"


def _stock_by_sku(cart: Cart) -> dict[str, int]:
    if cart.pickup_store_id is None or not cart.lines:
        return {}
    rows = store_stock(cart.pickup_store_id, [line.product.sku for line in cart.lines], clock.now())
    return {row["sku"]: row["available"] for row in rows}


def priced(cart: Cart) -> dict:
    """The cart with its figures, ready for CartSchema."""
    stock = _stock_by_sku(cart)
    lines, subtotal = [], 0
    for line in cart.lines:
        product = line.product
        line_total = product.price * line.quantity
        subtotal += line_total
        lines.append({
            "sku": product.sku,
            "name": product.name,
            "quantity": line.quantity,
            "unit_price": product.price,
            "line_total": line_total,
            "price_changed": product.price != line.unit_price_at_add,
            "unit_price_when_added": line.unit_price_at_add,
            "availability": (availability(stock.get(product.sku, 0), line.quantity)
                             if product.active and cart.pickup_store_id else
                             ("out" if not product.active else None)),
        })
    currency = cart.lines[0].product.currency if cart.lines else None
    discount, coupon_problem = 0, None
    if cart.coupon_code:
        try:
            coupon = coupons.find(cart.coupon_code)
            coupons.check(coupon, subtotal=subtotal, currency=currency, now=clock.now(),
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
