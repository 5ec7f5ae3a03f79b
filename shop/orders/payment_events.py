"""What payment events do to an order: authorised, failed, cancelled; and voiding an authorisation.

Webhooks may arrive late, twice or out of order: each handler looks at the order's status now and
does only what the state machine allows from there, so the order ends in the right state anyway.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from inventory import reservations
from inventory.models import Reservation
from shop.carts import coupons
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments

log = logging.getLogger(__name__)
TERMINAL = ("cancelled", "expired", "picked_up")


def _reservation(order: Order) -> Reservation | None:
    return db.session.get(Reservation, order.reservation_id) if order.reservation_id else None


def release_stock(order: Order) -> None:
    reservation = _reservation(order)
    if reservation is not None and reservation.status == "active":
        reservations.release(reservation)


def void(order: Order) -> None:
    """Cancel the card authorisation; if Stripe is down, mark it for the retry sweep."""
    payment = order.payment
    if payment is None or payment.status in ("canceled", "succeeded"):
        return
    try:
        intent = payments.gateway().cancel(payment.intent_id, key=f"pi-cancel-{order.access_token[:32]}")
        payment.status, payment.void_pending, payment.last_error = intent.status, False, None
    except payments.PaymentProviderError as exc:
        log.warning("void failed for order %s: %s; will retry", order.number, exc)
        payment.void_pending, payment.last_error = True, str(exc)[:300]


def close(order: Order, action: str, reason: str, actor=None) -> Order:
    """Cancel or expire: stock back on the shelf, authorisation voided, coupon use given back, the
    move recorded."""
    release_stock(order)
    void(order)
    coupons.give_back(order.coupon_code, order.id)
    order.closed_reason = reason
    return order_states.move(order, action, actor, reason=reason)


def on_authorized(order: Order, intent: payments.Intent) -> None:
    payment = order.payment
    if order.status in TERMINAL:
        void(order)  # a late authorisation of an order that is already over
        return
    if order.status != "pending_payment":
        return  # a redelivery
    payment.status, payment.amount_authorized = intent.status, intent.amount_capturable or intent.amount
    payment.authorized_at = clock.now()
    reservation = _reservation(order)
    store_hold = dt.timedelta(days=9)  # until the no-show sweep; longer than any hold period
    if reservation is None or not reservations.extend(reservation, clock.now() + store_hold):
        # Paid after the payment window: the units may be gone. Try again, all or nothing.
        if reservation is not None and reservation.status == "active":
            reservations.release(reservation)
        try:
            fresh = reservations.reserve(order.store_id, {line.product: line.quantity for line in order.lines},
                                         f"order:{order.id}", store_hold)
        except DomainError:  # insufficient stock: the order cannot be honoured
            close(order, "cancel", "Paid after the stock hold ran out, and the stock is gone")
            return
        order.reservation_id = fresh.id
    order.payment_error = None
    order_states.move(order, "authorize", None)


def on_failed(order: Order, intent: payments.Intent) -> None:
    if order.status != "pending_payment":
        return
    order.payment_error = intent.last_error or "The card was declined."
    if order.payment:
        order.payment.status = intent.status
    order_states.record(order, "payment_failed", None, order.status, error=order.payment_error)
    events.payment_failed.send(current_app._get_current_object(), **order_states.message_fields(order),
                               error=order.payment_error)


def on_canceled(order: Order, intent: payments.Intent) -> None:
    if order.payment:
        order.payment.status, order.payment.void_pending = "canceled", False
    if order.status in TERMINAL:
        return
    close(order, "cancel", "The payment was cancelled")
