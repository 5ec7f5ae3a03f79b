"""Helpers for cart tests: sign in, add a line, read a problem's code, count a cart's events."""

from __future__ import annotations

from shop.carts.models import CartEvent
from shop.core.extensions import db

PROBLEM = "application/problem+json"


def sign_in(client, email: str, password: str) -> dict:
    resp = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}


def add(client, cart_id: str, sku: str, quantity: int, headers: dict | None = None):
    return client.post(f"/api/v1/carts/{cart_id}/lines", json={"sku": sku, "quantity": quantity},
                       headers=headers or {})


def problem(resp) -> tuple[int, str]:
    """(status, code) of an error answer, which must be problem+json."""
    assert resp.mimetype == PROBLEM, (resp.status_code, resp.get_data(as_text=True))
    return resp.status_code, resp.get_json()["code"]


def events_of(cart_id: str) -> int:
    return db.session.scalar(db.select(db.func.count(CartEvent.id)).where(CartEvent.cart_id == cart_id))
