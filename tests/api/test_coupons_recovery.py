"""Coupons on carts (reasons, limits, rounding) and recovery links (signed, expiring, never a sign-in)."""

from __future__ import annotations

import datetime as dt

import pytest

from shop.carts import coupons
from shop.carts.models import Coupon
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.api import add, sign_in
from tests.support.problems import assert_problem
from tests.support.signals import captured


@pytest.fixture
def market(app):
    products = {"MUG": f.product(sku="MUG", price=1299), "PEN": f.product(sku="PEN", price=199)}
    ann = f.user(email="ann@example.com", password="ann-password")
    marketer = f.user("marketing")
    db.session.commit()
    return {"p": products, "ann": ann, "marketing": f.bearer(marketer)}


def make(client, market, **body):
    payload = {"code": "SAVE10", "kind": "percent", "value": 10, **body}
    resp = client.post("/api/v1/coupons", json=payload, headers=market["marketing"])
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def cart_with(client, *lines):
    cart = client.post("/api/v1/carts", json={}).get_json()
    for sku, qty in lines:
        assert add(client, cart["id"], sku, qty).status_code == 200
    return cart["id"]


def apply(client, cart_id, code):
    return client.post(f"/api/v1/carts/{cart_id}/coupons", json={"code": code})


def test_percentage_rounds_half_up_in_minor_units(client, market):
    make(client, market, code="SAVE15", value=15)
    cart_id = cart_with(client, ("MUG", 1), ("PEN", 1))  # 1498; 15% = 224.7 -> 225
    body = apply(client, cart_id, "save15").get_json()
    assert (body["subtotal"], body["discount"], body["total"]) == (1498, 225, 1273)
    assert body["coupon"] == {"code": "SAVE15", "applied": True, "problem": None}


def test_fixed_amount_never_takes_the_total_below_zero(client, market):
    make(client, market, code="TENOFF", kind="fixed", value=1000, currency="USD")
    body = apply(client, cart_with(client, ("PEN", 2)), "TENOFF").get_json()
    assert (body["subtotal"], body["discount"], body["total"]) == (398, 398, 0)


@pytest.mark.parametrize("coupon, code", [
    ({"ends_at": "2020-01-01T00:00:00+00:00"}, "coupon_expired"),
    ({"starts_at": "2099-01-01T00:00:00+00:00"}, "coupon_not_started"),
    ({"min_subtotal": 100000}, "coupon_min_subtotal"),
    ({"kind": "fixed", "value": 500, "currency": "EUR"}, "coupon_currency"),
])
def test_unusable_coupons_say_why(client, market, coupon, code):
    make(client, market, **coupon)
    cart_id = cart_with(client, ("MUG", 1))
    assert_problem(apply(client, cart_id, "SAVE10"), 422, code)
    assert client.get(f"/api/v1/carts/{cart_id}").get_json()["coupon"] is None


def test_unknown_and_used_up_codes(client, market):
    cart_id = cart_with(client, ("MUG", 1))
    assert_problem(apply(client, cart_id, "NOPE"), 422, "coupon_unknown")
    make(client, market, code="ONCE", single_use=True)
    coupons.redeem(db.session.scalar(db.select(Coupon).where(Coupon.code == "ONCE")), 1, None, "x@y.z")
    db.session.commit()
    assert_problem(apply(client, cart_id, "ONCE"), 422, "coupon_exhausted")


def test_per_customer_limit(client, market):
    make(client, market, code="WELCOME", max_uses_per_customer=1)
    coupons.redeem(db.session.scalar(db.select(Coupon)), 1, market["ann"].id, None)
    db.session.commit()
    ann = sign_in(client)
    cart = client.get("/api/v1/me/cart", headers=ann).get_json()
    add(client, cart["id"], "MUG", 1, ann)
    body = assert_problem(client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": "WELCOME"},
                                      headers=ann), 422, "coupon_used")
    assert body["coupon"] == "WELCOME"
    guest_cart = cart_with(client, ("MUG", 1))
    assert apply(client, guest_cart, "WELCOME").status_code == 200


def test_a_coupon_that_stops_applying_shows_why_on_read(client, market, monkeypatch):
    make(client, market, ends_at=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat())
    cart_id = cart_with(client, ("MUG", 1))
    apply(client, cart_id, "SAVE10")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = client.get(f"/api/v1/carts/{cart_id}").get_json()
    assert body["discount"] == 0 and body["coupon"]["problem"]["code"] == "coupon_expired"
    removed = client.delete(f"/api/v1/carts/{cart_id}/coupons/save10").get_json()
    assert removed["coupon"] is None


def test_only_marketing_makes_coupons_and_bad_definitions_fail(client, market):
    assert_problem(client.post("/api/v1/coupons", json={"code": "X1X", "kind": "percent", "value": 5}),
                   401, "unauthorized")
    bad = client.post("/api/v1/coupons", headers=market["marketing"],
                      json={"code": "BIG", "kind": "percent", "value": 150})
    assert_problem(bad, 422, "validation_error")
    no_currency = client.post("/api/v1/coupons", headers=market["marketing"],
                              json={"code": "FIX", "kind": "fixed", "value": 150})
    assert "currency" in assert_problem(no_currency, 422, "validation_error")["errors"]


def test_recovery_link_reopens_the_cart_elsewhere(client, market):
    cart_id = cart_with(client, ("MUG", 1))
    link = client.post(f"/api/v1/carts/{cart_id}/recovery-links").get_json()
    opened = client.get(f"/api/v1/carts/recover/{link['token']}").get_json()
    assert opened == {"cart_id": cart_id, "requires_sign_in": False}


def test_recovery_link_of_a_merged_cart_leads_to_the_account_cart_without_signing_in(client, market):
    ann = sign_in(client)
    mine = client.get("/api/v1/me/cart", headers=ann).get_json()
    guest = cart_with(client, ("PEN", 1))
    token = client.post(f"/api/v1/carts/{guest}/recovery-links").get_json()["token"]
    client.post(f"/api/v1/carts/{guest}/claim", headers=ann)
    opened = client.get(f"/api/v1/carts/recover/{token}").get_json()
    assert opened == {"cart_id": mine["id"], "requires_sign_in": True}
    assert_problem(client.get(f"/api/v1/carts/{mine['id']}"), 401, "sign_in_required")


def test_tampered_expired_and_ordered_links(client, market, app, monkeypatch):
    cart_id = cart_with(client, ("MUG", 1))
    token = client.post(f"/api/v1/carts/{cart_id}/recovery-links").get_json()["token"]
    assert_problem(client.get(f"/api/v1/carts/recover/{token[:-2]}xx"), 404, "link_invalid")
    from shop.carts.models import Cart

    db.session.get(Cart, cart_id).status = "converted"
    db.session.commit()
    assert_problem(client.get(f"/api/v1/carts/recover/{token}"), 409, "cart_already_ordered")
    app.config["CART_RECOVERY_MAX_AGE_SECONDS"] = -1
    try:
        assert_problem(client.get(f"/api/v1/carts/recover/{token}"), 410, "link_expired")
    finally:
        app.config["CART_RECOVERY_MAX_AGE_SECONDS"] = 7 * 24 * 3600


def test_recovery_redirects_browsers_to_the_storefront(client, market, app):
    cart_id = cart_with(client, ("MUG", 1))
    token = client.post(f"/api/v1/carts/{cart_id}/recovery-links").get_json()["token"]
    app.config["STOREFRONT_URL"] = "https://shop.example"
    try:
        resp = client.get(f"/api/v1/carts/recover/{token}", headers={"Accept": "text/html"})
    finally:
        app.config["STOREFRONT_URL"] = ""
    assert resp.status_code == 302 and resp.headers["Location"] == f"https://shop.example/cart?id={cart_id}"


def test_verified_email_links_earlier_guest_carts_but_an_unverified_one_does_not(client, market):
    from shop.core import events

    guest = cart_with(client, ("MUG", 1))
    client.patch(f"/api/v1/carts/{guest}", json={"email": "carol@example.com"})
    other = cart_with(client, ("PEN", 1))
    client.patch(f"/api/v1/carts/{other}", json={"email": "someone-else@example.com"})
    with captured(events.email_verification_requested) as sent:
        client.post("/api/v1/customers", json={"email": "carol@example.com", "password": "carol-password",
                                               "name": "Carol"})
    tokens = [kw["token"] for kw in sent]
    carol = sign_in(client, "carol@example.com", "carol-password")
    before = client.get("/api/v1/me/cart", headers=carol).get_json()
    assert before["lines"] == []  # signed up, not verified: nothing linked yet
    client.post("/api/v1/me/email-verification", json={"token": tokens[0]}, headers=carol)
    after = client.get("/api/v1/me/cart", headers=carol).get_json()
    assert [line["sku"] for line in after["lines"]] == ["MUG"]
    assert client.get(f"/api/v1/carts/{other}").get_json()["customer_id"] is None
