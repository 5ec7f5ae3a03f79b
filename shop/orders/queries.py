"""Order look-ups and the times an order promises: who may see it, when it is ready, until when it waits."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from flask import request
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import contains_eager, joinedload

from inventory import reservations
from inventory.models import ReservationLine
from shop.accounts import auth
from shop.accounts.actors import Actor
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.limits import AUTHORIZATION_LIFETIME, AUTHORIZATION_MARGIN
from shop.core.pagination import Page, keyset
from shop.core.plans import prepared
from shop.orders.models import Order, OrderLine
from stores.hours import open_state
from stores.models import Store

NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at the counter


def new_number(store: Store) -> str:
    return f"{store.code[:6]}-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(6))


def new_pickup_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def qr_payload(order: Order) -> str:
    return f"omnishop:pickup:{order.number}:{order.pickup_code}"


def ready_by(store: Store, placed_at: dt.datetime) -> dt.datetime:
    """Placed time plus the store's lead time, moved into its opening hours (in its time zone)."""
    lead = dt.timedelta(minutes=store.prep_lead_minutes)
    candidate = placed_at + lead
    state = open_state(store, candidate)
    if state.is_open_now or state.opens_at is None:
        return candidate
    period = state.closes_at - state.opens_at
    return (state.opens_at + min(lead, period)).astimezone(dt.UTC)


def pickup_deadline(store: Store, ready_at: dt.datetime, authorized_at: dt.datetime | None) -> dt.datetime:
    """Closing time of the day the hold ends, in the store's zone; never past the card authorisation."""
    target = ready_at + dt.timedelta(days=store.hold_days)
    state = open_state(store, target)
    deadline = (state.closes_at or target).astimezone(dt.UTC)
    if authorized_at is not None:
        deadline = min(deadline, authorized_at + AUTHORIZATION_LIFETIME - AUTHORIZATION_MARGIN)
    return deadline


# An order with its store and its lines, one statement built once (the hot moves lock an order on
# every request). Locked, the lines are locked with it (FOR UPDATE OF both): PostgreSQL reads a row it
# locked, and waited for, as the waited-for move committed it, but a row merely joined as the
# statement's snapshot saw it, taken before the wait; the lines change under the order's lock (a
# pick, a refund), so they are locked rows, not joined ones. (They were a second statement.) The
# store is only joined: nothing changes it under an order's lock. Every order has a line (checkout
# refuses an empty cart), so the join is inner, as locking its rows requires.
_GET = (select(Order).join(Order.lines).where(Order.id == bindparam("order_id")).order_by(OrderLine.id)
        .options(joinedload(Order.store, innerjoin=True), contains_eager(Order.lines))
        .execution_options(populate_existing=True))
_LOCK = _GET.with_for_update(of=(Order, OrderLine))


def get_order(order_id: int, *, lock: bool = False) -> Order:
    """The order, its store and its lines (locked with the order when `lock`), in one statement."""
    db.session.flush()  # nothing of the unit of work's is prepared with it
    with prepared(db.session):  # by key, its lines by their order's key: a plan that cannot go stale
        order = db.session.scalars(_LOCK if lock else _GET, {"order_id": order_id}).unique().one_or_none()
    if order is None:
        raise DomainError("order_not_found", f"No order {order_id}.")
    return order


def check_access(order: Order, actor: Actor) -> None:
    """The order's customer; a guest with its order token (X-Order-Token); staff of its store."""
    user = actor.user
    if user is not None and user.role in ("staff", "admin"):
        if auth.is_staff_of(user, order.store_id):
            return
        raise DomainError("order_not_found", f"No order {order.id}.")
    if actor.customer_id is not None and actor.customer_id == order.customer_id:
        return
    token = request.headers.get("X-Order-Token", "")
    if token and secrets.compare_digest(token, order.access_token):
        return
    if user is None and not token:
        raise DomainError("sign_in_required", "Sign in, or send the order token in X-Order-Token.",
                          headers={"WWW-Authenticate": 'Bearer realm="omnishop"'})
    raise DomainError("order_not_found", f"No order {order.id}.")


def at_risk_skus(orders: Sequence[Order]) -> dict[int, list[str]]:
    """Per order, the SKUs whose held units a stock count put at risk: one query for any number,
    none for a hold this transaction ended (a handover): its claim brought them back."""
    ended = reservations.ended_at_risk()
    reservation_ids = {order.reservation_id for order in orders
                       if order.reservation_id is not None and order.reservation_id not in ended}
    rows = db.session.execute(
        select(ReservationLine.reservation_id, ReservationLine.product_id)
        .where(ReservationLine.reservation_id.in_(reservation_ids), ReservationLine.at_risk)
    ) if reservation_ids else ()
    risky = {(reservation_id, product_id) for reservation_id, product_id in rows}
    risky |= {(reservation_id, product_id) for reservation_id, products in ended.items() for product_id in products}
    return {order.id: [line.sku for line in order.lines if (order.reservation_id, line.product_id) in risky]
            for order in orders}


def queue(store_id: int, statuses: list[str], limit: int, cursor: str | None = None) -> Page:
    """The pickup queue: oldest promise first, one page."""
    stmt = select(Order).where(Order.store_id == store_id, Order.status.in_(statuses))
    return keyset(stmt, (Order.promised_at, Order.id), limit=limit, cursor=cursor)


def of_customer(customer_id: int, limit: int, cursor: str | None = None) -> Page:
    """A customer's orders, newest first, one page."""
    stmt = select(Order).where(Order.customer_id == customer_id)
    return keyset(stmt, (Order.id,), limit=limit, cursor=cursor, descending=True)


def link_guest_orders(customer_id: int, email: str) -> int:
    """Guest orders placed with this (now verified) email become the customer's; how many."""
    result = db.session.execute(
        update(Order)
        .where(Order.customer_id.is_(None), func.lower(Order.email) == email.lower())
        .values(customer_id=customer_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
