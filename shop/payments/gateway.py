"""Stripe, behind a small gateway: the only module that imports `stripe`.

Every call that changes money carries our own idempotency key, so a retried request can never
authorise, capture or refund twice at Stripe. Errors come back as PaymentProviderError with a
`declined` flag: a declined card is the shopper's to fix, anything else is ours to retry.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import current_app


class PaymentProviderError(Exception):
    def __init__(self, message: str, *, declined: bool = False, code: str | None = None) -> None:
        super().__init__(message)
        self.declined = declined
        self.code = code


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    amount: int
    amount_capturable: int
    amount_received: int
    client_secret: str | None
    last_error: str | None = None


def _intent(stripe_obj) -> Intent:
    obj = stripe_obj.to_dict() if hasattr(stripe_obj, "to_dict") else dict(stripe_obj)
    error = obj.get("last_payment_error")
    return Intent(
        id=obj["id"], status=obj["status"], amount=obj.get("amount") or 0,
        amount_capturable=obj.get("amount_capturable") or 0,
        amount_received=obj.get("amount_received") or 0,
        client_secret=obj.get("client_secret"),
        last_error=(error.get("message") or error.get("code")) if error else None,
    )


class Gateway:
    def __init__(self, secret_key: str, api_base: str | None = None, timeout: float = 10.0) -> None:
        kwargs = {"base_addresses": {"api": api_base}} if api_base else {}
        self.client = stripe.StripeClient(
            secret_key, http_client=stripe.RequestsClient(timeout=timeout), max_network_retries=2, **kwargs
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentProviderError(exc.user_message or str(exc), declined=True, code=exc.code) from exc
        except stripe.StripeError as exc:
            raise PaymentProviderError(exc.user_message or type(exc).__name__, code=exc.code) from exc

    def create(self, amount: int, currency: str, reference: str, key: str) -> Intent:
        params = {"amount": amount, "currency": currency.lower(), "capture_method": "manual",
                  "payment_method_types": ["card"], "metadata": {"reference": reference}}
        return _intent(self._call(self.client.v1.payment_intents.create, params=params,
                                  options={"idempotency_key": key}))

    def retrieve(self, intent_id: str) -> Intent:
        return _intent(self._call(self.client.v1.payment_intents.retrieve, intent_id))

    def capture(self, intent_id: str, amount: int, key: str) -> Intent:
        return _intent(self._call(self.client.v1.payment_intents.capture, intent_id,
                                  params={"amount_to_capture": amount}, options={"idempotency_key": key}))

    def cancel(self, intent_id: str, key: str) -> Intent:
        return _intent(self._call(self.client.v1.payment_intents.cancel, intent_id,
                                  options={"idempotency_key": key}))

    def refund(self, intent_id: str, amount: int, key: str) -> str:
        refund = self._call(self.client.v1.refunds.create,
                            params={"payment_intent": intent_id, "amount": amount},
                            options={"idempotency_key": key})
        return refund["id"]


def gateway() -> Gateway | None:
    """The app's gateway, or None when no Stripe key is set (then only pay at store is offered)."""
    key = current_app.config.get("STRIPE_SECRET_KEY")
    if not key:
        return None
    cache = current_app.extensions.setdefault("omnishop-stripe", {})
    if key not in cache:
        cache[key] = Gateway(key, current_app.config.get("STRIPE_API_BASE") or None)
    return cache[key]


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    intent: Intent


def parse_webhook(payload: bytes, signature: str) -> WebhookEvent:
    """Verify the Stripe-Signature (and its timestamp) and read the PaymentIntent it is about."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET") or ""
    tolerance = current_app.config["STRIPE_WEBHOOK_TOLERANCE_SECONDS"]
    try:
        event = stripe.Webhook.construct_event(payload.decode("utf-8"), signature, secret, tolerance=tolerance)
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as exc:
        raise PaymentProviderError(f"bad webhook: {type(exc).__name__}") from exc
    obj = event["data"]["object"].to_dict()
    if obj.get("object") != "payment_intent":
        return WebhookEvent(event["id"], event["type"], Intent(obj.get("id", ""), "", 0, 0, 0, None))
    return WebhookEvent(event["id"], event["type"], _intent(obj))
