"""What payment events do to an order (authorised, failed, cancelled), closing an order, and the
voids and refunds the provider must make once the order's change is committed.

Webhooks may arrive late, twice or out of order: each handler looks at the order's status now and
does only what the state machine allows from there, so the order ends in the right state anyway.

No provider call runs under a lock. Closing an order only records that its authorisation must be
voided (`payment.void_pending`) and hands the void to `shop.core.transactions.after_commit`, so
whoever closes it (a view, a webhook, a sweep, reconciliation) voids after its commit; the retry
sweep runs it again if that failed, with a growing pause, until staff are told
(`VOID_ATTEMPTS_BEFORE_ATTENTION`). A refund of money captured on a closed order goes the same way.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass

from flask import current_app

from inventory import reservations
from inventory.models import Reservation
from shop.carts import coupons
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.transactions import after_commit
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import attention
from shop.payments import gateway as payments
from shop.payments.models import Payment

log = logging.getLogger(__name__)
TERMINAL = ("cancelled", "expired", "picked_up")
SETTLED = ("canceled", "succeeded", "refunded")  # nothing left to void
OWN_TRY_FIRST = dt.timedelta(minutes=1)  # the retry sweep waits while the caller makes its own attempt
RETRY_PAUSE_CAP = dt.timedelta(hours=1)
VOID_ATTEMPTS_BEFORE_ATTENTION = 8  # with pauses of 2, 4, 8 ... 60 minutes: about four hours
VOID_FAILING = (f"The authorisation could not be voided in {VOID_ATTEMPTS_BEFORE_ATTENTION} attempts "
                "(see last_error); it is still retried.")


@dataclass(frozen=True)
class VoidDue:
    """An authorisation to cancel at the provider, in plain values: run after the commit."""

    payment_id: int
    intent_id: str
    key: str


@dataclass(frozen=True)
class RefundDue:
    """Money captured on a closed order, to give back at the provider after the commit."""

    order_id: int
    intent_id: str
    amount: int
    key: str


def _reservation(order: Order) -> Reservation | None:
    return db.session.get(Reservation, order.reservation_id) if order.reservation_id else None


def release_stock(order: Order) -> None:
    reservation = _reservation(order)
    if reservation is not None and reservation.status == "active":
        reservations.release(reservation)


def retry_pause(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2**attempts), RETRY_PAUSE_CAP)


def void_of(payment: Payment) -> VoidDue:
    return VoidDue(payment.id, payment.intent_id, f"pi-cancel-{payment.order.access_token[:32]}")


def void_due(payment: Payment | None) -> None:
    """Mark the authorisation for voiding (the retry sweep's list) and void it after the commit."""
    if payment is None or payment.status in SETTLED:
        return
    payment.void_pending = True
    payment.next_try_at = clock.now() + OWN_TRY_FIRST
    after_commit(functools.partial(void, void_of(payment)))


def void(due: VoidDue) -> bool:
    """After the commit: cancel the authorisation at the provider (no lock held), record the outcome."""
    gateway = payments.gateway()
    if gateway is None:
        return False
    try:
        intent, error = gateway.cancel(due.intent_id, key=due.key), None
    except payments.PaymentProviderError as exc:
        intent, error = None, exc
    payment = db.session.get(Payment, due.payment_id, with_for_update=True, populate_existing=True)
    if payment is None or not payment.void_pending:
        return intent is not None  # recorded meanwhile (a twin, the webhook, reconciliation)
    if intent is not None:
        payment.status, payment.void_pending, payment.last_error, payment.next_try_at = intent.status, False, None, None
        if payment.attention == VOID_FAILING:
            payment.attention = None  # it went through in the end: nothing left for staff
        return True
    payment.void_attempts += 1
    payment.last_error = str(error)[:300]
    payment.next_try_at = clock.now() + retry_pause(payment.void_attempts)
    log.warning("void of %s failed (attempt %d): %s", due.intent_id, payment.void_attempts, error)
    if payment.void_attempts >= VOID_ATTEMPTS_BEFORE_ATTENTION:  # one reason, so it is logged once
        attention.flag(payment, VOID_FAILING)
    return False


def refund_captured(order: Order, captured: int) -> None:
    """Money captured on an order that was closed anyway (a capture whose reply was lost): record
    it and give it back after the commit (`refund`, which tells staff: the shopper may call)."""
    payment = order.payment
    payment.status, payment.capture_pending, payment.void_pending = "succeeded", False, False
    order.captured_amount = max(order.captured_amount, captured)
    owed = order.captured_amount - order.refunded_amount
    if owed <= 0:
        payment.status = "refunded"
        return
    after_commit(functools.partial(refund, RefundDue(
        order.id, payment.intent_id, owed, f"refund-closed-{order.access_token[:32]}-{order.refunded_amount}-{owed}")))


def refund(due: RefundDue) -> bool:
    """After the commit: refund at the provider (no lock held), then record it on the order."""
    try:
        payments.gateway().refund(due.intent_id, due.amount, key=due.key)
        error = None
    except payments.PaymentProviderError as exc:
        error = exc
    order = orders.get_order(due.order_id, lock=True)
    payment = order.payment
    if error is not None:
        payment.next_try_at, payment.last_error = clock.now() + RETRY_PAUSE_CAP, str(error)[:300]
        attention.flag(payment, f"{due.amount} was captured on an order that is {order.status}, and the "
                                "refund failed (see last_error); it is retried.")
        return False
    if order.captured_amount - order.refunded_amount >= due.amount:
        order.refunded_amount += due.amount
        order_states.record(order, "refunded", None, order.status, amount=due.amount, restock=False)
    payment.status, payment.last_error = "refunded", None
    attention.flag(payment, f"{due.amount} was captured on an order that is {order.status}: refunded.")
    return True


def close(order: Order, action: str, reason: str, actor=None) -> Order:
    """Cancel or expire: stock back on the shelf, the authorisation voided after the commit, the
    coupon use given back, the move recorded. Refused while a capture is in flight."""
    if order.payment is not None and order.payment.capture_pending:
        raise DomainError("capture_in_progress",
                          "The payment is being captured at the counter: the handover decides first.",
                          status_now=order.status)
    release_stock(order)
    void_due(order.payment)
    coupons.give_back(order.coupon_code, order.id)
    order.closed_reason = reason
    return order_states.move(order, action, actor, reason=reason)


def on_authorized(order: Order, intent: payments.Intent) -> None:
    payment = order.payment
    if order.status in TERMINAL:
        void_due(payment)  # a late authorisation of an order that is already over
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
        order.payment.status, order.payment.void_pending, order.payment.capture_pending = "canceled", False, False
    if order.status in TERMINAL:
        return
    close(order, "cancel", "The payment was cancelled")
