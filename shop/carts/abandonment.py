"""The sweep that finds newly abandoned carts and tells whoever listens (`events.carts_abandoned`,
once per batch: the campaigns enrol the whole batch in a few statements).

A cart is abandoned when it is active, has lines, has a known contact (an email, a phone or an
account) and nothing changed it for CART_IDLE_SECONDS. It is signalled once per idle spell: the
sweep stamps `abandoned_at` on every idle cart it looks at (signalled or not: an empty idle cart
must leave the claim's index too), and any change clears it (`shop.carts.service.bump`), so a cart
touched again can be abandoned again.

The claim reads the partial index `ix_carts_idle_unsignalled` (active, not yet stamped) in idle
order and locks what it takes FOR UPDATE SKIP LOCKED, a batch per transaction: two schedulers
running at once take different carts, and a cart stamped by one is gone from the other's index.
Receivers (campaign enrolment) write in the batch's transaction, so the stamp and the enrolment
commit together or not at all.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select, update

from shop.carts import snapshot
from shop.carts.models import Cart
from shop.carts.pricing import priced
from shop.core import events
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.extensions import db

BATCH = 500  # carts claimed, stamped and signalled per transaction


def due(now: dt.datetime, limit: int):
    """The next `limit` idle carts not yet looked at in this spell, longest idle first (locked)."""
    cutoff = now - dt.timedelta(seconds=current_app.config["CART_IDLE_SECONDS"])
    return (select(Cart.id, Cart.last_activity_at)
            .where(Cart.status == "active", Cart.abandoned_at.is_(None), Cart.last_activity_at <= cutoff)
            .order_by(Cart.last_activity_at, Cart.id).limit(limit)
            .with_for_update(of=Cart, skip_locked=True))


def facts(view: snapshot.CartSnapshot | None) -> dict | None:
    """What the signal says of a cart (its priced view, as the shopper would see it), or None when
    it has no lines or no contact."""
    if view is None or not view.lines or not (view.email or view.phone or view.customer_id):
        return None
    body = priced(view)
    return {"cart_id": view.id, "customer_id": view.customer_id, "email": view.email, "phone": view.phone,
            "store_id": view.pickup_store_id, "subtotal": body["subtotal"], "currency": body["currency"],
            "line_count": len(view.lines), "idle_since": view.last_activity_at}


def find_abandoned(limit: int = BATCH) -> int:
    """One batch (in the caller's transaction): stamp up to `limit` idle carts and signal those
    with lines and a contact. Returns how many carts were looked at (0: nothing due)."""
    now = clock.now()
    rows = db.session.execute(due(now, limit)).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    db.session.execute(update(Cart).where(Cart.id.in_(ids)).values(abandoned_at=now)
                       .execution_options(synchronize_session=False))
    app = current_app._get_current_object()
    views = snapshot.load_many(ids)
    carts = [found for found in (facts(views.get(cart_id)) for cart_id in ids) if found is not None]
    if carts:
        events.carts_abandoned.send(app, carts=carts)
    return len(ids)


def sweep(budget: float = runner.BUDGET_SECONDS) -> int:
    """The scheduler's sweep: batches, each its own transaction, until none is due or the budget is spent."""
    return runner.repeat("find_abandoned_carts", find_abandoned, budget=budget)
