"""Helpers for the counter screen's tests: sign in through the form, read the page's CSRF token,
call the tablet's endpoints as its script does."""

from __future__ import annotations

import re

import pytest

from shop.core.extensions import db
from tests.support import factories as f

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str = "password-123", next_: str | None = None):
    """Sign in through the form, as a person would: the form's token, then the post."""
    token = csrf_of(client.get("/tablet/sign-in").get_data(as_text=True))
    data = {"email": email, "password": password, "csrf_token": token}
    if next_:
        data["next"] = next_
    return client.post("/tablet/sign-in", data=data)


def page_token(client, code: str) -> str:
    return csrf_of(client.get(f"/stores/{code}/tablet").get_data(as_text=True))


def step(client, code: str, order_id: int, action: str, body: dict | None = None, token: str | None = "auto"):
    """POST a step as the page's script does (JSON, X-CSRF-Token); token=None sends none."""
    headers = {"X-Requested-With": "fetch"}
    if token == "auto":
        token = page_token(client, code)
    if token is not None:
        headers["X-CSRF-Token"] = token
    return client.post(f"/stores/{code}/tablet/orders/{order_id}/{action}", json=body or {}, headers=headers)


PASSWORD = "password-123"


@pytest.fixture
def tablet_world(app):
    """Store NYC (MUG x10, TEA x4) with its clerk, store CHI with its own clerk, a clerk of both,
    and an admin who unlocks as the manager. Sign-ins by email with PASSWORD."""
    store = f.store(code="NYC", name="Omnishop SoHo", hold_days=2, prep_lead_minutes=30)
    products = {"MUG": f.product(sku="MUG", price=1200, name="Ceramic Mug"),
                "TEA": f.product(sku="TEA", price=500, name="Tea")}
    f.stock(store, products["MUG"], 10)
    f.stock(store, products["TEA"], 4)
    other = f.store(code="CHI", name="Omnishop Loop")
    f.user("staff", [store], email="clerk@example.com")
    f.user("staff", [other], email="chicago@example.com")
    f.user("staff", [store, other], email="both@example.com")
    f.user("admin", email="manager@example.com")
    db.session.commit()
    return {"store": store, "other": other, "p": products}
