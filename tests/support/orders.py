"""Helpers for order tests: a store with stock, a cart ready to check out, signed Stripe webhooks,
and card orders against localstripe (the app pointed at it, a card authorised, Stripe unreachable)."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
import stripe

from shop.core.extensions import db
from shop.orders.models import Order
from tests.support import factories as f

WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def store_world(app):
    store = f.store(code="NYC", hold_days=2, prep_lead_minutes=30)
    products = {"MUG": f.product(sku="MUG", price=1200), "TEA": f.product(sku="TEA", price=500)}
    f.stock(store, products["MUG"], 10)
    f.stock(store, products["TEA"], 4)
    staff = f.user("staff", [store])
    other_store = f.store(code="CHI")
    other_staff = f.user("staff", [other_store])
    db.session.commit()
    return {"store": store, "p": products, "staff": f.bearer(staff), "staff_user": staff,
            "other_staff": f.bearer(other_staff)}


def _ok(resp, *statuses: int) -> dict:
    assert resp.status_code in statuses, resp.get_data(as_text=True)
    return resp.get_json()


def cart_for(client, store, lines=(("MUG", 2), ("TEA", 1)), headers=None, email="guest@example.com"):
    """The id of a cart at this pickup store with these lines and email, every step checked."""
    headers = headers or {}
    created = client.post("/api/v1/carts", json={"pickup_store_id": store.id}, headers=headers)
    cart = _ok(created, 201, 200)  # 200: a signed-in customer's cart that was already open
    for sku, qty in lines:
        _ok(client.post(f"/api/v1/carts/{cart['id']}/lines", json={"sku": sku, "quantity": qty}, headers=headers),
            200)
    if email:
        _ok(client.patch(f"/api/v1/carts/{cart['id']}", json={"email": email}, headers=headers), 200)
    return cart["id"]


def checkout(client, cart_id, key=None, headers=None, **body):
    payload = {"payment_method": "pay_at_store", **body}
    return client.post(f"/api/v1/carts/{cart_id}/checkout", json=payload,
                       headers={"Idempotency-Key": key or uuid.uuid4().hex, **(headers or {})})


def signed_event(type_: str, obj: dict, event_id: str | None = None, timestamp: int | None = None,
                 secret: str = WEBHOOK_SECRET) -> tuple[str, dict]:
    payload = json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "object": "event", "type": type_,
                          "data": {"object": obj}})
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return payload, {"Stripe-Signature": header, "Content-Type": "application/json"}


def post_event(client, type_: str, obj: dict, **kw):
    payload, headers = signed_event(type_, obj, **kw)
    return client.post("/api/v1/webhooks/stripe", data=payload, headers=headers)


def stripe_client(api_base: str, key: str = "sk_test_omnishop") -> stripe.StripeClient:
    """A Stripe client to play the shopper's app (or to look at what Stripe holds)."""
    return stripe.StripeClient(key, base_addresses={"api": api_base}, max_network_retries=0)


@pytest.fixture
def stripe_app(app, localstripe_url):
    """The app taking cards through localstripe; yields a Stripe client to play the shopper's app."""
    app.config.update(STRIPE_SECRET_KEY="sk_test_omnishop", STRIPE_API_BASE=localstripe_url,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    yield stripe_client(localstripe_url)
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET="")


@contextlib.contextmanager
def stripe_unreachable(app):
    """Within the block the app's Stripe calls fail: a new gateway that reaches nothing."""
    saved = {k: app.config[k] for k in ("STRIPE_SECRET_KEY", "STRIPE_API_BASE")}
    app.config.update(STRIPE_SECRET_KEY="sk_test_down", STRIPE_API_BASE="http://127.0.0.1:9")
    try:
        yield
    finally:
        app.config.update(saved)


def card_order(client, world, lines=(("MUG", 2), ("TEA", 1)), key=None):
    resp = checkout(client, cart_for(client, world["store"], lines=lines), key=key, payment_method="card")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def intent_of(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).payment.intent_id


def pay(sc, intent_id: str, card: str = "pm_card_visa") -> dict:
    """What the app does with the client secret: attach a card and confirm."""
    sc.v1.payment_intents.update(intent_id, params={"payment_method": card})
    with contextlib.suppress(stripe.CardError):  # a declined card: the intent says why
        sc.v1.payment_intents.confirm(intent_id)
    return sc.v1.payment_intents.retrieve(intent_id).to_dict()


def authorize(client, sc, order_id):
    obj = pay(sc, intent_of(order_id))
    assert obj["status"] == "requires_capture"
    resp = post_event(client, "payment_intent.amount_capturable_updated", obj)
    assert resp.status_code == 200
    return obj


def ready_card_order(client, world, sc, lines=(("MUG", 1),)) -> dict:
    """A card order authorised, picked and ready for pickup; its checkout reply."""
    body = card_order(client, world, lines)
    authorize(client, sc, body["order"]["id"])
    for step in ("picking", "ready"):
        resp = client.post(f"/api/v1/orders/{body['order']['id']}/{step}", headers=world["staff"])
        assert resp.status_code == 200, resp.get_json()
    return body
