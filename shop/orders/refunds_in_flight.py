"""Refunds left in flight: a worker killed between a refund's two transactions left
`payment.refund_pending` set, its Idempotency-Key claimed with no reply, and the order refusing
refunds (409 `refund_in_progress`). This sweep settles each one older than a grace period
(REFUND_IN_FLIGHT_GRACE_SECONDS, longer than any live request can run) as its request would have.

For each: claim it (a lease on `next_try_at`), commit; ask Stripe whether a refund carrying the
refund's key exists (no lock, no transaction open); lock the order and record the outcome through
shop.orders.refunds.settle (the same arithmetic as the request). The request's key then answers
its retries: made, with the refund as recorded (201); not made, the claim is released, so a retry
runs as a first request, with the same Stripe idempotency key (same order, same sequence), which
Stripe replays rather than refunding twice.

Why the grace period must outlast the worker timeout (checked at start): the sweep must never
settle a refund whose own request is still running. Its Stripe call ends within
STRIPE_CALL_BUDGET_SECONDS and gunicorn kills it at WORKER_TIMEOUT_SECONDS, so past the grace
the request is gone. (A server without a worker timeout, say `flask run`, relies on the call budget.)
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_

from shop.core import idempotency
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.orders import queries as orders
from shop.orders import refunds
from shop.orders.schemas import RefundResultSchema
from shop.payments import gateway as payments
from shop.payments.models import Payment

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)  # another run leaves a refund being looked at alone this long


@dataclass(frozen=True)
class Due:
    order_id: int
    intent_id: str
    key: str


def settle_refunds(budget: float = runner.BUDGET_SECONDS) -> int:
    """Settle every refund in flight past the grace period; how many were looked at."""
    if payments.gateway() is None:
        return 0
    now = clock.now()
    grace = dt.timedelta(seconds=current_app.config["REFUND_IN_FLIGHT_GRACE_SECONDS"])
    claim = runner.claim_next(Payment, Payment.refund_since <= now - grace,
                              or_(Payment.next_try_at.is_(None), Payment.next_try_at <= now))

    def handle(payment: Payment):
        payment.next_try_at = now + LEASE  # claimed: the look happens after this commit
        due = Due(payment.order_id, payment.intent_id, payment.refund_pending["key"])
        return lambda: _look(due)

    return runner.drain("settle_refunds", claim, handle, budget=budget).done


def _look(due: Due):
    """Ask Stripe (outside any transaction); the record follows in its own."""
    try:
        made = payments.gateway().refunded_with(due.intent_id, due.key)
    except payments.PaymentProviderError as exc:
        log.warning("settle_refunds: could not read the refunds of %s: %s; next run", due.intent_id, exc)
        return None
    return lambda: record(due, made)


def record(due: Due, made: bool) -> None:
    """Under the order's lock: settle the refund (unless settled meanwhile) and answer its key."""
    order = orders.get_order(due.order_id, lock=True)
    payment = order.payment
    payment.next_try_at = None
    if (payment.refund_pending or {}).get("key") != due.key:
        return
    result = refunds.settle(order, made)
    log.info("settle_refunds: order %s: refund %s %s", order.number, due.key, "recorded" if made else "cleared")
    for reply in idempotency.unanswered(refunds.SCOPE.format(order_id=order.id)):
        if result is None:
            idempotency.release(idempotency.Claim(reply))
        else:
            idempotency.answer(reply, RefundResultSchema().dump(result), 201)
