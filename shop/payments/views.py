"""Stripe webhooks: verified by signature, each event id processed once, applied to its order."""

from __future__ import annotations

import logging

from flask import request
from flask.views import MethodView
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from sqlalchemy import select

from shop.core import rate_limits
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import problems
from shop.core.transactions import transactional
from shop.orders import payment_events as order_payments
from shop.orders import queries as orders
from shop.payments import gateway as payments
from shop.payments.models import Payment, WebhookEvent

blp = Blueprint("webhooks", __name__, description="Payment provider callbacks")
log = logging.getLogger(__name__)

HANDLERS = {
    "payment_intent.amount_capturable_updated": order_payments.on_authorized,
    "payment_intent.payment_failed": order_payments.on_failed,
    "payment_intent.canceled": order_payments.on_canceled,
}


@blp.route("/webhooks/stripe")
class StripeWebhook(MethodView):
    decorators = [rate_limits.limit("WEBHOOK_RATE_LIMIT", key=get_remote_address, failures_only=True, methods=["POST"])]

    @transactional
    @blp.response(200)
    @problems("bad_signature", "payload_too_large", "order_not_found", "rate_limited")
    def post(self):
        """Apply a signed Stripe event to its order; a redelivered event id changes nothing."""
        try:
            event = payments.parse_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
        except payments.PaymentProviderError as exc:
            raise DomainError("bad_signature", "The webhook signature did not verify.") from exc
        if db.session.get(WebhookEvent, event.id) is not None:
            return {"status": "duplicate"}
        db.session.add(WebhookEvent(id=event.id, type=event.type))
        db.session.flush()  # a concurrent redelivery now waits here and then fails the unique key
        handler = HANDLERS.get(event.type)
        payment = db.session.scalar(select(Payment).where(Payment.intent_id == event.intent.id))
        if handler is None or payment is None:
            log.info("webhook %s ignored (%s)", event.id, event.type)
            return {"status": "ignored"}
        handler(orders.get_order(payment.order_id, lock=True), event.intent)
        return {"status": "processed"}
