"""The general path of a checkout's order writes, for the agreement test: the order and its lines
through the ORM's unit of work, as checkout wrote them before the Core INSERTs (test_appends_agree).
The hold id is a pending change the order's first event writes (shop.orders.states) on both paths."""

from __future__ import annotations

import secrets

from shop.core import plans
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.plans import prepared
from shop.orders import checkout
from shop.orders import queries as orders
from shop.orders.models import Order, OrderLine


def _new_order(cart, store, figures, email, phone, sms, method, actor):
    now = clock.now()
    order = Order(
        number=orders.new_number(store), access_token=secrets.token_urlsafe(32),
        pickup_code=orders.new_pickup_code(),
        status="pending_payment" if method == "card" else "placed",
        store_id=store.id, customer_id=cart.customer_id, cart_id=cart.id, email=email, phone=phone,
        sms_updates=sms, channel=actor.channel, payment_method=method, currency=figures["currency"],
        subtotal=figures["subtotal"], discount=figures["discount"], total=figures["total"],
        coupon_code=cart.coupon_code if figures["discount"] else None,
        promised_at=orders.ready_by(store, now),
    )
    order.lines = [OrderLine(product_id=line.product_id, sku=line.sku, name=line.name, unit_price=line.price,
                             quantity=line.quantity) for line in cart.lines]
    db.session.add(order)
    with prepared(db.session):
        db.session.flush()
    return order


def through_the_unit_of_work(monkeypatch) -> None:
    """Switch checkout's order writes to the general path for the rest of `monkeypatch`'s scope (and
    every one-statement form off: the hold's, the appends')."""
    monkeypatch.setattr(plans, "ONE_STATEMENT_DIALECTS", set())
    monkeypatch.setattr(checkout, "_new_order", _new_order)
