"""Reconciliation: compare each card order's payment with the provider's intent, and repair it.

What the intent says wins over what we recorded, because a reply can be lost (a worker killed
mid-capture) while the provider acted. For each payment due a look: read the intent (no lock, no
transaction open), then lock the order and put it right:

- captured, order ready: it was handed over; the system completes the handover (stock consumed,
  picked_up, recorded);
- captured, order cancelled or expired: the money goes back (refund after the commit) and staff
  are told;
- authorised, order closed: the void is due again; a capture marked pending that never happened
  is cleared (the handover can be retried, the no-show sweep may expire it);
- anything we cannot fix alone (an authorisation cancelled under an open order, amounts that
  disagree) is flagged for staff (shop.payments.attention), once.

A ready card order is expired by the no-show sweep only after this has looked at it past its
deadline (`checked_at`), so a lost capture is found before the stock goes back.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import and_, or_

from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import payment_events as order_payments
from shop.orders import pickup
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import attention
from shop.payments import gateway as payments
from shop.payments.models import Payment

log = logging.getLogger(__name__)

OPEN = ("placed", "picking", "ready_for_pickup")
CLOSED = ("cancelled", "expired")
RECHECK_EVERY = dt.timedelta(hours=1)
LEASE = dt.timedelta(minutes=5)  # another run leaves a payment being checked alone this long


@dataclass(frozen=True)
class Due:
    order_id: int
    intent_id: str


def _due_a_look(now: dt.datetime):
    """Payments to compare with the provider now (each at most once per RECHECK_EVERY, unless due)."""
    stale = or_(Payment.checked_at.is_(None), Payment.checked_at <= now - RECHECK_EVERY)
    return and_(
        or_(Payment.next_try_at.is_(None), Payment.next_try_at <= now),
        or_(
            Payment.capture_pending.is_(True),
            and_(Order.status == "ready_for_pickup", Order.pickup_deadline <= now,
                 or_(Payment.checked_at.is_(None), Payment.checked_at < Order.pickup_deadline)),
            and_(Order.status.in_(OPEN), stale),
            and_(Order.status.in_(CLOSED), Payment.status.not_in(("canceled", "refunded")), stale),
            and_(Order.status == "picked_up", or_(Payment.checked_at.is_(None),
                                                  Payment.checked_at < Order.picked_up_at)),
        ),
    )


def reconcile(budget: float = runner.BUDGET_SECONDS) -> int:
    """Compare every payment due a look with its intent and repair what disagrees; how many looked at."""
    if payments.gateway() is None:
        return 0
    now = clock.now()
    claim = runner.claim_next(Payment, Payment.order_id == Order.id, _due_a_look(now))

    def handle(payment: Payment):
        payment.next_try_at = now + LEASE  # claimed: the look happens after this commit
        due = Due(payment.order_id, payment.intent_id)
        return lambda: _look(due)

    return runner.drain("reconcile", claim, handle, budget=budget).done


def _look(due: Due):
    """Read the intent (outside any transaction); the repair follows in its own."""
    try:
        intent = payments.gateway().retrieve(due.intent_id)
    except payments.PaymentProviderError as exc:
        log.warning("reconcile: could not read %s: %s; next run", due.intent_id, exc)
        return None
    return lambda: repair(orders.get_order(due.order_id, lock=True), intent)


def repair(order: Order, intent: payments.Intent) -> None:
    """Make the order agree with its intent (the caller holds the order's lock); a void or refund it
    decides runs after the commit (shop.core.transactions.after_commit)."""
    payment = order.payment
    payment.checked_at, payment.next_try_at = clock.now(), None
    if intent.status == "succeeded":
        _captured(order, intent)
        return
    if payment.capture_pending:  # the capture never happened: the handover may be retried
        payment.capture_pending = False
        order_states.record(order, "capture_not_made", None, order.status)
    if order.status in CLOSED:
        if intent.status == "canceled":
            payment.status, payment.void_pending = "canceled", False
        else:
            order_payments.void_due(payment)
    elif order.status in OPEN:
        _check_authorisation(order, intent)
    elif order.status == "picked_up":
        attention.flag(payment, f"Picked up, but the provider says the payment is {intent.status}, not captured.")


def _captured(order: Order, intent: payments.Intent) -> None:
    payment = order.payment
    if order.status == "ready_for_pickup":  # a handover whose reply was lost: the system completes it
        try:
            with db.session.begin_nested():
                pickup.captured(order, intent, None)
        except DomainError as exc:  # the stock hold lapsed meanwhile, say: staff must sort it out
            payment.status, payment.capture_pending = intent.status, False
            order.captured_amount = _received(intent)
            attention.flag(payment, f"Captured at the provider, but the handover could not be completed: "
                                    f"{exc.detail}")
    elif order.status in CLOSED:
        order_payments.refund_captured(order, _received(intent))
    elif order.status == "picked_up":
        payment.status = intent.status
        if _received(intent) != order.captured_amount:
            attention.flag(payment, f"The provider captured {_received(intent)}, "
                                    f"we recorded {order.captured_amount}.")
    else:
        payment.status = intent.status
        attention.flag(payment, f"Captured at the provider while the order is {order.status}.")
    return None


def _received(intent: payments.Intent) -> int:
    return intent.amount_received or intent.amount  # localstripe reports no amount_received


def _check_authorisation(order: Order, intent: payments.Intent) -> None:
    payment = order.payment
    if intent.status == "canceled":
        payment.status = "canceled"
        attention.flag(payment, f"The authorisation was cancelled at the provider while the order is "
                                f"{order.status}: it cannot be captured.")
    elif intent.status == "requires_capture" and (intent.amount_capturable or intent.amount) < order.total:
        attention.flag(payment, f"Authorised {intent.amount_capturable or intent.amount}, "
                                f"but the order totals {order.total}.")
    elif intent.status != "requires_capture":
        attention.flag(payment, f"The order is {order.status}, but the provider says the payment is "
                                f"{intent.status}.")
