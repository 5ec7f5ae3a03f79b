"""Card orders against localstripe over HTTP: authorise, capture (full and partial), cancel, refund,
decline; and webhooks: signature, staleness, duplicates, out-of-order delivery."""

from __future__ import annotations

import time

from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order
from shop.payments.models import WebhookEvent
from tests.support.invariants import assert_stock_invariants, payment_mismatch, payment_mismatches
from tests.support.orders import (
    authorize,
    card_order,
    intent_of,
    pay,
    post_event,
    signed_event,
)
from tests.support.problems import assert_problem


def status(order_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def staff(client, world, path, body=None):
    return client.post(f"/api/v1{path}", json=body or {}, headers=world["staff"])


def test_full_story_card_short_pick_partial_capture(client, store_world, stripe_app):
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    assert body["order"]["status"] == "pending_payment"
    assert body["payment"]["client_secret"] and body["payment"]["amount"] == 2900
    authorize(client, stripe_app, oid)
    assert status(oid) == "placed"
    staff(client, store_world, f"/orders/{oid}/picking")
    tea = body["order"]["lines"][1]["id"]
    client.put(f"/api/v1/orders/{oid}/lines/{tea}/pick", json={"picked_quantity": 0}, headers=store_world["staff"])
    staff(client, store_world, f"/orders/{oid}/ready")
    assert_problem(staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": "999999"
                                                                           if body["pickup_code"] != "999999"
                                                                           else "000000"}),
                   422, "wrong_pickup_code")
    done = staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]}).get_json()
    assert done["status"] == "picked_up" and done["captured_amount"] == 2400
    intent = stripe_app.v1.payment_intents.retrieve(intent_of(oid))
    assert intent.status == "succeeded"
    charge = intent.latest_charge if not isinstance(intent.latest_charge, str) else \
        stripe_app.v1.charges.retrieve(intent.latest_charge)
    # localstripe models a partial capture as capture + refund of the rest.
    assert charge.amount - charge.amount_refunded == 2400
    assert payment_mismatches(stripe_app) == []
    assert_stock_invariants()


def test_refund_goes_through_stripe_and_never_exceeds_the_capture(client, store_world, stripe_app):
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid = body["order"]["id"]
    authorize(client, stripe_app, oid)
    for path in ("picking", "ready"):
        staff(client, store_world, f"/orders/{oid}/{path}")
    staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    line = body["order"]["lines"][0]["id"]
    headers = {**store_world["staff"], "Idempotency-Key": "r1"}
    refund = client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                                 "restock": False}, headers=headers)
    assert refund.get_json()["amount"] == 1200
    refunds = stripe_app.v1.refunds.list(params={"payment_intent": intent_of(oid)})
    assert sum(r.amount for r in refunds.data) == 1200
    again = client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                                "restock": False},
                        headers={**store_world["staff"], "Idempotency-Key": "r2"})
    assert_problem(again, 422, "refund_too_many")
    assert payment_mismatches(stripe_app) == []


def test_cancel_voids_the_authorisation_and_releases_stock(client, store_world, stripe_app):
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    authorize(client, stripe_app, oid)
    resp = client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers={"X-Order-Token": body["order_token"]})
    assert resp.get_json()["status"] == "cancelled"
    assert stripe_app.v1.payment_intents.retrieve(intent_of(oid)).status == "canceled"
    assert payment_mismatches(stripe_app) == []
    assert_stock_invariants()


def test_declined_card_keeps_the_order_waiting_with_the_reason(client, store_world, stripe_app):
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    obj = pay(stripe_app, intent_of(oid), card="pm_card_chargeCustomerFail")
    assert obj["status"] == "requires_payment_method"
    post_event(client, "payment_intent.payment_failed", obj)
    order = client.get(f"/api/v1/orders/{oid}", headers={"X-Order-Token": body["order_token"]}).get_json()
    assert order["status"] == "pending_payment" and "declined" in order["payment_error"]
    # (Retrying with another card is not modelled by localstripe: it refuses to update the intent.)


def test_unpaid_card_orders_expire_and_release_stock(client, store_world, stripe_app, monkeypatch):
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    expires = db.session.get(Order, oid).payment_expires_at
    monkeypatch.setattr(clock, "now", lambda: expires)
    assert order_sweeps.expire_unpaid() == 1
    db.session.commit()
    assert status(oid) == "expired"
    assert stripe_app.v1.payment_intents.retrieve(intent_of(oid)).status == "canceled"
    assert payment_mismatches(stripe_app) == []
    assert_stock_invariants()


def test_a_payment_out_of_step_with_stripe_is_named(client, store_world, stripe_app):
    """The invariant can fail: money Stripe took that the order does not show, and an order the
    shop calls paid at the store although it has a card payment, are each named."""
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid = body["order"]["id"]
    authorize(client, stripe_app, oid)
    assert payment_mismatch(stripe_app, oid) is None
    stripe_app.v1.payment_intents.capture(intent_of(oid))  # Stripe captured; the shop never heard
    assert payment_mismatch(stripe_app, oid) == f"order {oid}: payment requires_capture, intent succeeded"
    db.session.get(Order, oid).payment_method = "pay_at_store"
    db.session.commit()
    assert f"order {oid}: paid by pay_at_store with payment" in " ".join(payment_mismatches())


def test_webhook_signature_and_staleness(client, store_world, stripe_app):
    body = card_order(client, store_world)
    obj = pay(stripe_app, intent_of(body["order"]["id"]))
    bad = post_event(client, "payment_intent.amount_capturable_updated", obj, secret="whsec_wrong")
    assert_problem(bad, 400, "bad_signature")
    stale = post_event(client, "payment_intent.amount_capturable_updated", obj, timestamp=int(time.time()) - 3600)
    assert_problem(stale, 400, "bad_signature")
    payload, headers = signed_event("payment_intent.amount_capturable_updated", obj)
    tampered = client.post("/api/v1/webhooks/stripe", data=payload.replace("requires_capture", "succeeded"),
                           headers=headers)
    assert_problem(tampered, 400, "bad_signature")
    assert status(body["order"]["id"]) == "pending_payment"
    assert db.session.scalar(db.select(db.func.count(WebhookEvent.id))) == 0


def test_a_duplicate_event_has_no_effect(client, store_world, stripe_app):
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    obj = pay(stripe_app, intent_of(oid))
    first = post_event(client, "payment_intent.amount_capturable_updated", obj, event_id="evt_same")
    client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers={"X-Order-Token": body["order_token"]})
    again = post_event(client, "payment_intent.amount_capturable_updated", obj, event_id="evt_same")
    assert first.get_json() == {"status": "processed"} and again.get_json() == {"status": "duplicate"}
    assert status(oid) == "cancelled"


def test_out_of_order_events_end_in_the_right_state(client, store_world, stripe_app):
    # Cancelled at Stripe, but the authorisation event arrives after the cancellation event.
    body = card_order(client, store_world)
    oid = body["order"]["id"]
    authorised = pay(stripe_app, intent_of(oid))
    cancelled = stripe_app.v1.payment_intents.cancel(intent_of(oid)).to_dict()
    post_event(client, "payment_intent.canceled", cancelled)
    post_event(client, "payment_intent.amount_capturable_updated", authorised)
    assert status(oid) == "cancelled"
    # A failure that arrives after a later success changes nothing.
    second = card_order(client, store_world, lines=(("MUG", 1),))
    sid = second["order"]["id"]
    ok = authorize(client, stripe_app, sid)
    post_event(client, "payment_intent.payment_failed", {**ok, "status": "requires_payment_method"})
    assert status(sid) == "placed"
    assert_stock_invariants()


def test_capture_failure_leaves_the_order_ready_and_a_retry_is_safe(client, store_world, stripe_app):
    body = card_order(client, store_world, lines=(("MUG", 1),))
    oid = body["order"]["id"]
    authorize(client, stripe_app, oid)
    for path in ("picking", "ready"):
        staff(client, store_world, f"/orders/{oid}/{path}")
    real_base = client.application.config["STRIPE_API_BASE"]
    client.application.config["STRIPE_SECRET_KEY"] = "sk_test_down"  # a new gateway...
    client.application.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # ...that reaches nothing
    try:
        failed = staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    finally:
        client.application.config.update(STRIPE_SECRET_KEY="sk_test_omnishop", STRIPE_API_BASE=real_base)
    assert_problem(failed, 502, "capture_failed")
    order = db.session.get(Order, oid)
    db.session.refresh(order)
    assert order.status == "ready_for_pickup" and "Capture failed" in order.payment_error
    assert "127.0.0.1" not in order.payment_error and "port" not in order.payment_error  # our words only
    done = staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    assert done.get_json()["status"] == "picked_up"
    # The same handover again (its reply was lost): answered with the handover made, nothing twice.
    again = staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    assert again.status_code == 200 and again.get_json() == done.get_json()
    wrong = "000000" if body["pickup_code"] != "000000" else "111111"
    assert_problem(staff(client, store_world, f"/orders/{oid}/handover", {"pickup_code": wrong}),
                   409, "illegal_transition")
    assert_stock_invariants()
