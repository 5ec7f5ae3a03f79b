"""Reconciliation: what the provider did wins. A capture whose reply was lost is a handover, money
captured on a closed order goes back, and what no sweep can fix is listed for staff, logged once."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from inventory.models import Stock
from shop.accounts.actors import Actor
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.transactions import transaction
from shop.orders import payment_events as order_payments
from shop.orders import pickup
from shop.orders import queries as orders
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order, OrderEvent
from shop.orders.reconcile import reconcile
from shop.payments import gateway as payments
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import card_order, intent_of, ready_card_order


@pytest.fixture
def sc(stripe_app):
    return stripe_app


def swept(output: str) -> dict[str, int]:
    """`flask scheduler run --once`'s lines as {sweep: rows}, in the order the sweeps ran."""
    return {name: int(rows) for rows, name in re.findall(r"^\s*(\d+) (\w+) \(", output, re.MULTILINE)}


def at(monkeypatch, when: dt.datetime) -> None:
    monkeypatch.setattr(clock, "now", lambda: when)


def flagged_logs(caplog, intent_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "shop.payments.attention" and intent_id in r.getMessage()]


def order_of(order_id: int) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def mug(world) -> Stock:
    db.session.expire_all()
    return db.session.get(Stock, (world["store"].id, world["p"]["MUG"].id))


@pytest.mark.parametrize("worker_died_after", ["marking the capture", "nothing recorded"])
def test_a_capture_whose_reply_was_lost_is_a_handover_never_a_no_show(app, client, store_world, sc, monkeypatch,
                                                                      worker_died_after):
    body = ready_card_order(client, store_world, sc)
    oid, intent_id = body["order"]["id"], intent_of(body["order"]["id"])
    if worker_died_after == "marking the capture":  # the handover's first transaction committed
        staff = Actor("staff", f.user("staff", [store_world["store"]]), "store", store_world["store"].id)
        with transaction():
            assert pickup.hand_over(orders.get_order(oid, lock=True), body["pickup_code"], staff) is not None
    sc.v1.payment_intents.capture(intent_id)  # Stripe captured; the reply never came back
    at(monkeypatch, order_of(oid).pickup_deadline + dt.timedelta(hours=1))
    result = app.test_cli_runner().invoke(args=["scheduler", "run", "--once"])
    assert result.exit_code == 0, result.output
    rows = swept(result.output)
    assert list(rows).index("reconcile") < list(rows).index("expire_no_shows")
    assert (rows["reconcile"], rows["expire_no_shows"]) == (1, 0)
    order = order_of(oid)
    assert (order.status, order.captured_amount, order.payment.capture_pending) == ("picked_up", 1200, False)
    last = db.session.scalars(db.select(OrderEvent).where(OrderEvent.order_id == oid)
                              .order_by(OrderEvent.id.desc())).first()
    assert (last.type, last.actor_type) == ("hand_over", "system")
    assert (mug(store_world).on_hand, mug(store_world).reserved) == (9, 0)  # taken out, not put back
    assert sc.v1.payment_intents.retrieve(intent_id).status == "succeeded"
    assert_stock_invariants()


def test_a_ready_card_order_expires_only_after_reconciliation_saw_no_capture(client, store_world, sc, monkeypatch):
    body = ready_card_order(client, store_world, sc)
    oid = body["order"]["id"]
    at(monkeypatch, order_of(oid).pickup_deadline + dt.timedelta(minutes=1))
    assert order_sweeps.expire_no_shows() == 0  # the intent was not read since the deadline
    assert reconcile() == 1
    assert order_sweeps.expire_no_shows() == 1
    assert order_of(oid).status == "expired"
    assert sc.v1.payment_intents.retrieve(intent_of(oid)).status == "canceled"  # voided after the commit
    assert (mug(store_world).on_hand, mug(store_world).reserved) == (10, 0)
    assert_stock_invariants()


def test_money_captured_on_an_expired_order_is_refunded_and_staff_are_told_once(client, store_world, sc,
                                                                              monkeypatch, caplog):
    body = ready_card_order(client, store_world, sc)
    oid, intent_id = body["order"]["id"], intent_of(body["order"]["id"])
    sc.v1.payment_intents.capture(intent_id)  # a capture nobody recorded...
    with transaction():  # ...then expired; the void after the commit fails: the intent is captured
        order_payments.close(orders.get_order(oid, lock=True), "expire", "Not collected")
    assert order_of(oid).payment.void_pending is True
    caplog.set_level(logging.WARNING)
    at(monkeypatch, clock.now() + dt.timedelta(hours=2))
    assert reconcile() == 1
    order = order_of(oid)
    assert (order.status, order.captured_amount, order.refunded_amount) == ("expired", 1200, 1200)
    assert order.payment.status == "refunded" and "refunded" in order.payment.attention
    refunds = sc.v1.refunds.list(params={"payment_intent": intent_id})
    assert sum(r.amount for r in refunds.data) == 1200
    at(monkeypatch, clock.now() + dt.timedelta(hours=5))
    assert reconcile() == 0 and order_sweeps.retry_voids() == 0  # settled: nothing more to do
    assert len(flagged_logs(caplog, intent_id)) == 1
    listed = client.get("/api/v1/payments/attention", headers=store_world["staff"]).get_json()["items"]
    assert [(i["order_id"], i["payment_status"]) for i in listed] == [(oid, "refunded")]


def test_a_void_that_keeps_failing_is_flagged_once_and_cleared_when_it_goes_through(client, store_world, gateway,
                                                                                   monkeypatch, caplog):
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid = body["order"]["id"]
    working = gateway.cancel

    def down(*args, **kwargs):
        raise payments.PaymentProviderError("stripe down")

    monkeypatch.setattr(gateway, "cancel", down)
    client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers={"X-Order-Token": body["order_token"]})
    caplog.set_level(logging.WARNING)
    now = clock.now()
    for _ in range(order_payments.VOID_ATTEMPTS_BEFORE_ATTENTION + 2):
        now = max(now, order_of(oid).payment.next_try_at) + dt.timedelta(seconds=1)
        at(monkeypatch, now)
        assert order_sweeps.retry_voids() == 0
    payment = order_of(oid).payment
    assert payment.void_attempts == order_payments.VOID_ATTEMPTS_BEFORE_ATTENTION + 3
    assert payment.attention == order_payments.VOID_FAILING and payment.last_error == "stripe down"
    assert len(flagged_logs(caplog, payment.intent_id)) == 1
    listed = client.get("/api/v1/payments/attention", headers=store_world["staff"]).get_json()
    assert [i["order_id"] for i in listed["items"]] == [oid] and listed["items"][0]["void_attempts"] >= 8
    monkeypatch.setattr(gateway, "cancel", working)
    at(monkeypatch, order_of(oid).payment.next_try_at + dt.timedelta(seconds=1))
    assert order_sweeps.retry_voids() == 1
    assert order_of(oid).payment.attention is None
    assert client.get("/api/v1/payments/attention", headers=store_world["staff"]).get_json()["items"] == []


def test_an_authorisation_below_the_total_is_flagged_once(client, store_world, gateway, monkeypatch, caplog):
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid = body["order"]["id"]
    intent_id = order_of(oid).payment.intent_id
    short = payments.Intent(intent_id, "requires_capture", 1000, 1000, 0, None)
    order_payments.on_authorized(orders.get_order(oid, lock=True), short)
    db.session.commit()
    gateway.intents[intent_id] = short
    caplog.set_level(logging.WARNING)
    assert reconcile() == 1
    at(monkeypatch, clock.now() + dt.timedelta(hours=2))
    assert reconcile() == 1  # looked at again an hour later: the same finding, not logged again
    assert order_of(oid).payment.attention == "Authorised 1000, but the order totals 1200."
    assert len(flagged_logs(caplog, intent_id)) == 1


def test_a_lost_capture_found_after_the_stock_hold_lapsed_is_flagged_for_staff(client, store_world, sc,
                                                                               monkeypatch, caplog):
    from inventory import reservations

    body = ready_card_order(client, store_world, sc)
    oid, intent_id = body["order"]["id"], intent_of(body["order"]["id"])
    sc.v1.payment_intents.capture(intent_id)
    at(monkeypatch, clock.now() + dt.timedelta(days=10))  # past the deadline and the hold's own expiry
    assert reservations.release_expired() == 1
    db.session.commit()
    caplog.set_level(logging.WARNING)
    assert reconcile() == 1
    order = order_of(oid)
    assert order.status == "ready_for_pickup" and order.captured_amount == 1200
    assert order.payment.attention.startswith("Captured at the provider, but the handover could not be completed")
    assert len(flagged_logs(caplog, intent_id)) == 1
    assert order_sweeps.expire_no_shows() == 0  # captured: never expired (and refunded) as a no-show
    assert_stock_invariants()
