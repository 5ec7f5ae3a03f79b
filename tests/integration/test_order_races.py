"""Checkout and handover races on PostgreSQL with real threads."""

from __future__ import annotations

from collections import Counter

import pytest
import stripe

from shop.carts import snapshot as cart_snapshot
from shop.core.extensions import db
from shop.orders.models import Order
from shop.payments.models import Payment
from tests.support import factories as f
from tests.support.concurrency import hammer, sent_while_locked
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import WEBHOOK_SECRET, cart_for, checkout, post_event
from tests.support.pickup import place

pytestmark = pytest.mark.postgres


@pytest.fixture
def card_app(app, localstripe_url):
    app.config.update(STRIPE_SECRET_KEY="sk_test_omnishop", STRIPE_API_BASE=localstripe_url,
                      STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET)
    yield stripe.StripeClient("sk_test_omnishop", base_addresses={"api": localstripe_url}, max_network_retries=0)
    app.config.update(STRIPE_SECRET_KEY="", STRIPE_API_BASE="", STRIPE_WEBHOOK_SECRET="")


def test_one_checkout_sent_twice_at_once_makes_one_order_and_one_intent(client, store_world, card_app, wide_app):
    cart_id = cart_for(client, store_world["store"])
    call = ("POST", f"/api/v1/carts/{cart_id}/checkout", {"payment_method": "card"}, {"Idempotency-Key": "same"})
    results = hammer(wide_app, [call, call, call])
    assert [status for status, _ in results] == [201, 201, 201], results
    assert len({body["order"]["id"] for _, body in results}) == 1
    assert len({body["payment"]["client_secret"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 1
    assert db.session.scalar(db.select(db.func.count(Payment.id))) == 1
    assert_stock_invariants()


def test_a_checkout_paid_at_the_store_sent_five_times_at_once_makes_one_order_and_one_reply(client, store_world,
                                                                                           wide_app):
    # Paid at the store, the key is claimed by the checkout's last write (shop.core.transactions
    # `_claimed_last`): the twins wait on the cart, find it converted, and answer with the first reply.
    cart_id = cart_for(client, store_world["store"], lines=(("MUG", 2),))
    call = ("POST", f"/api/v1/carts/{cart_id}/checkout", {"payment_method": "pay_at_store"},
            {"Idempotency-Key": "same"})
    results = hammer(wide_app, [call] * 5)
    assert [status for status, _ in results] == [201] * 5, results
    assert len({repr(body) for _, body in results}) == 1  # the same reply, byte for byte as JSON
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 1
    assert_stock_invariants()


def test_two_handovers_at_once_capture_once(client, store_world, card_app, wide_app):
    resp = checkout(client, cart_for(client, store_world["store"], lines=(("MUG", 1),)), payment_method="card")
    body = resp.get_json()
    oid = body["order"]["id"]
    intent_id = db.session.get(Order, oid).payment.intent_id
    card_app.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    authorised = card_app.v1.payment_intents.confirm(intent_id).to_dict()
    post_event(client, "payment_intent.amount_capturable_updated", authorised)
    for path in ("picking", "ready"):
        client.post(f"/api/v1/orders/{oid}/{path}", headers=store_world["staff"])
    call = ("POST", f"/api/v1/orders/{oid}/handover", {"pickup_code": body["pickup_code"]}, store_world["staff"])
    results = hammer(wide_app, [call, call])
    # The same handover twice (a double tap, a retry after a lost reply): both answered with it.
    assert [status for status, _ in results] == [200, 200], results
    assert {body["status"] for _, body in results} == {"picked_up"}
    charge = card_app.v1.payment_intents.retrieve(intent_id).latest_charge
    assert charge.captured and charge.amount - charge.amount_refunded == 1200
    db.session.expire_all()
    assert db.session.get(Order, oid).captured_amount == 1200
    assert_stock_invariants()


def test_50_carts_racing_for_the_last_10_units_make_exactly_10_orders(client, app, wide_app):
    store = f.store(code="RACE")
    product = f.product(sku="LAST")
    f.stock(store, product, 10)
    db.session.commit()
    calls = []
    for i in range(50):
        cart_id = cart_for(client, store, lines=(("LAST", 1),), email=f"shopper{i}@example.com")
        calls.append(("POST", f"/api/v1/carts/{cart_id}/checkout", {"payment_method": "pay_at_store"},
                      {"Idempotency-Key": f"k{i}"}))
    results = hammer(wide_app, calls)
    assert Counter(status for status, _ in results) == {201: 10, 409: 40}
    assert all(body["code"] == "insufficient_stock" for status, body in results if status == 409)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 10
    assert_stock_invariants()


def test_a_change_committed_while_checkout_waits_for_the_cart_is_what_it_orders(client, store_world, wide_app,
                                                                                monkeypatch):
    # The checkout's bump and read are one statement (shop.carts.snapshot.after), whose read sees the
    # tables as they were before it waited for the cart's lock: a change committed meanwhile (here 3
    # mugs instead of 2, its bump included) must be read again, never ordered as it was.
    cart_id = cart_for(client, store_world["store"])
    mug = store_world["p"]["MUG"].id
    reads = []
    monkeypatch.setattr(cart_snapshot, "load", lambda cid, _load=cart_snapshot.load: reads.append(cid) or _load(cid))
    waited, resp = sent_while_locked(wide_app, [
        ("UPDATE carts SET version = version + 1 WHERE id = :id", {"id": cart_id}),
        ("UPDATE cart_lines SET quantity = 3 WHERE cart_id = :id AND product_id = :p", {"id": cart_id, "p": mug}),
    ], lambda app_client: app_client.post(f"/api/v1/carts/{cart_id}/checkout", json={"payment_method": "pay_at_store"},
                                          headers={"Idempotency-Key": "waits"}))
    assert waited
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert {line["sku"]: line["quantity"] for line in resp.get_json()["order"]["lines"]} == {"MUG": 3, "TEA": 1}
    assert reads == [cart_id]  # read again, once
    assert_stock_invariants()


def test_a_short_pick_committed_while_ready_waits_for_the_order_is_kept(client, store_world, wide_app):
    # An order's lines are read with its lock, in one statement (shop.orders.queries): a line another
    # move changed while this one waited for the order must be read as that move committed it, or
    # "ready" would count the short-picked line as found in full (picked 2 of 2, not 1 of 2).
    placed = place(client, store_world)
    order_id = placed["order"]["id"]
    assert client.post(f"/api/v1/orders/{order_id}/picking", json={}, headers=store_world["staff"]).status_code == 200
    line = next(line for line in placed["order"]["lines"] if line["sku"] == "MUG")
    waited, resp = sent_while_locked(wide_app, [
        ("SELECT id FROM orders WHERE id = :id FOR UPDATE", {"id": order_id}),
        ("UPDATE order_lines SET picked_quantity = 1 WHERE id = :id", {"id": line["id"]}),
    ], lambda app_client: app_client.post(f"/api/v1/orders/{order_id}/ready", json={}, headers=store_world["staff"]))
    assert waited
    assert resp.status_code == 200, resp.get_data(as_text=True)
    picked = {each["sku"]: each["picked_quantity"] for each in resp.get_json()["lines"]}
    assert picked == {"MUG": 1, "TEA": 1}
