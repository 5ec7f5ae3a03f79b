"""Drive a pickup order over HTTP to where a test needs it: placed, ready."""

from __future__ import annotations

from tests.support.orders import cart_for, checkout


def place(client, world, headers=None, **body) -> dict:
    email = body.pop("email", "guest@example.com")
    resp = checkout(client, cart_for(client, world["store"], headers=headers, email=email), headers=headers, **body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def make_ready(client, world, order_id: int) -> dict:
    for step in ("picking", "ready"):
        resp = client.post(f"/api/v1/orders/{order_id}/{step}", json={}, headers=world["staff"])
        assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def ready_order(client, world, **body) -> dict:
    placed = place(client, world, **body)
    make_ready(client, world, placed["order"]["id"])
    return placed


def picked_up(client, world, lines, headers=None, email="guest@example.com") -> dict:
    """An order of these lines at the world's store, placed (pay at store), picked and handed over."""
    resp = checkout(client, cart_for(client, world["store"], lines=lines, headers=headers, email=email),
                    headers=headers)
    assert resp.status_code == 201, resp.get_json()
    placed = resp.get_json()
    make_ready(client, world, placed["order"]["id"])
    resp = client.post(f"/api/v1/orders/{placed['order']['id']}/handover", json={"pickup_code": placed["pickup_code"]},
                       headers=world["staff"])
    assert resp.status_code == 200 and resp.get_json()["status"] == "picked_up", resp.get_json()
    return placed
