"""Order sweeps the scheduler runs: unpaid orders, no-shows, pickup reminders, voids to retry.

Each goes through shop.core.sweeps: one order per transaction, claimed with FOR UPDATE SKIP
LOCKED (on PostgreSQL), so two runs at once, or two nodes, never handle the same order twice and
never hold more than one order's stock rows (which a hold may want too) at a time. Each owns its
transactions (the scheduler registers them as they are). A void is made after the commit that
closed the order, with no lock held.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import exists, or_, select

from shop.core import events
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.orders import payment_events as order_payments
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from shop.payments.models import Payment

VOID_LEASE = dt.timedelta(minutes=5)  # another run leaves a void in flight alone this long


def _expire(reason: str):
    def handle(order: Order) -> None:
        order_payments.close(order, "expire", reason)  # the void runs after this order's commit
    return handle


def expire_unpaid(budget: float = runner.BUDGET_SECONDS) -> int:
    """Card orders never authorised within the payment window: stock back, order expired, intent voided."""
    claim = runner.claim_next(Order, Order.status == "pending_payment", Order.payment_expires_at <= clock.now())
    return runner.drain("expire_unpaid", claim, _expire("Not paid within the payment window"), budget=budget).done


def expire_no_shows(budget: float = runner.BUDGET_SECONDS) -> int:
    """Ready orders not collected by their pickup deadline: stock back, authorisation voided.

    A card order expires only once reconciliation has read its intent after the deadline, found no
    capture and none is in flight: a capture whose reply was lost is a handover, never a no-show.
    """
    now = clock.now()
    checked = exists(select(Payment.id).where(Payment.order_id == Order.id, Payment.capture_pending.is_(False),
                                              Payment.status != "succeeded",
                                              Payment.checked_at >= Order.pickup_deadline))
    claim = runner.claim_next(Order, Order.status == "ready_for_pickup", Order.pickup_deadline <= now,
                       or_(Order.payment_method != "card", checked))
    return runner.drain("expire_no_shows", claim, _expire("Not collected by the pickup deadline"),
                        budget=budget).done


def _remind(order: Order) -> None:
    order.reminder_sent_at = clock.now()
    order_states.record(order, "reminder_due", None, order.status)
    events.pickup_reminder_due.send(current_app._get_current_object(),
                                    **order_states.message_fields(order), reason=None)


def send_reminders(budget: float = runner.BUDGET_SECONDS) -> int:
    """One reminder per ready order, the day before its pickup deadline in the store's calendar
    (`reminder_due_at`, set when the order became ready: shop/orders/reminders.py)."""
    now = clock.now()
    claim = runner.claim_next(Order, Order.status == "ready_for_pickup", Order.reminder_sent_at.is_(None),
                              Order.reminder_due_at <= now, Order.pickup_deadline > now)
    return runner.drain("send_reminders", claim, _remind, budget=budget).done


def retry_voids(budget: float = runner.BUDGET_SECONDS) -> int:
    """Authorisations whose void failed (Stripe down, a worker killed): try again, after commit."""
    if payments.gateway() is None:
        return 0
    now, voided = clock.now(), []

    def handle(payment: Payment):
        payment.next_try_at = now + VOID_LEASE
        due = order_payments.void_of(payment)
        return lambda: voided.append(due) if order_payments.void(due) else None

    claim = runner.claim_next(Payment, Payment.void_pending.is_(True),
                       or_(Payment.next_try_at.is_(None), Payment.next_try_at <= now))
    runner.drain("retry_voids", claim, handle, budget=budget)
    return len(voided)
