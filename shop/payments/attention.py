"""Payments staff must look at: flagged once with the reason (and logged then), listed by store.

A payment lands here when no sweep can put it right alone: a void that keeps failing, money
captured on an order that was closed (refunded, but the shopper may call), a refund that failed,
amounts that disagree with the provider. Flagging the same reason again changes nothing, so a
sweep that meets it every minute logs it once, and an item staff resolved (with a note: who, when,
what they did; on the order's timeline too) stays off the list until a new reason is flagged.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from shop.accounts.actors import Actor
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.pagination import Page, keyset
from shop.orders import states as order_states
from shop.orders.models import Order
from shop.payments.models import Payment

log = logging.getLogger(__name__)


def flag(payment: Payment, reason: str) -> None:
    """Put the payment on staff's list with `reason`; logged when first flagged or the reason changes."""
    reason = reason[:300]
    if payment.attention == reason:
        return
    payment.attention, payment.flagged_at = reason, clock.now()
    payment.resolved_at = payment.resolved_by_id = payment.resolution_note = None
    log.warning("payment %s (order %s) needs staff attention: %s", payment.intent_id, payment.order_id, reason)


def flagged(store_ids: frozenset[int] | None, limit: int, cursor: str | None) -> Page:
    """Flagged payments, newest first, of these stores (None: every store), one page at a time."""
    stmt = (select(Payment).join(Order, Order.id == Payment.order_id)
            .where(Payment.attention.is_not(None), Payment.resolved_at.is_(None)))
    if store_ids is not None:
        stmt = stmt.where(Order.store_id.in_(sorted(store_ids)))
    return keyset(stmt, (Payment.id,), limit=limit, cursor=cursor, descending=True)


def resolve(payment: Payment, note: str, actor: Actor) -> Payment:
    """Staff dealt with it (called the shopper, refunded by hand, ...): off the list, with who, when
    and the note, and on the order's timeline. The caller holds the order's row lock."""
    if payment.attention is None or payment.resolved_at is not None:
        raise DomainError("attention_not_open", f"Payment {payment.id} is not on the attention list.")
    payment.resolved_at, payment.resolved_by_id, payment.resolution_note = clock.now(), actor.user_id, note
    log.info("payment %s (order %s) resolved by user %s", payment.intent_id, payment.order_id, actor.user_id)
    order = payment.order
    order_states.record(order, "payment_attention_resolved", actor, order.status, reason=payment.attention,
                        note=note)
    return payment
