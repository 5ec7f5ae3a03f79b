"""Our own payment logic where localstripe is not faithful (it ignores idempotency keys and models
partial captures as capture + refund): a scripted gateway records what we ask Stripe for."""

from __future__ import annotations

import datetime as dt

from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders.models import Order
from shop.payments import gateway as payments
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.scripted_gateway import ready_card_order


def test_every_stripe_call_carries_a_stable_key_of_ours(client, store_world, gateway):
    body = ready_card_order(client, store_world, gateway)
    client.post(f"/api/v1/orders/{body['order']['id']}/handover", json={"pickup_code": body["pickup_code"]},
                headers=store_world["staff"])
    kinds = [call[0] for call in gateway.calls]
    assert kinds == ["create", "capture"]
    assert all(call[1].startswith(("pi-create-", "pi-capture-")) for call in gateway.calls)


def test_a_capture_whose_answer_was_lost_is_not_repeated(client, store_world, gateway):
    body = ready_card_order(client, store_world, gateway)
    oid = body["order"]["id"]
    gateway.fail_capture_after_success = True
    done = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]},
                       headers=store_world["staff"])
    # The capture raised, but Stripe says the intent is captured: the handover completes.
    assert done.status_code == 200 and done.get_json()["status"] == "picked_up"
    assert [c for c in gateway.calls if c[0] == "capture"] == [("capture", gateway.calls[1][1], 2400)]


def test_refunds_are_capped_at_what_was_captured(client, store_world, gateway):
    body = ready_card_order(client, store_world, gateway)
    oid = body["order"]["id"]
    client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]},
                headers=store_world["staff"])
    line = body["order"]["lines"][0]["id"]
    for key, qty in (("a", 1), ("b", 1)):
        resp = client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": qty}],
                                                                   "restock": False},
                           headers={**store_world["staff"], "Idempotency-Key": key})
        assert resp.status_code == 201
    third = client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                                "restock": False},
                        headers={**store_world["staff"], "Idempotency-Key": "c"})
    assert_problem(third, 422, "refund_too_many")
    refunds = [c for c in gateway.calls if c[0] == "refund"]
    assert sum(c[2] for c in refunds) == 2400 == db.session.get(Order, oid).captured_amount
    assert len({c[1] for c in refunds}) == 2  # distinct keys: two refunds, never one sent twice


def test_a_void_that_fails_is_retried_by_the_sweep(client, store_world, gateway, monkeypatch):
    from shop.orders import sweeps as order_sweeps

    body = checkout(client, cart_for(client, store_world["store"]), payment_method="card").get_json()
    original = gateway.cancel
    gateway.cancel = lambda *a, **k: (_ for _ in ()).throw(payments.PaymentProviderError("stripe down"))
    resp = client.post(f"/api/v1/orders/{body['order']['id']}/cancel", json={},
                       headers={"X-Order-Token": body["order_token"]})
    assert resp.get_json()["status"] == "cancelled"  # the shopper is not kept waiting on Stripe
    assert db.session.get(Order, body["order"]["id"]).payment.void_pending is True
    gateway.cancel = original
    assert order_sweeps.retry_voids() == 0  # it pauses before the next try
    later = clock.now() + dt.timedelta(minutes=3)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert order_sweeps.retry_voids() == 1
    db.session.commit()
    assert db.session.get(Order, body["order"]["id"]).payment.status == "canceled"
