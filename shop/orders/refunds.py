"""A refund of returned lines after pickup, across its transactions, so Stripe is never called under a lock.

By card, as the handover's capture: lock the order, check the lines, and record the refund as in
flight on its payment (`refund_pending`: what, how much, the provider's key), committed; call
Stripe with no lock held; lock again and record the outcome (the lines refunded and restocked, or
the failure kept for staff). Meanwhile every other request on the order runs (a second refund is
told one is in flight: 409 `refund_in_progress`). Paid at the counter, there is no provider call:
done in the first step. The provider's key is derived from the order and what was refunded
before, so a retry whose reply was lost is found at Stripe rather than paid twice.

A worker killed between the two transactions leaves the refund in flight; `settle` records its
outcome as the request would have (shop.orders.refunds_in_flight finds it and asks Stripe).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

from inventory import stock_events
from shop.accounts.actors import Actor
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.transactions import checkpoint
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from shop.payments.models import Payment

SCOPE = "refund:{order_id}"  # the Idempotency-Key scope of a refund request (views, refunds_in_flight)


@dataclass(frozen=True)
class Planned:
    """A refund checked against the order: the amount, the lines by id, and what was refunded before."""

    amount: int
    lines: dict[int, int]
    restock: bool
    sequence: int

    def as_pending(self, key: str) -> dict:
        return {"amount": self.amount, "lines": {str(k): v for k, v in self.lines.items()}, "restock": self.restock,
                "sequence": self.sequence, "key": key, "since": clock.now().isoformat()}

    @classmethod
    def from_pending(cls, pending: dict) -> Planned:
        return cls(pending["amount"], {int(k): v for k, v in pending["lines"].items()}, pending["restock"],
                   pending["sequence"])


def refund(lock: Callable[[], tuple[Order, Actor]], lines: list[dict], restock: bool) -> dict:
    """`lock` locks the order (again) and says who acts; the refund's result is returned.

    Run inside the view's transaction (with its Idempotency-Key claim); `checkpoint` is the only
    commit made here, through shop.core.transactions.
    """
    order, actor = lock()
    planned = _plan(order, lines, restock)
    if order.payment_method != "card":
        return _apply(order, planned, actor)
    key = f"refund-{order.access_token[:32]}-{planned.sequence}-{planned.amount}"
    order.payment.refund_pending, order.payment.refund_since = planned.as_pending(key), clock.now()
    intent_id = order.payment.intent_id
    checkpoint(keep_claim=True)  # the refund in flight is kept; no lock is held from here
    try:
        payments.gateway().refund(intent_id, planned.amount, key=key)
        error = None
    except payments.PaymentProviderError as exc:
        error = exc
    order, actor = lock()
    _clear(order.payment)
    if error is not None:
        _failed(order, planned, error, actor)
    order.payment_error = None
    return _apply(order, planned, actor)


def settle(order: Order, made: bool) -> dict | None:
    """A refund left in flight (its request died before recording the outcome; the caller holds
    the order's lock), settled as the request would have: made at the provider, it is applied by
    the system (its result returned); not made, it is cleared, and staff may send it again."""
    planned = Planned.from_pending(order.payment.refund_pending)
    _clear(order.payment)
    if made:
        return _apply(order, planned, None)
    order_states.record(order, "refund_not_made", None, order.status, amount=planned.amount)
    return None


def _clear(payment: Payment) -> None:
    payment.refund_pending, payment.refund_since = None, None


def _plan(order: Order, lines: list[dict], restock: bool) -> Planned:
    """Check the lines against what was handed over and not yet refunded (never more than captured)."""
    if order.status != "picked_up":
        raise DomainError("illegal_transition", "Only picked-up orders are refunded.",
                          status_now=order.status, allowed=order_states.allowed_from(order.status))
    if order.payment is not None and order.payment.refund_pending is not None:
        raise DomainError("refund_in_progress", "A refund of this order is being made: try again shortly.",
                          headers={"Retry-After": "5"})
    by_id = {line.id: line for line in order.lines}
    amount, taken = 0, {}
    for item in lines:
        line = by_id.get(item["line_id"])
        if line is None:
            raise DomainError("line_not_found", f"The order has no line {item['line_id']}.")
        left = line.handed_quantity - line.refunded_quantity - taken.get(line.id, 0)
        if item["quantity"] > left:
            raise DomainError("refund_too_many", f"Only {left} of {line.sku} can be refunded.")
        taken[line.id] = taken.get(line.id, 0) + item["quantity"]
        amount += line.unit_price * item["quantity"]
    amount = min(amount, order.captured_amount - order.refunded_amount)
    if amount <= 0:
        raise DomainError("nothing_to_refund", "Everything captured has been refunded already.")
    return Planned(amount, taken, restock, order.refunded_amount)


def _failed(order: Order, planned: Planned, error: Exception, actor: Actor) -> None:
    """The provider refused (or could not be reached): nothing is refunded, the failure is kept on
    the order for staff, and the same request may simply be sent again."""
    order.payment_error = f"Refund failed: {error}"[:300]
    order_states.record(order, "refund_failed", actor, order.status, amount=planned.amount, error=order.payment_error)
    raise DomainError("refund_failed", f"The refund did not go through: {error}",
                      error=order.payment_error, keep_changes=True) from error


def _apply(order: Order, planned: Planned, actor: Actor | None) -> dict:
    """Record a refund the provider made (or one paid back at the counter): lines, amount, restock."""
    by_id = {line.id: line for line in order.lines}
    returned: dict = {}
    for line_id, quantity in planned.lines.items():
        line = by_id[line_id]
        line.refunded_quantity += quantity
        returned[line.product] = returned.get(line.product, 0) + quantity
    order.refunded_amount += planned.amount
    if planned.restock:
        stock_events.record_event(order.store_id, f"refund:{order.number}:{planned.sequence}", "return",
                                  returned, actor.user_id if actor else None)
    order_states.record(order, "refunded", actor, order.status, amount=planned.amount, restock=planned.restock)
    events.order_refunded.send(current_app._get_current_object(), **order_states.message_fields(order),
                               amount=planned.amount)
    return {"amount": planned.amount, "currency": order.currency, "refunded_total": order.refunded_amount,
            "restocked": planned.restock}
