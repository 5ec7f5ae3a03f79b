"""The re-check at send time: may this message still go? Consent may have been withdrawn since it was
queued, and an order message may be pointless now (a reminder after the pickup).
"""

from __future__ import annotations

from sqlalchemy import exists, select

from notifications import consent
from notifications.models import Message
from shop.core.extensions import db

CLOSING = ("order_picked_up", "order_cancelled", "order_expired")
# Not worth sending once the order is over: the closing message says what matters.
MOOT_WHEN_CLOSED = ("order_placed", "order_ready", "pickup_reminder", "payment_failed")


def refusal(message: Message) -> str | None:
    """Why this message must not go now (a reason code), or None if it may."""
    context = message.context or {}
    if context.get("test_send"):  # a campaign's test-send, to the address marketing typed (campaigns/service.py)
        return None
    ok, reason = consent.allowed(
        message.channel, message.purpose, customer_id=message.customer_id,
        email=message.to_address if message.channel == "email" else None,
        phone=message.to_address if message.channel == "sms" else None,
        order_sms_updates=context.get("sms_updates") if message.channel == "sms" else None)
    if not ok:
        return reason or "not_allowed"
    if message.template in MOOT_WHEN_CLOSED and message.order_id is not None and _order_closed(message.order_id):
        return "order_closed"
    return None


def _order_closed(order_id: int) -> bool:
    """The outbox knows: a closing message for the order was queued (in the transaction that closed it)."""
    return bool(db.session.scalar(select(exists().where(Message.order_id == order_id,
                                                        Message.template.in_(CLOSING)))))
