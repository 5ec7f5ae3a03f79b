"""Payments staff must look at: flagged once with the reason (and logged then), listed by store.

A payment lands here when no sweep can put it right alone: a void that keeps failing, money
captured on an order that was closed (refunded, but the shopper may call), a refund that failed,
amounts that disagree with the provider. Flagging the same reason again changes nothing, so a
sweep that meets it every minute logs it once.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from shop.core.clock import clock
from shop.core.pagination import Page, keyset
from shop.orders.models import Order
from shop.payments.models import Payment

log = logging.getLogger(__name__)


def flag(payment: Payment, reason: str) -> None:
    """Put the payment on staff's list with `reason`; logged when first flagged or the reason changes."""
    reason = reason[:300]
    if payment.attention == reason:
        return
    payment.attention, payment.flagged_at = reason, clock.now()
    log.warning("payment %s (order %s) needs staff attention: %s", payment.intent_id, payment.order_id, reason)


def flagged(store_ids: frozenset[int] | None, limit: int, cursor: str | None) -> Page:
    """Flagged payments, newest first, of these stores (None: every store), one page at a time."""
    stmt = select(Payment).join(Order, Order.id == Payment.order_id).where(Payment.attention.is_not(None))
    if store_ids is not None:
        stmt = stmt.where(Order.store_id.in_(sorted(store_ids)))
    return keyset(stmt, (Payment.id,), limit=limit, cursor=cursor, descending=True)
