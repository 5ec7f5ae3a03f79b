"""Card orders for tests against localstripe: check out by card, pay as the app would, authorise."""

from __future__ import annotations

import contextlib

import stripe

from shop.core.extensions import db
from shop.orders.models import Order
from tests.support.orders import cart_for, checkout, post_event


def stripe_client(api_base: str, key: str = "sk_test_omnishop") -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": api_base}, max_network_retries=0)


def intent_of(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).payment.intent_id


def card_order(client, world, lines=(("MUG", 1),), key=None) -> dict:
    resp = checkout(client, cart_for(client, world["store"], lines=lines), key=key, payment_method="card")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def authorise(client, sc: stripe.StripeClient, order_id: int) -> dict:
    """What the app does with the client secret (a card, confirmed), then Stripe's webhook."""
    intent_id = intent_of(order_id)
    sc.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    with contextlib.suppress(stripe.CardError):
        sc.v1.payment_intents.confirm(intent_id)
    obj = sc.v1.payment_intents.retrieve(intent_id).to_dict()
    assert obj["status"] == "requires_capture", obj["status"]
    assert post_event(client, "payment_intent.amount_capturable_updated", obj).status_code == 200
    return obj


def ready_card_order(client, world, sc: stripe.StripeClient, lines=(("MUG", 1),)) -> dict:
    """A card order authorised, picked and ready for pickup; its checkout reply."""
    body = card_order(client, world, lines)
    authorise(client, sc, body["order"]["id"])
    for step in ("picking", "ready"):
        resp = client.post(f"/api/v1/orders/{body['order']['id']}/{step}", headers=world["staff"])
        assert resp.status_code == 200, resp.get_json()
    return body
