"""The carts' answers to the questions notifications may ask (shop.core.ports), registered in one place.

"cart_for_message": the cart as it is now, for a campaign message and its re-check at send time,
built from the cart snapshot and its pricing (the figures the shopper sees), never restated.
"mint_coupon": a single-use coupon (shop.carts.coupons.mint_single_use).
"""

from __future__ import annotations

from flask import Flask

from shop.carts import coupons, recovery, snapshot
from shop.carts.pricing import priced
from shop.core.extensions import db
from shop.core.ports import provide as provide_port
from stores.models import Store


def cart_for_message(cart_id: str, message_id: int | None = None) -> dict | None:
    """The cart now (status, contact, store, priced lines with availability at the pickup store,
    subtotal, currency) and a recovery link, tagged with `message_id` when given; None if it is gone."""
    db.session.flush()  # the snapshot reads the rows: a change in this transaction counts
    view = snapshot.load(cart_id)
    if view is None:
        return None
    body = priced(view)
    store = db.session.get(Store, view.pickup_store_id) if view.pickup_store_id is not None else None
    token, expires_at = recovery.make_token(view.id, message_id)
    return {
        "cart_id": view.id, "status": view.status, "customer_id": view.customer_id,
        "email": view.email, "phone": view.phone,
        "store_id": view.pickup_store_id, "store_name": store.name if store else None,
        "store_timezone": store.timezone if store else None,
        "lines": [{key: line[key] for key in ("sku", "name", "quantity", "unit_price", "line_total", "availability")}
                  for line in body["lines"]],
        "line_count": len(body["lines"]), "subtotal": body["subtotal"], "currency": body["currency"],
        "recovery_url": recovery.url_for_token(token), "recovery_expires_at": expires_at.isoformat(),
    }


def provide(app: Flask) -> None:
    """Register the carts' ports (called once from create_app)."""
    provide_port(app, "cart_for_message", cart_for_message)
    provide_port(app, "mint_coupon", coupons.mint_single_use)
