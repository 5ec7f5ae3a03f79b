"""Data rights: everything held about a customer as one JSON document, and its erasure. Never commits.

What is the customer's: their account, carts and orders, and the guest carts and orders placed
with their email once that email is verified (an unverified address proves nothing, so it opens
no one else's guest history, here as in shop.accounts.guest_history). Erasure removes or
anonymises all of it but keeps the orders, without personal data, for the accounts; the account
row stays (orders point at it) with nothing personal left. Parts built elsewhere (consent history,
messages) answer the `personal_data_export` and `personal_data_erasure` signals.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update

from shop.accounts.auth import hash_password
from shop.accounts.contact import contact_hash
from shop.accounts.models import ApiToken, DataRequest, TimelineEntry, User
from shop.carts.models import Cart, CartEvent, CouponRedemption
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.idempotency import IdempotentReply
from shop.orders.models import Order, OrderEvent, OrderFeedback

ERASED_ORDER_EMAIL = "erased@erased.invalid"  # orders need an address; .invalid reaches no one
OPEN_STATUSES = ("pending_payment", "placed", "picking", "ready_for_pickup")


def _theirs(model, customer: User):
    """Rows of `model` (carts, orders, redemptions) that are the customer's."""
    clauses = [model.customer_id == customer.id]
    if customer.email_verified and customer.erased_at is None:
        clauses.append(and_(model.customer_id.is_(None), func.lower(model.email) == customer.email.lower()))
    return or_(*clauses)


def _iso(value):
    return value.isoformat() if isinstance(value, dt.datetime | dt.date | dt.time) else value


def _row(obj, *names: str) -> dict:
    return {name: _iso(getattr(obj, name)) for name in names}


def _events(model, key, ids) -> dict:
    rows = db.session.scalars(select(model).where(key.in_(ids)).order_by(model.id)) if ids else ()
    grouped: dict = {}
    for event in rows:
        grouped.setdefault(getattr(event, key.key), []).append(
            _row(event, "type", "channel", "actor_type", "created_at") | {"detail": event.detail})
    return grouped


def export(customer: User) -> dict:
    """Everything held about the customer, readable by them (and by a machine)."""
    carts = db.session.scalars(select(Cart).where(_theirs(Cart, customer)).order_by(Cart.created_at)).all()
    orders = db.session.scalars(select(Order).where(_theirs(Order, customer)).order_by(Order.id)).all()
    cart_events = _events(CartEvent, CartEvent.cart_id, [c.id for c in carts])
    order_events = _events(OrderEvent, OrderEvent.order_id, [o.id for o in orders])
    document = {
        "generated_at": clock.now().isoformat(),
        "profile": _row(customer, "id", "email", "name", "phone", "role", "locale", "timezone", "preferred_store_id",
                        "email_verified_at", "created_at", "erased_at"),
        "carts": [_row(c, "id", "status", "channel", "email", "phone", "pickup_store_id", "coupon_code", "created_at",
                       "last_activity_at")
                  | {"lines": [{"sku": line.product.sku, "quantity": line.quantity,
                                "unit_price_at_add": line.unit_price_at_add} for line in c.lines],
                     "events": cart_events.get(c.id, [])} for c in carts],
        "orders": [_row(o, "id", "number", "status", "store_id", "email", "phone", "sms_updates", "channel",
                        "payment_method", "currency", "subtotal", "discount", "total", "captured_amount",
                        "refunded_amount", "coupon_code", "created_at", "picked_up_at")
                   | {"lines": [_row(line, "sku", "name", "unit_price", "quantity", "picked_quantity",
                                     "refunded_quantity") for line in o.lines],
                      "events": order_events.get(o.id, [])} for o in orders],
        "timeline": [_row(t, "type", "channel", "summary", "reference", "occurred_at") for t in db.session.scalars(
            select(TimelineEntry).where(TimelineEntry.customer_id == customer.id).order_by(TimelineEntry.id))],
        "order_feedback": [_row(fb, "order_id", "rating", "comment", "channel", "created_at")
                           for fb in db.session.scalars(select(OrderFeedback).where(
                               OrderFeedback.order_id.in_([o.id for o in orders])).order_by(OrderFeedback.id))],
        "coupon_redemptions": [_row(r, "reference", "email", "created_at") for r in db.session.scalars(
            select(CouponRedemption).where(_theirs(CouponRedemption, customer)).order_by(CouponRedemption.id))],
        "sign_ins": [_row(t, "created_at", "expires_at", "revoked_at") for t in db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == customer.id).order_by(ApiToken.id))],
        "data_requests": [_row(r, "kind", "on_behalf", "created_at") for r in db.session.scalars(
            select(DataRequest).where(DataRequest.customer_id == customer.id).order_by(DataRequest.id))],
    }
    for _receiver, sections in events.personal_data_export.send(
            current_app._get_current_object(), customer_id=customer.id, email=customer.email, phone=customer.phone):
        document.update(sections or {})
    return document


def erase(customer: User) -> dict:
    """Remove or anonymise the customer's personal data; orders stay for the accounts without it.

    Refused while an order is still open (it needs its contact to be picked up or refunded).
    """
    open_orders = db.session.scalars(select(Order.number).where(_theirs(Order, customer),
                                                                Order.status.in_(OPEN_STATUSES))).all()
    if open_orders:
        raise DomainError("open_orders", "Some orders are still open: collect or cancel them first.",
                          orders=sorted(open_orders))
    email, phone = customer.email, customer.phone
    events.personal_data_erasure.send(current_app._get_current_object(), customer_id=customer.id, email=email,
                                      phone=phone, contact_hash=contact_hash)
    cart_ids = db.session.scalars(select(Cart.id).where(_theirs(Cart, customer))).all()
    orders = db.session.execute(update(Order).where(_theirs(Order, customer))
                                .values(email=ERASED_ORDER_EMAIL, phone=None, sms_updates=False)
                                .execution_options(synchronize_session=False)).rowcount
    db.session.execute(update(Cart).where(Cart.id.in_(cart_ids)).values(email=None, phone=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Cart).where(Cart.id.in_(cart_ids), Cart.status == "active").values(status="expired")
                       .execution_options(synchronize_session=False))
    db.session.execute(update(CouponRedemption).where(_theirs(CouponRedemption, customer)).values(email=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(TimelineEntry).where(TimelineEntry.customer_id == customer.id))
    # A rating stays with its order (the store's record); the comment is their words: it goes.
    db.session.execute(update(OrderFeedback).where(OrderFeedback.order_id.in_(
        select(Order.id).where(_theirs(Order, customer)))).values(comment=None, customer_id=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == customer.id))
    # Stored replies repeat an order's contact (checkout answers with the order).
    db.session.execute(delete(IdempotentReply).where(or_(
        IdempotentReply.caller == f"user:{customer.id}",
        IdempotentReply.scope.in_([f"checkout:{cart_id}" for cart_id in cart_ids]))))
    customer.email = f"erased-{customer.id}@erased.invalid"
    customer.name, customer.phone, customer.timezone, customer.preferred_store_id = "", None, None, None
    customer.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it: no sign-in
    customer.email_verified_at, customer.active, customer.erased_at = None, False, clock.now()
    db.session.flush()
    return {"customer_id": customer.id, "erased_at": customer.erased_at, "orders_kept": orders,
            "carts_cleared": len(cart_ids)}


def record(customer: User, kind: str, done_by: User) -> None:
    """Keep the request on file: what was done, by whom, for whom (no personal data)."""
    db.session.add(DataRequest(customer_id=customer.id, kind=kind, done_by_id=done_by.id,
                               on_behalf=done_by.id != customer.id))
    db.session.flush()
