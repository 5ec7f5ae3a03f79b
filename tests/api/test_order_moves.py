"""What each move of an order leaves behind: its history row, what a refusal tells the caller, the signal."""

from __future__ import annotations

import datetime as dt

from shop.core import events
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order, OrderEvent
from tests.support import factories as f
from tests.support.api import sign_in
from tests.support.orders import cart_for, checkout
from tests.support.problems import assert_problem
from tests.support.signals import captured


def _placed(client, world) -> dict:
    resp = checkout(client, cart_for(client, world["store"]))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _history(order_id: int) -> list[tuple]:
    rows = db.session.scalars(db.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    return [(e.type, e.from_status, e.to_status, e.actor_type, e.channel) for e in rows]


def test_each_move_records_from_where_to_where_and_who(client, store_world):
    body = _placed(client, store_world)
    oid = body["order"]["id"]
    assert client.post(f"/api/v1/orders/{oid}/picking", headers=store_world["staff"]).status_code == 200
    cancelled = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "Damaged stock"},
                            headers=store_world["staff"])
    assert cancelled.status_code == 200
    assert _history(oid) == [
        ("created", None, "placed", "guest", "web"),
        ("start_picking", "placed", "picking", "staff", "store"),
        ("cancel", "picking", "cancelled", "staff", "store"),
    ]
    staff_events = db.session.scalars(db.select(OrderEvent).where(OrderEvent.actor_type == "staff")).all()
    assert {e.actor_id for e in staff_events} == {store_world["staff_user"].id}
    assert staff_events[-1].detail == {"reason": "Damaged stock"}


def test_a_move_the_system_makes_is_recorded_as_the_systems(client, store_world, monkeypatch):
    oid = _placed(client, store_world)["order"]["id"]
    for path in ("picking", "ready"):
        assert client.post(f"/api/v1/orders/{oid}/{path}", headers=store_world["staff"]).status_code == 200
    deadline = db.session.get(Order, oid).pickup_deadline
    monkeypatch.setattr(clock, "now", lambda: deadline + dt.timedelta(minutes=1))
    assert order_sweeps.expire_no_shows() == 1
    db.session.commit()
    last = db.session.scalars(db.select(OrderEvent).order_by(OrderEvent.id.desc())).first()
    assert (last.type, last.from_status, last.to_status, last.actor_type, last.actor_id, last.channel) == (
        "expire", "ready_for_pickup", "expired", "system", None, "web")


def test_the_customer_timeline_shows_each_move(client, store_world):
    f.user(email="ann@example.com", password="ann-password")
    db.session.commit()
    ann = sign_in(client)
    resp = checkout(client, cart_for(client, store_world["store"], headers=ann, email=None), headers=ann)
    order = resp.get_json()["order"]
    assert client.post(f"/api/v1/orders/{order['id']}/picking", headers=store_world["staff"]).status_code == 200
    items = client.get("/api/v1/me/timeline", headers=ann).get_json()["items"]
    picking = [i for i in items if i["type"] == "order.start_picking"]
    assert [(i["channel"], i["summary"], i["reference"]) for i in picking] == [
        ("store", f"Order {order['number']}: start picking (picking)", f"order:{order['id']}")]


def test_a_ready_message_carries_everything_a_message_needs(client, app, store_world):
    customer = f.user(email="ann@example.com", password="ann-password")
    db.session.commit()
    ann = sign_in(client)
    cart_id = cart_for(client, store_world["store"], headers=ann, email=None)
    body = checkout(client, cart_id, headers=ann, phone="+14155550123", sms_updates=True).get_json()
    oid = body["order"]["id"]
    client.post(f"/api/v1/orders/{oid}/picking", headers=store_world["staff"])
    with captured(events.order_ready, sender=app) as sent:
        assert client.post(f"/api/v1/orders/{oid}/ready", headers=store_world["staff"]).status_code == 200
    order = db.session.get(Order, oid)
    db.session.refresh(order)
    expected = {
        "order_id": oid, "number": body["order"]["number"], "status": "ready_for_pickup",
        "customer_id": customer.id, "email": "ann@example.com", "phone": "+14155550123", "sms_updates": True,
        "store_id": store_world["store"].id, "total": 2900, "currency": "USD", "access_token": body["order_token"],
        "promised_at": order.promised_at.isoformat(), "pickup_deadline": order.pickup_deadline.isoformat(),
        "pickup_code": body["pickup_code"], "reason": None,
    }
    # Exactly one signal, carrying at least these (messages add store details, lines and amounts).
    assert len(sent) == 1
    assert {key: sent[0].get(key) for key in expected} == expected


def test_a_move_the_caller_may_not_make_says_what_the_order_is_and_what_it_allows(client, store_world):
    body = _placed(client, store_world)
    oid = body["order"]["id"]
    client.post(f"/api/v1/orders/{oid}/picking", headers=store_world["staff"])
    refused = client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers={"X-Order-Token": body["order_token"]})
    problem = assert_problem(refused, 403, "move_not_allowed")
    assert problem["status_now"] == "picking" and problem["allowed"] == ["cancel", "ready"]
    assert "may not cancel an order that is picking" in problem["detail"]
    wrong_step = assert_problem(client.post(f"/api/v1/orders/{oid}/handover", json={"pickup_code": "000000"},
                                            headers=store_world["staff"]), 409, "illegal_transition")
    assert "cannot hand over" in wrong_step["detail"]


def test_a_cancellation_is_announced_by_the_app_with_its_reason(client, app, store_world):
    body = _placed(client, store_world)
    with captured(events.order_cancelled, sender=app) as sent:
        client.post(f"/api/v1/orders/{body['order']['id']}/cancel", json={"reason": "Damaged stock"},
                    headers=store_world["staff"])
    assert [(m["number"], m["status"], m["reason"]) for m in sent] == [
        (body["order"]["number"], "cancelled", "Damaged stock")]
