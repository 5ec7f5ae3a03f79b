"""Helpers for sweep tests: many orders due at once (made through the real services), and jobs run
at the same moment from their own threads, each on its own database connection."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

from shop.accounts.actors import Actor
from shop.carts import adds as cart_adds
from shop.carts import service as carts
from shop.core.extensions import db
from shop.orders import checkout, pickup


def ready_orders(store, staff_user, products, count: int, lines: int = 3, seed: int = 1) -> list[int]:
    """`count` pay-at-store orders ready for pickup, each of `lines` SKUs picked at random, so the
    orders of a batch overlap on stock rows in every order."""
    rng = random.Random(seed)
    staff = Actor("staff", staff_user, "store", store.id)
    ids = []
    for i in range(count):
        shopper = Actor("guest", None, "web")
        cart, _ = carts.open_cart(shopper, store.id)
        for product in rng.sample(products, lines):
            cart_adds.add_line(cart.id, product.sku, 1, shopper)
        cart.email = f"due{i}@example.com"
        order, _ = checkout.place(cart.id, shopper, {"payment_method": "pay_at_store"})
        pickup.start_picking(order, staff)
        pickup.mark_ready(order, staff)
        ids.append(order.id)
    db.session.commit()
    return ids


def at_once(wide_app, jobs) -> list:
    """Start every job at the same moment, each in its own thread and app context (so its own
    session and connection); return each job's result, or the exception it raised."""
    barrier = threading.Barrier(len(jobs))

    def one(job):
        with wide_app.app_context():
            barrier.wait()
            try:
                return job()
            except Exception as exc:  # noqa: BLE001 - the test looks at what each job met
                db.session.rollback()
                return exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(one, jobs))
