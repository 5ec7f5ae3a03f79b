"""Signing in to the counter screen: the session cookie's flags, sign-out that holds even for a kept
copy of the cookie, idle sign-out the queue's refresh does not prevent, no open redirect, and a
clerk of several stores picking one (staff only, the form's token and the attempt limits, the same
for every page area: test_page_sign_in.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.accounts.models import ApiToken
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support.tablet import csrf_of, sign_in

COOKIE = "omnishop_session"


def cookie_header(resp) -> str:
    return next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))


def test_sign_in_sets_an_httponly_lax_cookie_not_secure_over_http(client, tablet_world):
    resp = sign_in(client, "clerk@example.com", next_="/stores/NYC/tablet")
    assert resp.status_code == 302 and resp.headers["Location"] == "/stores/NYC/tablet"
    header = cookie_header(resp)
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    assert client.get("/stores/NYC/tablet").status_code == 200


def test_the_cookie_is_secure_over_https(app, tablet_world):
    client = app.test_client()
    token = csrf_of(client.get("/tablet/sign-in", base_url="https://localhost").get_data(as_text=True))
    resp = client.post("/tablet/sign-in", base_url="https://localhost",
                       data={"email": "clerk@example.com", "password": "password-123", "csrf_token": token})
    assert resp.status_code == 302
    assert "; Secure" in cookie_header(resp)


def test_the_cookie_is_secure_when_the_setting_says_so(app, client, tablet_world):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        # Behind a proxy that ends TLS the request looks like HTTP; the setting still makes it Secure.
        assert "; Secure" in cookie_header(client.get("/tablet/sign-in"))
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False


def test_sign_out_ends_the_session_even_for_a_kept_copy_of_the_cookie(client, tablet_world):
    sign_in(client, "clerk@example.com")
    kept = client.get_cookie(COOKIE).value
    page = client.get("/stores/NYC/tablet").get_data(as_text=True)
    assert client.post("/tablet/sign-out", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert client.get("/stores/NYC/tablet").status_code == 302
    client.set_cookie(COOKIE, kept)
    assert client.get("/stores/NYC/tablet").status_code == 302
    assert db.session.scalar(db.select(ApiToken.revoked_at)) is not None


def test_sign_out_needs_the_token(client, tablet_world):
    sign_in(client, "clerk@example.com")
    assert client.post("/tablet/sign-out").status_code == 403
    assert client.get("/stores/NYC/tablet").status_code == 200


def test_idle_sign_out_and_the_refresh_does_not_count_as_activity(app, client, tablet_world, monkeypatch):
    idle = app.config["SESSION_IDLE_SECONDS"]
    start = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    sign_in(client, "clerk@example.com")
    for minutes in range(1, idle // 60 + 2):  # the queue refreshing on its own for longer than the limit
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + dt.timedelta(minutes=m))
        poll = client.get("/stores/NYC/tablet/queue", headers={"X-Requested-With": "fetch"})
        if poll.status_code == 401:
            break
    assert poll.status_code == 401 and poll.get_json()["code"] == "unauthorized"
    page = client.get("/stores/NYC/tablet")
    assert page.status_code == 302 and "/tablet/sign-in" in page.headers["Location"]
    assert "without activity" in client.get(page.headers["Location"]).get_data(as_text=True)


def test_activity_keeps_the_session(app, client, tablet_world, monkeypatch):
    idle = app.config["SESSION_IDLE_SECONDS"]
    start = dt.datetime.now(dt.UTC)
    monkeypatch.setattr(clock, "now", lambda: start)
    sign_in(client, "clerk@example.com")
    for step in range(1, 5):  # a person opening pages more often than the limit, for four times it
        monkeypatch.setattr(clock, "now", lambda s=step: start + dt.timedelta(seconds=s * (idle - 60)))
        assert client.get("/stores/NYC/tablet").status_code == 200


def test_the_idle_limit_is_a_setting(app, client, tablet_world, monkeypatch):
    app.config["SESSION_IDLE_SECONDS"] = 60
    try:
        start = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(clock, "now", lambda: start)
        sign_in(client, "clerk@example.com")
        monkeypatch.setattr(clock, "now", lambda: start + dt.timedelta(seconds=61))
        assert client.get("/stores/NYC/tablet").status_code == 302
    finally:
        app.config["SESSION_IDLE_SECONDS"] = 15 * 60


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example/x",
                                    "javascript:alert(1)"])
def test_next_never_leaves_the_site(client, tablet_world, target):
    resp = sign_in(client, "clerk@example.com", next_=target)
    assert resp.headers["Location"] in ("/tablet", "/stores/NYC/tablet")


def test_a_clerk_of_several_stores_picks_one(client, tablet_world):
    sign_in(client, "both@example.com")
    picker = client.get("/tablet").get_data(as_text=True)
    assert "/stores/NYC/tablet" in picker and "/stores/CHI/tablet" in picker
    assert client.get("/stores/CHI/tablet").status_code == 200
    assert client.get("/stores/NYC/tablet").status_code == 200


def test_a_clerk_of_one_store_goes_straight_to_its_counter(client, tablet_world):
    sign_in(client, "clerk@example.com")
    resp = client.get("/tablet")
    assert resp.status_code == 302 and resp.headers["Location"] == "/stores/NYC/tablet"


def test_a_deactivated_account_is_signed_out_at_once(client, tablet_world):
    sign_in(client, "clerk@example.com")
    token = db.session.scalar(db.select(ApiToken))
    token.user.active = False
    db.session.commit()
    assert client.get("/stores/NYC/tablet").status_code == 302
