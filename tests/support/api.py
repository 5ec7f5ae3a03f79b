"""Calls a client makes in many tests: signing in (setup: asserts it worked) and adding a cart line."""

from __future__ import annotations


def sign_in(client, email="ann@example.com", password="ann-password") -> dict:
    """The Authorization header of a new token for this account."""
    resp = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def add(client, cart_id, sku, qty, headers=None, **extra):
    """POST a line to a cart; the response, for the test to judge."""
    return client.post(f"/api/v1/carts/{cart_id}/lines", json={"sku": sku, "quantity": qty},
                       headers={**(headers or {}), **extra})
