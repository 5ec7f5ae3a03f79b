"""Stripe, behind a small gateway: the only module that imports `stripe`.

Every call that changes money carries our own idempotency key, so a retried request can never
authorise, capture or refund twice at Stripe. Errors come back as PaymentProviderError with a
`declined` flag: a declined card is the shopper's to fix, anything else is ours to retry. Its
message is our own words, safe to show a user; the SDK's text (hosts, ports, request ids) only
goes to the log. Each call has a total time budget (STRIPE_CALL_BUDGET_SECONDS), retries included,
well inside the worker timeout, so a slow Stripe gives our 502, never a killed worker.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import stripe
from flask import current_app

log = logging.getLogger(__name__)

NO_ANSWER = "The card service did not answer in time."
REFUSED = "The card service could not handle the request."
DECLINED = "The card was declined."
# Decline reasons a shopper can act on, in our words; any other reason reads as DECLINED.
DECLINE_WORDS = {
    "insufficient_funds": "The card was declined: insufficient funds.",
    "expired_card": "The card was declined: it has expired.",
    "incorrect_cvc": "The card was declined: the security code is wrong.",
    "incorrect_number": "The card was declined: the card number is wrong.",
    "processing_error": "The card could not be processed: try again.",
}


class PaymentProviderError(Exception):
    def __init__(self, message: str, *, declined: bool = False, code: str | None = None) -> None:
        super().__init__(message)
        self.declined = declined
        self.code = code


def decline_words(code: str | None, decline_code: str | None = None) -> str:
    return DECLINE_WORDS.get(decline_code or "") or DECLINE_WORDS.get(code or "") or DECLINED


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
        last_error=decline_words(error.get("code"), error.get("decline_code")) if error else None,
    )


class BudgetedHTTPClient(stripe.RequestsClient):
    """The SDK's requests client under a total budget per call (begin() starts it, per thread): a
    retry starts only if a whole attempt (connect plus read timeout) still fits in what is left after
    its back-off, so with a budget of at least one attempt a call never outlasts it. A read timeout
    bounds each wait for bytes: a provider answering a byte at a time could still stretch an attempt,
    and the worker timeout is the last guard there."""

    def __init__(self, connect: float, read: float, budget: float) -> None:
        super().__init__(timeout=(connect, read))
        self._attempt, self._budget, self._calls = connect + read, budget, threading.local()

    def begin(self) -> None:
        self._calls.deadline = time.monotonic() + self._budget

    def left(self) -> float:
        deadline = getattr(self._calls, "deadline", None)
        return self._budget if deadline is None else deadline - time.monotonic()

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        if not super()._should_retry(response, api_connection_error, num_retries, max_network_retries):
            return False
        longest_backoff = min(self.INITIAL_DELAY * 2**num_retries, self.MAX_DELAY)
        return self.left() >= longest_backoff + self._attempt


class Gateway:
    def __init__(self, secret_key: str, api_base: str | None = None, *, connect_timeout: float = 2.0,
                 read_timeout: float = 5.0, retries: int = 1, budget: float = 8.0) -> None:
        kwargs = {"base_addresses": {"api": api_base}} if api_base else {}
        self.http = BudgetedHTTPClient(connect_timeout, read_timeout, budget)
        self.client = stripe.StripeClient(secret_key, http_client=self.http, max_network_retries=retries,
                                          **kwargs)

    def _call(self, fn, *args, **kwargs):
        self.http.begin()
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentProviderError(decline_words(exc.code, getattr(exc.error, "decline_code", None)),
                                       declined=True, code=exc.code) from exc
        except stripe.APIConnectionError as exc:
            log.warning("card service: no answer: %s", exc)
            raise PaymentProviderError(NO_ANSWER, code="no_answer") from exc
        except stripe.StripeError as exc:
            log.warning("card service: %s (HTTP %s): %s", type(exc).__name__, exc.http_status, exc)
            raise PaymentProviderError(REFUSED, code=exc.code) from exc

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
        """Refund `amount`; the key goes as Stripe's idempotency key and in the refund's metadata,
        where `refunded_with` finds it when our record of the reply was lost."""
        refund = self._call(self.client.v1.refunds.create,
                            params={"payment_intent": intent_id, "amount": amount, "metadata": {"omnishop_key": key}},
                            options={"idempotency_key": key})
        return refund["id"]

    def refunded_with(self, intent_id: str, key: str) -> bool:
        """Whether the intent has a refund made with our key (a read: no idempotency key needed)."""
        def look():
            page = self.client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
            return any((r.to_dict().get("metadata") or {}).get("omnishop_key") == key for r in page.auto_paging_iter())
        return self._call(look)


def gateway() -> Gateway | None:
    """The app's gateway, or None when no Stripe key is set (then only pay at store is offered)."""
    key = current_app.config.get("STRIPE_SECRET_KEY")
    if not key:
        return None
    cache = current_app.extensions.setdefault("omnishop-stripe", {})
    if key not in cache:
        config = current_app.config
        cache[key] = Gateway(key, config.get("STRIPE_API_BASE") or None,
                             connect_timeout=config["STRIPE_CONNECT_TIMEOUT_SECONDS"],
                             read_timeout=config["STRIPE_READ_TIMEOUT_SECONDS"],
                             retries=config["STRIPE_MAX_NETWORK_RETRIES"],
                             budget=config["STRIPE_CALL_BUDGET_SECONDS"])
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
