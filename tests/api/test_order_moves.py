"""What each move of an order leaves behind: its history row, what a refusal tells the caller, the signal."""

from __future__ import annotations

from shop.core import events
from shop.core.extensions import db
from shop.orders.models import OrderEvent
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
    staff_ids = {e.actor_id for e in db.session.scalars(db.select(OrderEvent).where(OrderEvent.actor_type == "staff"))}
    assert len(staff_ids) == 1 and None not in staff_ids


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
