"""The store's side of a pickup order: pick, mark ready, verify the shopper, hand over; cancel
(a refund after pickup: shop.orders.refunds).

Callers hold the order's row lock (shop.orders.get_order(lock=True)). Never commits, and never
calls the provider under that lock: a capture is returned as due, made after the caller's commit.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import NoReturn

from flask import current_app

from inventory import reservations
from inventory.models import Reservation
from shop.accounts.actors import Actor
from shop.carts import coupons
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.orders import payment_events as order_payments
from shop.orders import queries as orders
from shop.orders import reminders
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from stores.services import get_store

CAPTURE_GRACE = dt.timedelta(minutes=10)  # reconciliation leaves a capture in flight alone this long


def _reprice(order: Order) -> None:
    order.subtotal = sum(line.unit_price * line.handed_quantity for line in order.lines)
    coupon = coupons.find(order.coupon_code) if order.coupon_code else None
    order.discount = coupons.discount(coupon, order.subtotal) if coupon else 0
    order.total = order.subtotal - order.discount


def start_picking(order: Order, actor: Actor) -> Order:
    return order_states.move(order, "start_picking", actor)


def pick_line(order: Order, line_id: int, picked: int, actor: Actor) -> Order:
    """Record what was found; a short pick gives the missing units back and shrinks the total."""
    if order.status != "picking":
        raise DomainError("illegal_transition", f"The order is {order.status}: start picking first.",
                          status_now=order.status, allowed=order_states.allowed_from(order.status))
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise DomainError("line_not_found", f"The order has no line {line_id}.")
    if picked > line.quantity:
        raise DomainError("picked_too_many", f"Only {line.quantity} were ordered.")
    reservation = reservations.hold_with_lines(order.reservation_id)
    held = reservations.reserved_units(reservation, line.product_id)
    if picked > held:
        _regain(reservation, line, picked - held, held, actor)
    if picked < held:
        reservations.release_units(reservation, line.product_id, held - picked, actor.user_id)
    line.picked_quantity = picked
    _reprice(order)
    order_states.record(order, "line_picked", actor, order.status, line_id=line.id, sku=line.sku,
                        picked=picked, ordered=line.quantity)
    return order


def _regain(reservation: Reservation, line, units: int, held: int, actor: Actor) -> None:
    """A short pick corrected before ready: take the given-up units back while the store has them."""
    try:
        reservations.regain_units(reservation, line.product, units, actor.user_id)
    except DomainError as exc:
        if exc.code != "insufficient_stock":
            raise
        free = exc.extra["short"][0]["available"]
        raise DomainError("units_released", f"Only {held + free} of {line.sku} can be picked now: the units "
                          "given back were taken meanwhile.", available=held + free) from exc


def mark_ready(order: Order, actor: Actor) -> Order:
    for line in order.lines:
        if line.picked_quantity is None:
            line.picked_quantity = line.quantity
    if not any(line.picked_quantity for line in order.lines):
        raise DomainError("nothing_picked", "Nothing was found: cancel the order instead.")
    store = get_store(order.store_id)
    order.ready_at = clock.now()
    authorized_at = order.payment.authorized_at if order.payment else None
    order.pickup_deadline = orders.pickup_deadline(store, order.ready_at, authorized_at)
    order.reminder_due_at = reminders.reminder_due_at(store.timezone, order.ready_at, order.pickup_deadline)
    hold = reservations.hold_with_lines(order.reservation_id)
    reservations.extend(hold, order.pickup_deadline + dt.timedelta(days=1))
    return order_states.move(order, "ready", actor)


def _check_code(order: Order, code: str) -> None:
    now = clock.now()
    if order.locked_until and order.locked_until > now:
        wait = int((order.locked_until - now).total_seconds()) + 1
        raise DomainError("pickup_locked", "Too many wrong codes: try again later.",
                          headers={"Retry-After": str(wait)}, locked_until=order.locked_until.isoformat())
    if secrets.compare_digest(code, order.pickup_code):  # constant time, as the retry's check above
        order.wrong_code_attempts = 0
        return
    order.wrong_code_attempts += 1
    limit = current_app.config["PICKUP_CODE_MAX_ATTEMPTS"]
    left = limit - order.wrong_code_attempts
    if left <= 0:
        order.locked_until = now + dt.timedelta(seconds=current_app.config["PICKUP_CODE_LOCK_SECONDS"])
        order.wrong_code_attempts = 0
    order_states.record(order, "wrong_pickup_code", None, order.status, attempts_left=max(left, 0))
    raise DomainError("wrong_pickup_code", "That is not this order's pickup code.",
                      attempts_left=max(left, 0), keep_changes=True)


def unlock(order: Order, manager: Actor, clerk: Actor) -> Order:
    """A manager (an admin account) lifts the lock after too many wrong codes, having checked the
    shopper's ID; recorded with both names, and the wrong-code count starts again."""
    if manager.user is None or manager.user.role != "admin":
        raise DomainError("manager_required", "Only a manager (an admin account) can unlock an order.")
    if not order.locked_until or order.locked_until <= clock.now():
        raise DomainError("not_locked", "The order is not locked.")
    order.locked_until = None
    order.wrong_code_attempts = 0
    order_states.record(order, "pickup_unlocked", manager, order.status, clerk_id=clerk.user_id, id_checked=True)
    return order


@dataclass(frozen=True)
class CaptureDue:
    """A capture to make at the provider, in plain values: run after the commit (`capture`)."""

    order_id: int
    intent_id: str
    amount: int
    key: str


class CaptureFailed(Exception):
    """The capture did not go through; `outcome_known` is False when even reading the intent failed."""

    def __init__(self, message: str, *, outcome_known: bool) -> None:
        super().__init__(message)
        self.message, self.outcome_known = message, outcome_known


def hand_over(order: Order, code: str, actor: Actor) -> CaptureDue | None:
    """Verify the code and hand over. Paid at the counter (or captured already): done now. By card:
    the capture is marked pending (nothing closes the order meanwhile) and returned, for the caller
    to run after its commit (`capture`, no lock held) and finish under the lock again (`captured`
    or `capture_failed`). The same code on an order already handed over is a retry whose reply
    was lost: nothing changes, and the caller answers with the handover made."""
    if order.status == "picked_up" and secrets.compare_digest(code, order.pickup_code):
        return None
    order_states.find_move(order, "hand_over", actor)
    _check_code(order, code)
    if order.payment_method != "card" or order.payment.status == "succeeded":
        _complete(order, actor)  # paid at the counter, or captured by an earlier try
        return None
    payment = order.payment
    payment.capture_pending = True
    payment.next_try_at = clock.now() + CAPTURE_GRACE
    return CaptureDue(order.id, payment.intent_id, order.total,
                      f"pi-capture-{order.access_token[:32]}-{order.total}")


def capture(due: CaptureDue) -> payments.Intent:
    """Capture exactly what is handed over, outside any transaction; safe to retry (no double
    capture): if the reply was lost but the provider captured, the intent says so."""
    gateway = payments.gateway()
    try:
        return gateway.capture(due.intent_id, due.amount, key=due.key)
    except payments.PaymentProviderError as exc:
        current = _retrieve_quietly(gateway, due.intent_id)
        if current is not None and current.status == "succeeded":
            return current
        raise CaptureFailed(f"Capture failed: {exc}"[:300], outcome_known=current is not None) from exc


def captured(order: Order, intent: payments.Intent, actor: Actor | None) -> Order:
    """Record a capture the provider made and finish the handover (by staff, or by the system when
    reconciliation finds a capture whose reply was lost). The caller holds the order's lock."""
    payment = order.payment
    payment.status, payment.capture_pending, payment.next_try_at = intent.status, False, None
    order.payment_error = None
    if order.status == "picked_up":
        return order  # finished by a twin request, or by reconciliation
    if order.status != "ready_for_pickup":  # closed meanwhile: reconciliation refunds it
        raise DomainError("illegal_transition", f"The order is {order.status}: it cannot hand over.",
                          status_now=order.status, allowed=order_states.allowed_from(order.status),
                          keep_changes=True)
    _complete(order, actor)
    return order


def capture_failed(order: Order, failure: CaptureFailed) -> NoReturn:
    """Record a capture that did not go through: the order stays ready and a retry is safe. When
    even the intent could not be read, the capture stays pending for reconciliation to settle."""
    if failure.outcome_known:
        order.payment.capture_pending, order.payment.next_try_at = False, None
    order.payment_error = failure.message
    order_states.record(order, "capture_failed", None, order.status, error=order.payment_error)
    raise DomainError("capture_failed", "The payment could not be captured: try again.",
                      error=order.payment_error, keep_changes=True)


def _retrieve_quietly(gateway, intent_id: str):
    try:
        return gateway.retrieve(intent_id)
    except payments.PaymentProviderError:
        return None


def _complete(order: Order, actor: Actor | None) -> None:
    """Record the total as captured, move to picked_up (its event and message), then take the
    handed-over units out of stock (the rest goes back). The stock comes last: its rows are the
    ones every hold and sale at the store queues on, so their locks are held only from here to the
    commit. The order's row is written once, by the flush before the stock's lock."""
    order.captured_amount = order.total
    order.picked_up_at = clock.now()
    order_states.move(order, "hand_over", actor)
    taken = {line.product_id: line.handed_quantity for line in order.lines}
    reservations.consume_hold(order.reservation_id, taken, actor.user_id if actor else None)  # not loaded


def cancel(order: Order, actor: Actor, reason: str) -> Order:
    """Cancel: stock back now; the authorisation is voided after the commit."""
    order_states.find_move(order, "cancel", actor)
    return order_payments.close(order, "cancel", reason, actor)
