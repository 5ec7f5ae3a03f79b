"""Order sweeps the scheduler runs: unpaid orders, no-shows, pickup reminders, voids to retry.

Each claims its rows with FOR UPDATE SKIP LOCKED (on PostgreSQL), so two runs at once, or two
nodes, never handle the same order twice. Never commits: one commit per sweep run, by the caller.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import payment_events as order_payments
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments import gateway as payments
from shop.payments.models import Payment

REMINDER_BEFORE_DEADLINE = dt.timedelta(hours=24)


def _claim(stmt, limit: int) -> list[Order]:
    return list(db.session.scalars(stmt.order_by(Order.id).limit(limit).with_for_update(skip_locked=True)))


def expire_unpaid(limit: int = 200) -> int:
    """Card orders never authorised within the payment window: stock back, order expired."""
    due = _claim(select(Order).where(Order.status == "pending_payment",
                                     Order.payment_expires_at <= clock.now()), limit)
    for order in due:
        order_payments.close(order, "expire", "Not paid within the payment window")
    return len(due)


def expire_no_shows(limit: int = 200) -> int:
    """Ready orders not collected by their pickup deadline: stock back, authorisation voided."""
    due = _claim(select(Order).where(Order.status == "ready_for_pickup",
                                     Order.pickup_deadline <= clock.now()), limit)
    for order in due:
        order_payments.close(order, "expire", "Not collected by the pickup deadline")
    return len(due)


def send_reminders(limit: int = 200) -> int:
    """One reminder per ready order, a day before its pickup deadline."""
    now = clock.now()
    due = _claim(select(Order).where(Order.status == "ready_for_pickup", Order.reminder_sent_at.is_(None),
                                     Order.pickup_deadline <= now + REMINDER_BEFORE_DEADLINE,
                                     Order.pickup_deadline > now), limit)
    for order in due:
        order.reminder_sent_at = now
        order_states.record(order, "reminder_due", None, order.status)
        events.pickup_reminder_due.send(current_app._get_current_object(),
                                        **order_states.message_fields(order), reason=None)
    return len(due)


def retry_voids(limit: int = 100) -> int:
    """Authorisations whose cancellation failed while Stripe was down: try again."""
    if payments.gateway() is None:
        return 0
    due = _claim(select(Order).join(Payment).where(Payment.void_pending.is_(True)), limit)
    for order in due:
        order_payments.void(order)
    return sum(1 for order in due if not order.payment.void_pending)
