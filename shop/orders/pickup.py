"""The store's side of a pickup order: pick, mark ready, verify the shopper, hand over; cancel; refund.

Callers hold the order's row lock (shop.orders.get_order(lock=True)). Never commits.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from inventory import reservations, stock_events
from inventory.models import Reservation
from shop.accounts.actors import Actor
from shop.carts import coupons
from shop.core import events
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders import payment_events as order_payments
from shop.orders import queries as orders
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from stores.services import get_store


def _reservation(order: Order) -> Reservation:
    return db.session.get(Reservation, order.reservation_id)


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
    reservation = _reservation(order)
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
    reservations.extend(_reservation(order), order.pickup_deadline + dt.timedelta(days=1))
    return order_states.move(order, "ready", actor)


def _check_code(order: Order, code: str) -> None:
    now = clock.now()
    if order.locked_until and order.locked_until > now:
        wait = int((order.locked_until - now).total_seconds()) + 1
        raise DomainError("pickup_locked", "Too many wrong codes: try again later.",
                          headers={"Retry-After": str(wait)}, locked_until=order.locked_until.isoformat())
    if code == order.pickup_code:
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


def _capture(order: Order) -> None:
    """Capture exactly what is handed over; safe to retry (no double capture)."""
    payment = order.payment
    if order.payment_method != "card":
        order.captured_amount = order.total  # paid at the counter
        return
    if payment.status == "succeeded":
        return
    gateway = payments.gateway()
    key = f"pi-capture-{order.access_token[:32]}-{order.total}"
    try:
        intent = gateway.capture(payment.intent_id, order.total, key=key)
    except payments.PaymentProviderError as exc:
        current = _retrieve_quietly(gateway, payment.intent_id)
        if current is None or current.status != "succeeded":
            order.payment_error = f"Capture failed: {exc}"[:300]
            order_states.record(order, "capture_failed", None, order.status, error=order.payment_error)
            raise DomainError("capture_failed", "The payment could not be captured: try again.",
                              error=order.payment_error, keep_changes=True) from exc
        intent = current
    payment.status = intent.status
    order.captured_amount = order.total
    order.payment_error = None


def _retrieve_quietly(gateway, intent_id: str):
    try:
        return gateway.retrieve(intent_id)
    except payments.PaymentProviderError:
        return None


def hand_over(order: Order, code: str, actor: Actor) -> Order:
    order_states.find_move(order, "hand_over", actor)
    _check_code(order, code)
    _capture(order)
    taken = {line.product_id: line.handed_quantity for line in order.lines}
    reservations.consume(_reservation(order), taken, actor.user_id)
    order.picked_up_at = clock.now()
    return order_states.move(order, "hand_over", actor)


def cancel(order: Order, actor: Actor, reason: str) -> Order:
    order_states.find_move(order, "cancel", actor)
    return order_payments.close(order, "cancel", reason, actor)


def refund(order: Order, lines: list[dict], restock: bool, actor: Actor) -> dict:
    """Refund returned lines (never more than was captured); with restock, back on the shelf.

    Nothing changes until the provider said yes; a refusal it gives is remembered on the order
    (`payment_error`, a `refund_failed` event) and the same request may simply be sent again.
    """
    if order.status != "picked_up":
        raise DomainError("illegal_transition", "Only picked-up orders are refunded.",
                          status_now=order.status, allowed=order_states.allowed_from(order.status))
    by_id = {line.id: line for line in order.lines}
    amount, returned, taken = 0, {}, {}
    for item in lines:
        line = by_id.get(item["line_id"])
        if line is None:
            raise DomainError("line_not_found", f"The order has no line {item['line_id']}.")
        left = line.handed_quantity - line.refunded_quantity - taken.get(line.id, 0)
        if item["quantity"] > left:
            raise DomainError("refund_too_many", f"Only {left} of {line.sku} can be refunded.")
        taken[line.id] = taken.get(line.id, 0) + item["quantity"]
        amount += line.unit_price * item["quantity"]
        returned[line.product] = returned.get(line.product, 0) + item["quantity"]
    amount = min(amount, order.captured_amount - order.refunded_amount)
    if amount <= 0:
        raise DomainError("nothing_to_refund", "Everything captured has been refunded already.")
    sequence = order.refunded_amount
    if order.payment_method == "card":
        _refund_card(order, amount, sequence, actor)
    for line_id, quantity in taken.items():
        by_id[line_id].refunded_quantity += quantity
    order.refunded_amount += amount
    if restock:
        stock_events.record_event(order.store_id, f"refund:{order.number}:{sequence}", "return",
                                  returned, actor.user_id)
    order_states.record(order, "refunded", actor, order.status, amount=amount, restock=restock)
    events.order_refunded.send(current_app._get_current_object(), **order_states.message_fields(order),
                               amount=amount)
    return {"amount": amount, "currency": order.currency, "refunded_total": order.refunded_amount,
            "restocked": restock}


def _refund_card(order: Order, amount: int, sequence: int, actor: Actor) -> None:
    """Refund on the card; the provider's key repeats on a retry, so a lost answer never pays twice."""
    try:
        payments.gateway().refund(order.payment.intent_id, amount,
                                  key=f"refund-{order.access_token[:32]}-{sequence}-{amount}")
    except payments.PaymentProviderError as exc:
        order.payment_error = f"Refund failed: {exc}"[:300]
        order_states.record(order, "refund_failed", actor, order.status, amount=amount, error=order.payment_error)
        raise DomainError("refund_failed", f"The refund did not go through: {exc}",
                          error=order.payment_error, keep_changes=True) from exc
    order.payment_error = None
