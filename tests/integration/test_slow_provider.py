"""No provider call while a row lock is held: with Stripe's reply held back, a hold on the same SKU
(and a cancel of the same order) is answered before Stripe answers. PostgreSQL, real threads."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order
from shop.orders.refunds_in_flight import settle_refunds
from shop.payments import attention
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import authorize, card_order, cart_for, checkout, intent_of, ready_card_order, stripe_client
from tests.support.problems import assert_problem
from tests.support.refunds import handed_over, order_of, past_grace, refund_killed, refund_one, stripe_refunds

pytestmark = pytest.mark.postgres


@pytest.fixture
def sc(localstripe_url):
    return stripe_client(localstripe_url, "sk_test_slow")


def hold_mug(wide_app, world):
    client = wide_app.test_client()
    return client.post(f"/api/v1/stores/{world['store'].id}/reservations",
                       json={"lines": [{"sku": "MUG", "quantity": 1}]}, headers=world["staff"])


def while_stripe_waits(gate, slow_call, *checks):
    """Start `slow_call` in a thread; once its Stripe call is held at the gate, run `checks` and note
    whether each was answered while the gate was still shut; then let Stripe answer."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(slow_call)
        try:
            assert gate.arrived.wait(30), "the call never reached Stripe"
            answers = [(check(), not gate.is_open) for check in checks]
        finally:
            gate.open()
        return pending.result(), answers


def test_a_card_checkout_waiting_for_stripe_locks_no_stock(store_world, slow_stripe, wide_app):
    cart_id = cart_for(wide_app.test_client(), store_world["store"], lines=(("MUG", 1),))
    gate = slow_stripe.hold("POST", "/v1/payment_intents")
    placed, [(hold, in_time)] = while_stripe_waits(
        gate, lambda: checkout(wide_app.test_client(), cart_id, payment_method="card"),
        lambda: hold_mug(wide_app, store_world))
    assert hold.status_code == 201 and in_time, "the hold waited for Stripe"
    assert placed.status_code == 201, placed.get_json()
    assert_stock_invariants()


def test_a_cancel_voids_after_its_commit(store_world, slow_stripe, wide_app, sc):
    client = wide_app.test_client()
    body = card_order(client, store_world, lines=(("MUG", 1),))
    authorize(client, sc, body["order"]["id"])
    gate = slow_stripe.hold("POST", "/cancel")
    cancelled, [(hold, in_time)] = while_stripe_waits(
        gate, lambda: wide_app.test_client().post(f"/api/v1/orders/{body['order']['id']}/cancel", json={},
                                                  headers={"X-Order-Token": body["order_token"]}),
        lambda: hold_mug(wide_app, store_world))
    assert hold.status_code == 201 and in_time, "the hold waited for Stripe's void"
    assert cancelled.get_json()["status"] == "cancelled"
    assert sc.v1.payment_intents.retrieve(intent_of(body["order"]["id"])).status == "canceled"
    assert db.session.get(Order, body["order"]["id"]).payment.void_pending is False
    assert_stock_invariants()


def test_the_unpaid_sweep_voids_after_each_commit(store_world, slow_stripe, wide_app, monkeypatch):
    body = card_order(wide_app.test_client(), store_world, lines=(("MUG", 1),))
    later = clock.now() + dt.timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    gate = slow_stripe.hold("POST", "/cancel")

    def sweep():
        with wide_app.app_context():
            try:
                return order_sweeps.expire_unpaid()
            finally:
                db.session.remove()

    swept, [(hold, in_time)] = while_stripe_waits(gate, sweep, lambda: hold_mug(wide_app, store_world))
    assert hold.status_code == 201 and in_time, "the hold waited for the sweep's void"
    assert swept == 1
    db.session.expire_all()
    assert db.session.get(Order, body["order"]["id"]).status == "expired"
    assert_stock_invariants()


def test_a_handover_captures_with_no_lock_held(store_world, slow_stripe, wide_app, sc):
    client = wide_app.test_client()
    body = ready_card_order(client, store_world, sc)
    oid = body["order"]["id"]
    gate = slow_stripe.hold("POST", "/capture")
    done, [(hold, hold_in_time), (cancel, cancel_in_time)] = while_stripe_waits(
        gate, lambda: wide_app.test_client().post(f"/api/v1/orders/{oid}/handover",
                                                  json={"pickup_code": body["pickup_code"]},
                                                  headers=store_world["staff"]),
        lambda: hold_mug(wide_app, store_world),
        lambda: wide_app.test_client().post(f"/api/v1/orders/{oid}/cancel", json={}, headers=store_world["staff"]))
    assert hold.status_code == 201 and hold_in_time, "the hold waited for the capture"
    assert cancel_in_time, "the cancel waited on the order's lock during the capture"
    assert_problem(cancel, 409, "capture_in_progress")
    assert done.status_code == 200 and done.get_json()["status"] == "picked_up", done.get_json()
    assert sc.v1.payment_intents.retrieve(intent_of(oid)).status == "succeeded"
    assert_stock_invariants()


def test_a_refund_calls_stripe_with_no_lock_on_the_order(store_world, slow_stripe, wide_app, sc):
    client = wide_app.test_client()
    body = ready_card_order(client, store_world, sc)
    oid, staff = body["order"]["id"], store_world["staff"]
    handed = client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": body["pickup_code"]}, headers=staff)
    assert handed.get_json()["status"] == "picked_up"
    order = db.session.get(Order, oid)
    attention.flag(order.payment, "Looked odd to the clerk")
    db.session.commit()
    payment_id, line = order.payment.id, body["order"]["lines"][0]["id"]

    def refund(key: str):
        return wide_app.test_client().post(f"/api/v1/orders/{oid}/refunds", headers={**staff, "Idempotency-Key": key},
                                           json={"lines": [{"line_id": line, "quantity": 1}], "restock": True})

    gate = slow_stripe.hold("POST", "/v1/refunds")
    done, [(other, other_in_time), (resolved, resolved_in_time)] = while_stripe_waits(
        gate, lambda: refund("refund-a"),
        lambda: refund("refund-b"),
        lambda: wide_app.test_client().post(f"/api/v1/payments/attention/{payment_id}/resolution",
                                            json={"note": "Checked with the shopper."}, headers=staff))
    assert other_in_time, "a second refund waited on the order's lock during Stripe's refund"
    assert_problem(other, 409, "refund_in_progress")  # told at once, not refunded twice
    assert resolved_in_time and resolved.status_code == 200, "resolving an item of the order waited for Stripe"
    assert done.status_code == 201, done.get_json()
    assert done.get_json() == {"amount": 1200, "currency": "USD", "refunded_total": 1200, "restocked": True}
    again = refund("refund-a")  # a retry whose reply was lost: the same reply, nothing refunded again
    assert again.status_code == 201 and again.data == done.data
    assert [r.amount for r in sc.v1.refunds.list(params={"payment_intent": intent_of(oid)}).data] == [1200]
    db.session.expire_all()
    order = db.session.get(Order, oid)
    assert order.refunded_amount == 1200 and order.payment.refund_pending is None
    assert_stock_invariants()


def test_settling_a_refund_left_in_flight_asks_stripe_with_no_lock_and_once(app, store_world, slow_stripe, wide_app,
                                                                          sc, monkeypatch):
    client = wide_app.test_client()
    oid, line = handed_over(client, store_world, sc)
    refund_killed(client, store_world, oid, line, monkeypatch, after_stripe=True)
    past_grace(app, monkeypatch)

    def sweep():
        with wide_app.app_context():
            return settle_refunds()

    gate = slow_stripe.hold("GET", "/v1/refunds")
    settled, [(second, second_in_time), (other, other_in_time)] = while_stripe_waits(
        gate, sweep, sweep, lambda: refund_one(wide_app.test_client(), store_world, oid, line, "r-2"))
    assert second_in_time and second == 0, "a second run took the refund being settled"
    assert other_in_time, "a refund request waited on the order's lock while the sweep asked Stripe"
    assert_problem(other, 409, "refund_in_progress")
    assert settled == 1
    order = order_of(oid)
    assert (order.refunded_amount, order.payment.refund_pending) == (1200, None)
    assert [r.amount for r in stripe_refunds(sc, oid)] == [1200]
    assert_stock_invariants()
