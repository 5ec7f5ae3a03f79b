"""Demo pickup orders in every status at each demo store, so the queue and the tablet have work.

Made through the real services (carts, checkout, the pickup flow), never by writing statuses.
"""

from __future__ import annotations

from sqlalchemy import select

from inventory.models import Product, Stock
from shop.accounts.actors import Actor
from shop.accounts.models import User
from shop.carts import adds as cart_adds
from shop.carts import service as carts
from shop.core.extensions import db
from shop.orders import checkout, pickup
from shop.orders import payment_events as order_payments
from shop.orders.models import Order
from stores.models import Store

FLOWS = ["placed", "placed", "picking", "ready_for_pickup", "ready_for_pickup", "picked_up", "cancelled",
         "expired"]


def _skus_in_stock(store: Store, n: int) -> list[Product]:
    rows = db.session.scalars(
        select(Product).join(Stock, Stock.product_id == Product.id)
        .where(Stock.store_id == store.id, Stock.on_hand - Stock.reserved - Stock.safety_stock >= 20)
        .order_by(Product.sku).limit(n)
    )
    return list(rows)


def _order(store: Store, products: list[Product], shopper: User | None, i: int) -> Order:
    actor = Actor("customer", shopper, "app") if shopper else Actor("guest", None, "web")
    cart, _ = carts.open_cart(actor, store.id)
    for product in products:
        cart_adds.add_line(cart.id, product.sku, 1 + i % 2, actor)
    cart.email = shopper.email if shopper else f"guest{i}.{store.code.lower()}@demo.omnishop.dev"
    order, _ = checkout.place(cart.id, actor, {"payment_method": "pay_at_store", "sms_updates": bool(shopper)})
    return order


def _advance(order: Order, target: str, staff: Actor) -> None:
    if target == "placed":
        return
    if target == "cancelled":
        pickup.cancel(order, staff, "Demo: the shopper called to cancel")
        return
    pickup.start_picking(order, staff)
    if target == "picking":
        return
    pickup.mark_ready(order, staff)
    if target == "picked_up":
        pickup.hand_over(order, order.pickup_code, staff)
    elif target == "expired":
        order_payments.close(order, "expire", "Demo: not collected in time")


def load(stores: list[Store], shopper: User | None) -> int:
    """Orders for every store that has none yet; returns how many were made."""
    made = 0
    for store in stores:
        if db.session.scalar(select(Order.id).where(Order.store_id == store.id).limit(1)) is not None:
            continue
        email = f"staff-{store.code.lower()}@demo.omnishop.dev"
        staff_user = db.session.scalar(select(User).where(User.email == email))
        staff = Actor("staff", staff_user, "store", store.id)
        products = _skus_in_stock(store, 6)
        for i, target in enumerate(FLOWS):
            owner = shopper if i in (0, 5) else None
            order = _order(store, products[i % 3: i % 3 + 2], owner, i)
            _advance(order, target, staff)
            made += 1
    return made
