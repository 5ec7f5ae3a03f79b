"""Feedback on a collected order: one rating (1-5) and an optional comment, by its shopper, once.

Once, not an edit: the rating is asked for by the post-pickup follow-up and read by the store and
marketing as what the shopper said then; a second answer is a 409 `feedback_given` with the first.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop.accounts.actors import Actor
from shop.core import events
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.orders.models import Order, OrderFeedback


def of_order(order_id: int) -> OrderFeedback | None:
    return db.session.scalar(select(OrderFeedback).where(OrderFeedback.order_id == order_id))


def _given(first: OrderFeedback) -> DomainError:
    return DomainError("feedback_given", "This order has been rated already.", rating=first.rating)


def give(order: Order, actor: Actor, rating: int, comment: str | None) -> OrderFeedback:
    """Record the shopper's rating of a picked-up order (the caller checked they may see it)."""
    if actor.kind == "staff":
        raise DomainError("forbidden", "Only the order's shopper rates it.")
    if order.status != "picked_up":
        raise DomainError("order_not_collected", f"Order {order.number} is {order.status}: rate it once collected.",
                          status_now=order.status)
    first = of_order(order.id)
    if first is not None:
        raise _given(first)
    feedback = OrderFeedback(order_id=order.id, customer_id=order.customer_id, rating=rating,
                             comment=comment or None, channel=actor.channel)
    try:
        with db.session.begin_nested():
            db.session.add(feedback)
            db.session.flush()  # two answers at once: the unique order_id keeps the first
    except IntegrityError:
        raise _given(of_order(order.id)) from None
    events.order_feedback.send(current_app._get_current_object(), order_id=order.id, number=order.number,
                               customer_id=order.customer_id, rating=rating, comment=feedback.comment,
                               channel=actor.channel)
    return feedback
