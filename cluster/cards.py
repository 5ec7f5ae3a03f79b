"""Card orders through the cluster the way a shopper's app and Stripe make them: checkout by card (the
node creates a PaymentIntent on the cluster's localstripe), the shopper's app confirms the intent with
a test card, and Stripe tells the shop by webhook. localstripe sends no webhooks, so `authorise` posts
the signed `payment_intent.amount_capturable_updated` event itself, signed with the nodes' webhook
secret as Stripe signs (`Stripe-Signature: t=...,v1=HMAC-SHA256`), to whichever URL it is given (nginx,
or one node): any node must accept an event about an order another node made.
"""

from __future__ import annotations

import time

import requests
import stripe

from cluster.world import WEBHOOK_SECRET
from tests.support.orders import pay, signed_event

CAPTURABLE = "payment_intent.amount_capturable_updated"


def intent_id(checkout_reply: dict) -> str:
    """The PaymentIntent's id, from the client secret a card checkout answers with (`pi_..._secret_...`)."""
    return checkout_reply["payment"]["client_secret"].split("_secret_")[0]


def confirmed_event(sc: stripe.StripeClient, checkout_reply: dict) -> tuple[str, dict] | None:
    """Confirm the order's intent with a test card as the shopper's app does; then the webhook Stripe
    would send, signed: (payload, headers). None when the intent is not waiting for capture (declined)."""
    intent = pay(sc, intent_id(checkout_reply))
    if intent["status"] != "requires_capture":
        return None
    return signed_event(CAPTURABLE, intent, secret=WEBHOOK_SECRET)


def authorise(sc: stripe.StripeClient, session, url: str, checkout_reply: dict, attempts: int = 40) -> int | None:
    """Confirm the intent and post its webhook to `url` (a base URL), the same event again after no
    answer or a 502/503/504 (as Stripe redelivers; the node that took it may have died). The last
    status (200 when the order was placed), or None when the card was declined."""
    event = confirmed_event(sc, checkout_reply)
    if event is None:
        return None
    payload, headers = event
    status = None
    for _ in range(attempts):
        try:
            status = session.post(f"{url}/api/v1/webhooks/stripe", data=payload, headers=headers,
                                  timeout=30).status_code
        except requests.RequestException:
            status = None
        if status not in (None, 502, 503, 504):
            return status
        time.sleep(0.2)
    return status
