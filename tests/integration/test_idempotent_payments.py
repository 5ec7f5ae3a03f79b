"""Idempotent all the way down: a retried checkout reuses its PaymentIntent, a webhook redelivered
while the first delivery runs is a duplicate, a handover retried after a lost reply is answered
with the handover made."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from inventory.models import Stock
from shop.core.extensions import db
from shop.orders.models import Order
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import WEBHOOK_SECRET, cart_for, checkout, signed_event
from tests.support.problems import assert_problem


def test_a_checkout_retried_after_a_lost_reply_reuses_its_payment_intent(client, store_world, gateway):
    cart_id = cart_for(client, store_world["store"])
    gateway.lose_create_reply = True  # Stripe made the intent; the reply was lost
    assert_problem(checkout(client, cart_id, key="client-key-1", payment_method="card"),
                   502, "payment_provider_unavailable")
    again = checkout(client, cart_id, key="client-key-1", payment_method="card")
    assert again.status_code == 201, again.get_json()
    creates = [key for kind, key, *_ in gateway.calls if kind == "create"]
    assert len(creates) == 2 and creates[0] == creates[1]  # the retry asked for the same intent...
    assert list(gateway.intents) == [db.session.get(Order, again.get_json()["order"]["id"]).payment.intent_id]
    other = checkout(client, cart_for(client, store_world["store"]), key="client-key-2", payment_method="card")
    assert other.status_code == 201 and len(gateway.intents) == 2  # ...and another checkout for another


@pytest.mark.postgres  # SQLite would keep the other device's add waiting on the checkout's write lock
def test_a_cart_changed_while_the_intent_was_made_is_a_409_and_nothing_is_ordered(client, store_world, gateway,
                                                                                   wide_app, monkeypatch):
    cart_id = cart_for(client, store_world["store"])
    create = gateway.create

    def create_while_the_shopper_adds(*args, **kwargs):  # from another device: its own thread and connection
        with ThreadPoolExecutor(1) as device:
            added = device.submit(wide_app.test_client().post, f"/api/v1/carts/{cart_id}/lines",
                                  json={"sku": "TEA", "quantity": 1}).result()
        assert added.status_code == 200
        return create(*args, **kwargs)

    monkeypatch.setattr(gateway, "create", create_while_the_shopper_adds)
    assert_problem(checkout(client, cart_id, payment_method="card"), 409, "cart_changed")
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 0
    assert client.get(f"/api/v1/carts/{cart_id}").get_json()["lines"][1]["quantity"] == 2
    assert_stock_invariants()


def _waiting_on_locks(conn, n: int) -> bool:
    for _ in range(400):
        count = conn.execute(text("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar()
        conn.rollback()  # a new snapshot of pg_stat_activity next time
        if count >= n:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.postgres
def test_a_webhook_redelivered_while_the_first_delivery_runs_is_a_duplicate(client, store_world, gateway, wide_app):
    body = checkout(client, cart_for(client, store_world["store"]), payment_method="card").get_json()
    oid = body["order"]["id"]
    intent = gateway.intents[db.session.get(Order, oid).payment.intent_id]
    obj = {"id": intent.id, "object": "payment_intent", "status": "requires_capture", "amount": intent.amount,
           "amount_capturable": intent.amount}
    payload, headers = signed_event("payment_intent.amount_capturable_updated", obj, event_id="evt_twice")
    wide_app.config["STRIPE_WEBHOOK_SECRET"] = WEBHOOK_SECRET

    def deliver():
        resp = wide_app.test_client().post("/api/v1/webhooks/stripe", data=payload, headers=headers)
        return resp.status_code, resp.get_json()

    with ThreadPoolExecutor(3) as pool, db.engine.connect() as holder, db.engine.connect() as watcher:
        tx = holder.begin()
        holder.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": oid})  # the first waits here
        deliveries = [pool.submit(deliver) for _ in range(3)]
        assert _waiting_on_locks(watcher, 3), "the deliveries did not all get under way"
        tx.commit()
        results = sorted((d.result() for d in deliveries), key=lambda r: (r[0], r[1]["status"]))
    assert results == [(200, {"status": "duplicate"})] * 2 + [(200, {"status": "processed"})], results
    db.session.expire_all()
    assert db.session.get(Order, oid).status == "placed"


def test_a_handover_retried_after_a_lost_reply_is_answered_with_the_handover_made(client, store_world):
    body = checkout(client, cart_for(client, store_world["store"], lines=(("MUG", 2),))).get_json()
    oid = body["order"]["id"]
    for step in ("picking", "ready"):
        client.post(f"/api/v1/orders/{oid}/{step}", headers=store_world["staff"])
    url, code = f"/api/v1/orders/{oid}/handover", {"pickup_code": body["pickup_code"]}
    first = client.post(url, json=code, headers=store_world["staff"])
    again = client.post(url, json=code, headers=store_world["staff"])
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.get_json()["status"] == "picked_up"
    mug = db.session.get(Stock, (store_world["store"].id, store_world["p"]["MUG"].id))
    db.session.refresh(mug)
    assert (mug.on_hand, mug.reserved) == (8, 0)  # taken out once
    wrong = "000000" if body["pickup_code"] != "000000" else "111111"
    assert_problem(client.post(url, json={"pickup_code": wrong}, headers=store_world["staff"]),
                   409, "illegal_transition")
    assert_problem(client.post(url, json=code, headers=store_world["other_staff"]), 404, "order_not_found")
    assert_stock_invariants()
