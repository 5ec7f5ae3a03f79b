"""The pickup code is the shopper's to show at the counter: on their order whenever they look, and
in no response to staff, who must ask the shopper for it."""

from __future__ import annotations

import re

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.orders import cart_for, checkout


def place(client, world, headers=None, email="guest@example.com"):
    resp = checkout(client, cart_for(client, world["store"], headers=headers, email=email), headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def assert_code_shown(order: dict, placed: dict) -> None:
    assert order["pickup_code"] == placed["pickup_code"]
    assert order["pickup_qr"] == placed["pickup_qr"] == f"omnishop:pickup:{order['number']}:{order['pickup_code']}"


def assert_code_hidden(resp, code: str) -> None:
    text = resp.get_data(as_text=True)
    assert resp.status_code < 500, text
    assert not re.search(r'"pickup_(code|qr)"\s*:', text) and "omnishop:pickup:" not in text, text
    assert f'"{code}"' not in text, text


def test_a_guest_sees_the_code_on_their_order_each_time_they_look(client, store_world):
    placed = place(client, store_world)
    token = {"X-Order-Token": placed["order_token"]}
    for _ in range(2):
        assert_code_shown(client.get(f"/api/v1/orders/{placed['order']['id']}", headers=token).get_json(), placed)


def test_a_customer_sees_the_code_on_the_order_and_in_their_orders(client, store_world):
    ann = f.user(email="ann@example.com")
    headers = f.bearer(ann)
    placed = place(client, store_world, headers=headers, email=None)
    assert_code_shown(client.get(f"/api/v1/orders/{placed['order']['id']}", headers=headers).get_json(), placed)
    mine = client.get("/api/v1/me/orders", headers=headers).get_json()
    assert len(mine) == 1
    assert_code_shown(mine[0], placed)


def test_staff_never_see_the_code_in_any_response(client, store_world):
    ann = f.user(email="ann@example.com")
    db.session.commit()
    placed = place(client, store_world, headers=f.bearer(ann), email=None)
    oid, code, staff = placed["order"]["id"], placed["pickup_code"], store_world["staff"]
    store_id, line = store_world["store"].id, placed["order"]["lines"][0]["id"]
    wrong = "000000" if code != "000000" else "111111"
    calls = [
        ("GET", f"/orders/{oid}", None),
        ("GET", f"/stores/{store_id}/orders", None),
        ("POST", f"/orders/{oid}/picking", None),
        ("PUT", f"/orders/{oid}/lines/{line}/pick", {"picked_quantity": 2}),
        ("POST", f"/orders/{oid}/ready", None),
        ("GET", f"/stores/{store_id}/orders?status=ready_for_pickup", None),
        ("POST", f"/orders/{oid}/handover", {"pickup_code": wrong}),
        ("POST", f"/orders/{oid}/handover", {"pickup_code": code}),
        ("GET", f"/orders/{oid}", None),
        ("GET", f"/customers/{ann.id}/timeline", None),
    ]
    for method, path, body in calls:
        # Staff holding the order token (read off a shopper's screen) are still staff.
        resp = client.open(f"/api/v1{path}", method=method, json=body,
                           headers={**staff, "X-Order-Token": placed["order_token"]})
        assert_code_hidden(resp, code)
    assert client.get(f"/api/v1/orders/{oid}", headers=staff).get_json()["status"] == "picked_up"
    refund = client.post(f"/api/v1/orders/{oid}/refunds", json={"lines": [{"line_id": line, "quantity": 1}],
                                                                  "restock": True},
                         headers={**staff, "Idempotency-Key": "r1"})
    assert refund.status_code == 201
    assert_code_hidden(refund, code)
    other = place(client, store_world)
    cancelled = client.post(f"/api/v1/orders/{other['order']['id']}/cancel", json={}, headers=staff)
    assert cancelled.get_json()["status"] == "cancelled"
    assert_code_hidden(cancelled, other["pickup_code"])
