"""Pickup orders paid at the store: checkout, the staff flow, the state machine, cancellations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from inventory.models import LedgerEntry, Stock
from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order, OrderEvent
from tests.support.api import sign_in
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.signals import captured


def stock_of(world, sku):
    return db.session.get(Stock, (world["store"].id, world["p"][sku].id))


def placed(client, world, **kw):
    resp = checkout(client, cart_for(client, world["store"], **kw))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def staff_post(client, world, path, body=None, who="staff"):
    return client.post(f"/api/v1{path}", json=body or {}, headers=world[who])


def test_checkout_reserves_prices_and_converts_the_cart(client, store_world):
    cart_id = cart_for(client, store_world["store"])
    resp = checkout(client, cart_id)
    assert resp.status_code == 201
    body = resp.get_json()
    order = body["order"]
    assert order["status"] == "placed" and order["pickup_store_id"] == store_world["store"].id
    assert order["total"] == 2 * 1200 + 500 and order["currency"] == "USD"
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("MUG", 2), ("TEA", 1)]
    assert len(body["pickup_code"]) == 6 and body["pickup_qr"].endswith(body["pickup_code"])
    assert body["payment"] == {"method": "pay_at_store", "status": "due_at_pickup", "amount": 2900,
                               "currency": "USD", "client_secret": None}
    assert stock_of(store_world, "MUG").reserved == 2
    assert_problem(client.get(f"/api/v1/carts/{cart_id}"), 409, "cart_converted")
    promised = dt.datetime.fromisoformat(order["promised_at"])
    assert promised - dt.datetime.fromisoformat(order["created_at"]) > dt.timedelta(minutes=29)


def test_replay_returns_the_first_reply_and_creates_nothing(client, store_world):
    cart_id = cart_for(client, store_world["store"])
    first = checkout(client, cart_id, key="key-1")
    again = checkout(client, cart_id, key="key-1")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 1
    other = checkout(client, cart_id, key="key-1", email="other@example.com")
    assert_problem(other, 422, "idempotency_key_reused")
    assert_problem(client.post(f"/api/v1/carts/{cart_id}/checkout", json={"payment_method": "pay_at_store"}),
                   428, "idempotency_key_required")


@pytest.mark.parametrize("setup, body, code", [
    ({"lines": ()}, {}, "cart_empty"),
    ({"email": None}, {}, "email_required"),
    ({}, {"phone": "+14155550123"}, "sms_choice_required"),
    ({}, {"payment_method": "card"}, "card_unavailable"),
    ({}, {"payment_method": "cash"}, "validation_error"),
    ({}, {"phone": "123"}, "validation_error"),
])
def test_checkout_refusals_change_nothing(client, store_world, setup, body, code):
    cart_id = cart_for(client, store_world["store"], **setup)
    assert_problem(checkout(client, cart_id, **body), 422, code)
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 0
    assert stock_of(store_world, "MUG").reserved == 0
    assert client.get(f"/api/v1/carts/{cart_id}").get_json()["status"] == "active"


def test_short_stock_is_one_409_listing_every_short_line(client, store_world):
    cart_id = cart_for(client, store_world["store"], lines=(("MUG", 11), ("TEA", 5)))
    body = assert_problem(checkout(client, cart_id), 409, "insufficient_stock")
    assert [s["sku"] for s in body["short"]] == ["MUG", "TEA"]
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 0


def test_store_flow_with_short_pick_wrong_codes_and_handover(client, store_world, monkeypatch):
    body = placed(client, store_world)
    order, code = body["order"], body["pickup_code"]
    oid = order["id"]
    queue = client.get(f"/api/v1/stores/{store_world['store'].id}/orders", headers=store_world["staff"]).get_json()
    assert [o["number"] for o in queue] == [order["number"]]
    assert staff_post(client, store_world, f"/orders/{oid}/picking").get_json()["status"] == "picking"
    mug, tea = order["lines"]
    picked = client.put(f"/api/v1/orders/{oid}/lines/{mug['id']}/pick", json={"picked_quantity": 1},
                        headers=store_world["staff"]).get_json()
    assert picked["total"] == 1200 + 500
    assert stock_of(store_world, "MUG").reserved == 1  # the missing unit is free again
    ready = staff_post(client, store_world, f"/orders/{oid}/ready").get_json()
    assert ready["status"] == "ready_for_pickup"
    deadline = dt.datetime.fromisoformat(ready["pickup_deadline"]).astimezone(ZoneInfo("America/New_York"))
    assert deadline.time() == dt.time(21, 0)  # closing time, in the store's zone
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        resp = staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": wrong})
        assert assert_problem(resp, 422, "wrong_pickup_code")["attempts_left"] == left
    assert_problem(staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": wrong}),
                   422, "wrong_pickup_code")
    locked = staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": code})
    assert_problem(locked, 423, "pickup_locked")
    assert int(locked.headers["Retry-After"]) > 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    done = staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": code}).get_json()
    assert done["status"] == "picked_up" and done["captured_amount"] == 1700
    mug_stock = stock_of(store_world, "MUG")
    assert (mug_stock.on_hand, mug_stock.reserved) == (9, 0)
    assert stock_of(store_world, "TEA").on_hand == 3
    reasons = [e.reason for e in db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.id))]
    assert reasons.count("pickup") == 2
    assert_stock_invariants()
    moves = [e.type for e in db.session.scalars(db.select(OrderEvent).order_by(OrderEvent.id))]
    assert moves[:3] == ["created", "start_picking", "line_picked"] and moves[-1] == "hand_over"


def test_illegal_moves_are_409_naming_the_status(client, store_world):
    oid = placed(client, store_world)["order"]["id"]
    body = assert_problem(staff_post(client, store_world, f"/orders/{oid}/ready"), 409, "illegal_transition")
    assert body["status_now"] == "placed" and "start_picking" in body["allowed"]
    staff_post(client, store_world, f"/orders/{oid}/picking")
    again = assert_problem(staff_post(client, store_world, f"/orders/{oid}/picking"), 409, "illegal_transition")
    assert again["status_now"] == "picking"


def test_shopper_cancels_until_picking_staff_until_handover(client, store_world):
    body = placed(client, store_world)
    guest = {"X-Order-Token": body["order_token"]}
    oid = body["order"]["id"]
    staff_post(client, store_world, f"/orders/{oid}/picking")
    refused = client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers=guest)
    assert_problem(refused, 403, "move_not_allowed")
    cancelled = staff_post(client, store_world, f"/orders/{oid}/cancel", {"reason": "Damaged stock"})
    assert cancelled.get_json()["status"] == "cancelled"
    assert stock_of(store_world, "MUG").reserved == 0
    second = placed(client, store_world)
    ok = client.post(f"/api/v1/orders/{second['order']['id']}/cancel", json={},
                     headers={"X-Order-Token": second["order_token"]})
    assert ok.get_json()["status"] == "cancelled"
    assert_stock_invariants()


def test_who_may_read_an_order(client, store_world):
    body = placed(client, store_world)
    oid = body["order"]["id"]
    assert client.get(f"/api/v1/orders/{oid}", headers={"X-Order-Token": body["order_token"]}).status_code == 200
    assert_problem(client.get(f"/api/v1/orders/{oid}"), 401, "sign_in_required")
    assert_problem(client.get(f"/api/v1/orders/{oid}", headers={"X-Order-Token": "guess"}), 404, "order_not_found")
    assert client.get(f"/api/v1/orders/{oid}", headers=store_world["staff"]).status_code == 200
    assert_problem(client.get(f"/api/v1/orders/{oid}", headers=store_world["other_staff"]), 404, "order_not_found")
    assert_problem(staff_post(client, store_world, f"/orders/{oid}/picking", who="other_staff"),
                   404, "order_not_found")


def test_no_shows_expire_and_give_the_stock_back(client, store_world, monkeypatch):
    oid = placed(client, store_world)["order"]["id"]
    staff_post(client, store_world, f"/orders/{oid}/picking")
    staff_post(client, store_world, f"/orders/{oid}/ready")
    deadline = db.session.get(Order, oid).pickup_deadline
    monkeypatch.setattr(clock, "now", lambda: deadline - dt.timedelta(hours=2))
    assert order_sweeps.send_reminders() == 1 and order_sweeps.send_reminders() == 0
    assert order_sweeps.expire_no_shows() == 0
    monkeypatch.setattr(clock, "now", lambda: deadline + dt.timedelta(minutes=1))
    assert order_sweeps.expire_no_shows() == 1
    db.session.commit()
    assert db.session.get(Order, oid).status == "expired"
    assert stock_of(store_world, "MUG").reserved == 0
    assert order_sweeps.expire_no_shows() == 0
    assert_stock_invariants()


def test_refund_after_pickup_restocks_through_the_ledger(client, store_world):
    body = placed(client, store_world)
    oid = body["order"]["id"]
    for path in ("picking", "ready"):
        staff_post(client, store_world, f"/orders/{oid}/{path}")
    staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    mug_line = body["order"]["lines"][0]["id"]
    refund = {"lines": [{"line_id": mug_line, "quantity": 1}], "restock": True}
    headers = {**store_world["staff"], "Idempotency-Key": "refund-1"}
    first = client.post(f"/api/v1/orders/{oid}/refunds", json=refund, headers=headers)
    assert first.status_code == 201 and first.get_json()["amount"] == 1200
    assert client.post(f"/api/v1/orders/{oid}/refunds", json=refund, headers=headers).get_json() == first.get_json()
    assert stock_of(store_world, "MUG").on_hand == 9
    too_many = {"lines": [{"line_id": mug_line, "quantity": 2}], "restock": False}
    assert_problem(client.post(f"/api/v1/orders/{oid}/refunds", json=too_many,
                               headers={**store_world["staff"], "Idempotency-Key": "refund-2"}),
                   422, "refund_too_many")
    assert_stock_invariants()


def test_queue_flags_lines_a_till_sale_left_uncovered(client, store_world):
    body = placed(client, store_world, lines=(("TEA", 3),))
    sale = {"event_id": "till-1", "type": "sale", "lines": [{"sku": "TEA", "quantity": 2}]}
    assert client.post(f"/api/v1/stores/{store_world['store'].id}/stock-events", json=sale,
                       headers=store_world["staff"]).status_code == 201
    queue = client.get(f"/api/v1/stores/{store_world['store'].id}/orders?status=placed",
                       headers=store_world["staff"]).get_json()
    assert [(o["number"], o["at_risk_skus"]) for o in queue] == [(body["order"]["number"], ["TEA"])]
    assert_problem(client.get(f"/api/v1/stores/{store_world['store'].id}/orders?status=lost",
                              headers=store_world["staff"]), 422, "unknown_status")


def test_handover_answers_with_the_lines_a_till_sale_left_uncovered(client, store_world):
    """The handover's answer names the at-risk SKUs as the queue does (the ended hold's lines are
    not read again: they come back with its claim), and only those."""
    body = placed(client, store_world, lines=(("TEA", 3), ("MUG", 1)))
    oid = body["order"]["id"]
    for path in ("picking", "ready"):
        staff_post(client, store_world, f"/orders/{oid}/{path}")
    sale = {"event_id": "till-1", "type": "sale", "lines": [{"sku": "TEA", "quantity": 2}]}
    assert client.post(f"/api/v1/stores/{store_world['store'].id}/stock-events", json=sale,
                       headers=store_world["staff"]).status_code == 201
    handed = staff_post(client, store_world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    assert handed.status_code == 200 and handed.get_json()["status"] == "picked_up"
    assert handed.get_json()["at_risk_skus"] == ["TEA"]
    again = client.get(f"/api/v1/stores/{store_world['store'].id}/orders?status=picked_up",
                       headers=store_world["staff"]).get_json()
    assert [o["at_risk_skus"] for o in again] == [["TEA"]]
    assert_stock_invariants()


def test_queue_is_sorted_by_promise(client, store_world, monkeypatch):
    # Placed within opening hours (9-21 in New York), each order is promised 30 minutes later; at
    # night both would be promised for the same opening, so the times are fixed, not "now".
    local = dt.datetime.now(ZoneInfo("America/New_York"))
    two_pm = local.replace(hour=14, minute=0, second=0, microsecond=0)
    if two_pm > local:
        two_pm -= dt.timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: two_pm.astimezone(dt.UTC))
    first = placed(client, store_world, lines=(("MUG", 1),))
    monkeypatch.setattr(clock, "now", lambda: (two_pm - dt.timedelta(hours=1)).astimezone(dt.UTC))
    second = placed(client, store_world, lines=(("MUG", 1),))  # placed earlier -> promised earlier
    monkeypatch.undo()
    assert first["order"]["promised_at"] != second["order"]["promised_at"]
    queue = client.get(f"/api/v1/stores/{store_world['store'].id}/orders", headers=store_world["staff"]).get_json()
    assert [o["number"] for o in queue] == [second["order"]["number"], first["order"]["number"]]


def test_signals_carry_what_a_message_needs(client, store_world):
    from shop.core import events
    from tests.support.signals import captured

    with captured(events.order_placed) as placed_msgs, captured(events.order_ready) as ready_msgs:
        body = placed(client, store_world)
        oid = body["order"]["id"]
        staff_post(client, store_world, f"/orders/{oid}/picking")
        staff_post(client, store_world, f"/orders/{oid}/ready")
    assert placed_msgs[0]["number"] == body["order"]["number"] and placed_msgs[0]["email"] == "guest@example.com"
    ready = ready_msgs[0]
    assert ready["pickup_deadline"] and ready["pickup_code"] == body["pickup_code"]
    assert ready["access_token"] == body["order_token"] and ready["store_id"] == store_world["store"].id


def test_customer_orders_and_timeline(client, store_world):
    from tests.support import factories as f

    f.user(email="ann@example.com", password="ann-password")
    db.session.commit()
    ann = {**sign_in(client), "X-Channel": "app"}
    cart_id = cart_for(client, store_world["store"], headers=ann, email=None)
    resp = checkout(client, cart_id, headers=ann)
    assert resp.status_code == 201
    mine = client.get("/api/v1/me/orders", headers=ann).get_json()
    assert [o["number"] for o in mine] == [resp.get_json()["order"]["number"]]
    assert mine[0]["channel"] == "app"
    timeline = client.get("/api/v1/me/timeline", headers=ann).get_json()
    assert timeline["last_contact"]["type"] == "order.created"


def test_verifying_an_email_links_earlier_guest_orders_to_the_account(client, store_world):
    mine = placed(client, store_world, email="Dana@Example.com")["order"]["id"]
    theirs = placed(client, store_world, email="someone-else@example.com")["order"]["id"]
    with captured(events.email_verification_requested) as sent:
        client.post("/api/v1/customers", json={"email": "dana@example.com", "password": "dana-password",
                                               "name": "Dana"})
    dana = sign_in(client, "dana@example.com", "dana-password")
    assert client.get("/api/v1/me/orders", headers=dana).get_json() == []  # unverified: nothing linked
    assert client.get(f"/api/v1/orders/{mine}", headers=dana).status_code == 404
    client.post("/api/v1/me/email-verification", json={"token": sent[0]["token"]}, headers=dana)
    assert [o["id"] for o in client.get("/api/v1/me/orders", headers=dana).get_json()] == [mine]
    assert client.get(f"/api/v1/orders/{mine}", headers=dana).get_json()["status"] == "placed"
    assert db.session.get(Order, theirs).customer_id is None
