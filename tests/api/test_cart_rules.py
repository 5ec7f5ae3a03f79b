"""One set of cart rules (shop.carts.rules) for every path: add, set quantity, claim, checkout.

Also the coupon a cancelled or expired order gives back, and proof that the hot add (one upsert)
and the rules decide alike on the same inputs.
"""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import Product, Stock
from shop.carts import rules
from shop.carts.models import CouponRedemption
from shop.carts.snapshot import load
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.carts import add, problem, sign_in
from tests.support.orders import cart_for, checkout


@pytest.fixture
def world(store_world):
    """store_world (NYC with MUG 10, TEA 4, priced in USD) plus a EUR product, a customer, an admin."""
    store_world["p"]["EURO"] = f.product(sku="EURO", price=900, currency="EUR")
    f.stock(store_world["store"], store_world["p"]["EURO"], 10)
    f.user(email="ann@example.com", password="ann-password")
    store_world["admin"] = f.bearer(f.user("admin"))
    store_world["marketing"] = f.bearer(f.user("marketing"))
    db.session.commit()
    return store_world


def lines_of(body) -> dict:
    return {line["sku"]: line["quantity"] for line in body["lines"]}


def deactivate(client, world, sku):
    resp = client.patch(f"/api/v1/products/{sku}", json={"active": False}, headers=world["admin"])
    assert resp.status_code == 200, resp.get_json()


# Claim: a guest cart of another currency never mixes into the account cart.

def test_claim_keeps_lines_of_another_currency_out_of_the_account_cart(client, world):
    ann = sign_in(client, "ann@example.com", "ann-password")
    mine = client.get("/api/v1/me/cart", headers=ann).get_json()
    add(client, mine["id"], "MUG", 1, ann)
    guest = client.post("/api/v1/carts", json={}).get_json()
    add(client, guest["id"], "EURO", 2)

    merged = client.post(f"/api/v1/carts/{guest['id']}/claim", headers=ann)
    assert merged.status_code == 200, merged.get_json()
    body = merged.get_json()
    assert lines_of(body) == {"MUG": 1}
    assert (body["subtotal"], body["currency"]) == (1200, "USD")
    assert any("EURO" in note and "EUR" in note for note in body["notes"])


def test_claim_into_an_empty_account_cart_takes_the_guest_currency(client, world):
    ann = sign_in(client, "ann@example.com", "ann-password")
    mine = client.get("/api/v1/me/cart", headers=ann).get_json()
    guest = client.post("/api/v1/carts", json={}).get_json()
    add(client, guest["id"], "EURO", 2)
    body = client.post(f"/api/v1/carts/{guest['id']}/claim", headers=ann).get_json()
    assert body["id"] == mine["id"]
    assert lines_of(body) == {"EURO": 2} and (body["subtotal"], body["currency"]) == (1800, "EUR")


def test_claim_leaves_a_deactivated_product_behind_with_a_note(client, world):
    ann = sign_in(client, "ann@example.com", "ann-password")
    mine = client.get("/api/v1/me/cart", headers=ann).get_json()
    add(client, mine["id"], "MUG", 1, ann)
    guest = client.post("/api/v1/carts", json={}).get_json()
    add(client, guest["id"], "TEA", 1)
    deactivate(client, world, "TEA")
    body = client.post(f"/api/v1/carts/{guest['id']}/claim", headers=ann).get_json()
    assert lines_of(body) == {"MUG": 1}
    assert any("TEA" in note for note in body["notes"])


# Checkout and set quantity: a product deactivated after it was added.

def test_checkout_refuses_a_product_deactivated_after_it_was_added(client, world):
    cart_id = cart_for(client, world["store"])  # MUG 2, TEA 1
    deactivate(client, world, "TEA")
    shown = client.get(f"/api/v1/carts/{cart_id}").get_json()
    assert {line["sku"]: line["availability"] for line in shown["lines"]}["TEA"] == "out"

    refused = checkout(client, cart_id)
    assert problem(refused) == (422, "unknown_sku")
    assert refused.get_json()["skus"] == ["TEA"]
    assert db.session.scalar(db.select(db.func.count(Order.id))) == 0
    assert db.session.get(Stock, (world["store"].id, world["p"]["MUG"].id)).reserved == 0
    assert client.get(f"/api/v1/carts/{cart_id}").get_json()["status"] == "active"

    client.delete(f"/api/v1/carts/{cart_id}/lines/TEA")
    assert checkout(client, cart_id).status_code == 201


def test_set_quantity_of_a_deactivated_product_is_refused_and_changes_nothing(client, world):
    cart_id = cart_for(client, world["store"])
    deactivate(client, world, "TEA")
    before = client.get(f"/api/v1/carts/{cart_id}")
    refused = client.patch(f"/api/v1/carts/{cart_id}/lines/TEA", json={"quantity": 3})
    assert problem(refused) == (422, "unknown_sku")
    after = client.get(f"/api/v1/carts/{cart_id}")
    assert after.get_json() == before.get_json() and after.headers["ETag"] == before.headers["ETag"]
    # Other lines still change, and the unavailable one can be removed.
    assert client.patch(f"/api/v1/carts/{cart_id}/lines/MUG", json={"quantity": 3}).status_code == 200
    assert add(client, cart_id, "MUG", 1).status_code == 200
    assert client.delete(f"/api/v1/carts/{cart_id}/lines/TEA").status_code == 200


# Coupons come back when the order does not happen.

def make_coupon(client, world, **body):
    payload = {"code": "ONCE", "kind": "percent", "value": 10, **body}
    resp = client.post("/api/v1/coupons", json=payload, headers=world["marketing"])
    assert resp.status_code == 201, resp.get_json()


def order_with_coupon(client, world, code="ONCE", headers=None):
    cart_id = cart_for(client, world["store"], headers=headers)
    applied = client.post(f"/api/v1/carts/{cart_id}/coupons", json={"code": code}, headers=headers or {})
    assert applied.status_code == 200, applied.get_json()
    resp = checkout(client, cart_id, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["order"]["discount"] > 0
    return resp.get_json()


def try_coupon(client, world, code="ONCE", headers=None):
    cart_id = cart_for(client, world["store"], headers=headers)
    return client.post(f"/api/v1/carts/{cart_id}/coupons", json={"code": code}, headers=headers or {})


def staff_post(client, world, path, body=None):
    resp = client.post(f"/api/v1{path}", json=body or {}, headers=world["staff"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_cancelled_order_gives_back_a_single_use_coupon(client, world):
    make_coupon(client, world, single_use=True)
    first = order_with_coupon(client, world)
    assert problem(try_coupon(client, world)) == (422, "coupon_exhausted")

    cancelled = client.post(f"/api/v1/orders/{first['order']['id']}/cancel", json={},
                            headers={"X-Order-Token": first["order_token"]})
    assert cancelled.get_json()["status"] == "cancelled"
    assert try_coupon(client, world).status_code == 200
    order_with_coupon(client, world)  # and it orders again


def test_an_expired_order_gives_back_a_once_per_customer_coupon(client, world, monkeypatch):
    make_coupon(client, world, max_uses_per_customer=1)
    ann = sign_in(client, "ann@example.com", "ann-password")
    body = order_with_coupon(client, world, headers=ann)
    assert problem(try_coupon(client, world, headers=ann)) == (422, "coupon_used")

    oid = body["order"]["id"]
    staff_post(client, world, f"/orders/{oid}/picking")
    staff_post(client, world, f"/orders/{oid}/ready")
    deadline = db.session.get(Order, oid).pickup_deadline
    monkeypatch.setattr(clock, "now", lambda: deadline + dt.timedelta(minutes=1))
    assert order_sweeps.expire_no_shows() == 1
    db.session.commit()
    monkeypatch.undo()

    assert db.session.get(Order, oid).status == "expired"
    assert try_coupon(client, world, headers=ann).status_code == 200


def test_a_picked_up_order_keeps_its_coupon_used(client, world):
    make_coupon(client, world, single_use=True)
    body = order_with_coupon(client, world)
    oid = body["order"]["id"]
    staff_post(client, world, f"/orders/{oid}/picking")
    staff_post(client, world, f"/orders/{oid}/ready")
    staff_post(client, world, f"/orders/{oid}/handover", {"pickup_code": body["pickup_code"]})
    assert problem(try_coupon(client, world)) == (422, "coupon_exhausted")
    assert db.session.scalar(db.select(db.func.count(CouponRedemption.id))) == 1


# The hot add and the rules agree.

def _cart_with(client, lines: list[tuple[str, int]]) -> str:
    cart_id = client.post("/api/v1/carts", json={}).get_json()["id"]
    for sku, quantity in lines:
        assert add(client, cart_id, sku, quantity).status_code == 200
    return cart_id


@pytest.fixture
def catalog(app):
    f.product(sku="MUG", price=1200)
    f.product(sku="OLD", price=500, active=False)
    f.product(sku="EURO", price=900, currency="EUR")
    for i in range(100):
        f.product(sku=f"X{i:03d}", price=100)
    db.session.commit()


FILLED = [(f"X{i:03d}", 1) for i in range(99)]

AGREEMENT = [
    ([], ("MUG", 99)),
    ([("MUG", 98)], ("MUG", 1)),
    ([("MUG", 98)], ("MUG", 2)),
    ([("MUG", 50)], ("MUG", 50)),
    ([("MUG", 99)], ("MUG", 1)),
    ([], ("OLD", 1)),
    ([("MUG", 1)], ("OLD", 1)),
    ([("MUG", 1)], ("EURO", 1)),
    ([("EURO", 1)], ("MUG", 1)),
    ([("EURO", 1)], ("EURO", 98)),
    (FILLED, ("MUG", 1)),
    ([*FILLED, ("MUG", 1)], ("X099", 1)),
    ([*FILLED, ("MUG", 1)], ("MUG", 1)),
]


@pytest.mark.parametrize("before, adding", AGREEMENT,
                         ids=[f"{len(b)}lines+{s}x{q}" for b, (s, q) in AGREEMENT])
def test_the_hot_add_and_the_rules_decide_alike(client, catalog, before, adding):
    cart_id = _cart_with(client, before)
    sku, quantity = adding
    product = db.session.scalar(db.select(Product).where(Product.sku == sku))
    expected = rules.breach(rules.added(load(cart_id).lines, rules.Line(sku, quantity, product.currency,
                                                                         product.active)), [sku])
    db.session.rollback()

    resp = add(client, cart_id, sku, quantity)
    if expected is None:
        assert resp.status_code == 200, resp.get_json()
        held = dict(before).get(sku, 0)
        assert lines_of(resp.get_json())[sku] == held + quantity
    else:
        assert problem(resp) == (expected.status, expected.code)
        assert lines_of(client.get(f"/api/v1/carts/{cart_id}").get_json()) == dict(before)

