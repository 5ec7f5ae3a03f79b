"""Helpers for the counter screen's tests: sign in through the form, read the page's CSRF token,
call the tablet's endpoints as its script does."""

from __future__ import annotations

import re

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
