"""Payments over HTTP: the Stripe webhook (verified by signature, each event id processed once,
applied to its order), the list of payments staff must look at, and resolving one."""

from __future__ import annotations

import logging

from flask import request
from flask.views import MethodView
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint
from sqlalchemy import select

from shop.accounts import auth
from shop.accounts.actors import Actor
from shop.core import rate_limits
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.http import problems
from shop.core.pagination import PAGE_HEADERS
from shop.core.transactions import transactional
from shop.orders import payment_events as order_payments
from shop.orders import queries as orders
from shop.payments import attention, webhooks
from shop.payments import gateway as payments
from shop.payments.models import Payment
from shop.payments.schemas import AttentionItemSchema, AttentionPageSchema, AttentionQuerySchema, ResolutionSchema

blp = Blueprint("webhooks", __name__, description="Payment provider callbacks; payments staff must look at")
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
        """Apply a signed Stripe event to its order; a redelivered event id changes nothing.

        A void the event decides (a late authorisation of a closed order) runs after the commit."""
        try:
            event = payments.parse_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
        except payments.PaymentProviderError as exc:
            raise DomainError("bad_signature", "The webhook signature did not verify.") from exc
        if not webhooks.claim(event.id, event.type):
            return {"status": "duplicate"}
        handler = HANDLERS.get(event.type)
        payment = db.session.scalar(select(Payment).where(Payment.intent_id == event.intent.id))
        if handler is None or payment is None:
            log.info("webhook %s ignored (%s)", event.id, event.type)
            return {"status": "ignored"}
        handler(orders.get_order(payment.order_id, lock=True), event.intent)
        return {"status": "processed"}


@blp.route("/payments/attention")
class PaymentsAttention(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(AttentionQuerySchema(), location="query")
    @blp.response(200, AttentionPageSchema, headers=PAGE_HEADERS)
    @problems("wrong_store")
    def get(self, args):
        """Payments no sweep can put right alone (a void that keeps failing, money captured on a closed
        order, a failed refund, amounts that disagree), newest first: staff see their stores' only.

        The next page is in the `Link` header (and `next_cursor`)."""
        caller = auth.current_caller()
        stores = None if caller.role == "admin" else caller.store_ids
        if "store_id" in args:
            if not auth.is_staff_of(caller, args["store_id"]):
                raise DomainError("wrong_store", "You are not staff of this store.")
            stores = frozenset({args["store_id"]})
        page = attention.flagged(stores, args["limit"], args.get("cursor"))
        return page.as_dict(), page.headers


@blp.route("/payments/attention/<int:payment_id>/resolution")
class AttentionResolution(MethodView):
    @auth.roles_required("staff", "admin")
    @blp.arguments(ResolutionSchema())
    @transactional
    @blp.response(200, AttentionItemSchema)
    @problems("payment_not_found", "attention_not_open")
    def post(self, data, payment_id):
        """Mark a payment on the attention list resolved, with a note: it leaves the list, and the
        order's timeline records who resolved it, when, and the note. Staff of the order's store
        (another store's payment is 404 to them) and admins."""
        caller = auth.current_caller()
        payment = db.session.get(Payment, payment_id)
        order = orders.get_order(payment.order_id, lock=True) if payment is not None else None
        if order is None or not auth.is_staff_of(caller, order.store_id):
            raise DomainError("payment_not_found", f"No payment {payment_id}.")
        db.session.refresh(payment)  # read again under the order's lock
        return attention.resolve(payment, data["note"], Actor("staff", auth.current_user(), "store", order.store_id))
