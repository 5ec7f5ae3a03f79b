"""One cart across phone, laptop and the store counter; lines, totals, ETags, claims, coupons."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import Product
from shop.carts.models import Cart, CartEvent
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.api import add, sign_in
from tests.support.problems import assert_problem


@pytest.fixture
def shop_(app):
    nyc, chi = f.store(code="NYC"), f.store(code="CHI")
    products = {sku: f.product(sku=sku, price=price, name=f"Item {sku}")
                for sku, price in [("MUG", 1299), ("TEA", 850), ("BAG", 4500), ("PEN", 199)]}
    for sku, qty in [("MUG", 20), ("TEA", 2), ("BAG", 0), ("PEN", 50)]:
        f.stock(nyc, products[sku], qty)
    ann = f.user(email="ann@example.com", password="ann-password")
    clerk = f.user("staff", [nyc])
    db.session.commit()
    return {"nyc": nyc, "chi": chi, "p": products, "ann": ann, "clerk": clerk}


def test_phone_laptop_counter_story(client, shop_):
    phone = {**sign_in(client), "X-Channel": "app"}
    cart = client.get("/api/v1/me/cart", headers=phone).get_json()
    for sku, qty in [("MUG", 2), ("TEA", 1), ("PEN", 3)]:
        assert add(client, cart["id"], sku, qty, phone).status_code == 200

    laptop = {**sign_in(client), "X-Channel": "web"}
    seen = client.get("/api/v1/me/cart", headers=laptop).get_json()
    assert seen["id"] == cart["id"]
    assert [(line["sku"], line["quantity"]) for line in seen["lines"]] == [("MUG", 2), ("TEA", 1), ("PEN", 3)]
    changed = client.patch(f"/api/v1/carts/{cart['id']}", json={"pickup_store_id": shop_["nyc"].id},
                           headers=laptop)
    assert changed.status_code == 200
    assert {line["sku"]: line["availability"] for line in changed.get_json()["lines"]} == {
        "MUG": "in_stock", "TEA": "low", "PEN": "in_stock"}

    counter = {**f.bearer(shop_["clerk"]), "X-Store-ID": str(shop_["nyc"].id)}
    at_counter = client.get(f"/api/v1/customers/{shop_['ann'].id}/cart", headers=counter).get_json()
    assert at_counter["id"] == cart["id"]
    assert add(client, cart["id"], "BAG", 1, counter).status_code == 200

    final = client.get("/api/v1/me/cart", headers=phone).get_json()
    assert [line["sku"] for line in final["lines"]] == ["MUG", "TEA", "PEN", "BAG"]
    assert final["subtotal"] == 2 * 1299 + 850 + 3 * 199 + 4500 == final["total"]
    assert final["currency"] == "USD"
    events = db.session.scalars(db.select(CartEvent).order_by(CartEvent.id)).all()
    assert [(e.type, e.channel, e.actor_type) for e in events] == [
        ("cart_created", "app", "customer"),
        ("line_added", "app", "customer"), ("line_added", "app", "customer"),
        ("line_added", "app", "customer"),
        ("details_changed", "web", "customer"),
        ("line_added", "store", "staff"),
    ]
    timeline = client.get("/api/v1/me/timeline", headers=phone).get_json()
    assert timeline["last_contact"]["channel"] == "store"
    assert "Item BAG" in timeline["last_contact"]["summary"]
    assert {e["channel"] for e in timeline["items"]} >= {"app", "web", "store"}


def test_lines_merge_and_prices_are_current(client, shop_):
    cart = client.post("/api/v1/carts", json={}).get_json()
    add(client, cart["id"], "MUG", 2)
    body = add(client, cart["id"], "MUG", 3).get_json()
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("MUG", 5)]
    shop_["p"]["MUG"].price = 1499
    db.session.commit()
    line = client.get(f"/api/v1/carts/{cart['id']}").get_json()["lines"][0]
    assert line["unit_price"] == 1499 and line["line_total"] == 5 * 1499
    assert line["price_changed"] is True and line["unit_price_when_added"] == 1299


@pytest.mark.parametrize("body, code", [
    ({"sku": "MUG", "quantity": 0}, "validation_error"),
    ({"sku": "MUG", "quantity": -1}, "validation_error"),
    ({"sku": "MUG", "quantity": 1.5}, "validation_error"),
    ({"sku": "MUG", "quantity": "2"}, "validation_error"),
    ({"sku": "MUG", "quantity": 100}, "validation_error"),
    ({"sku": "MUG", "quantity": 10**20}, "validation_error"),
    ({"sku": "NOPE", "quantity": 1}, "unknown_sku"),
])
def test_bad_lines_are_refused_and_change_nothing(client, shop_, body, code):
    cart = client.post("/api/v1/carts", json={}).get_json()
    assert_problem(client.post(f"/api/v1/carts/{cart['id']}/lines", json=body), 422, code)
    after = client.get(f"/api/v1/carts/{cart['id']}").get_json()
    assert after["lines"] == [] and after["version"] == cart["version"]


def test_inactive_sku_99_cap_and_100_lines(client, shop_):
    cart = client.post("/api/v1/carts", json={}).get_json()
    shop_["p"]["PEN"].active = False
    for i in range(100):
        f.product(sku=f"X{i:03d}")
    db.session.commit()
    assert_problem(add(client, cart["id"], "PEN", 1), 422, "unknown_sku")
    add(client, cart["id"], "MUG", 98)
    assert_problem(add(client, cart["id"], "MUG", 2), 422, "quantity_too_large")
    for i in range(99):
        assert add(client, cart["id"], f"X{i:03d}", 1).status_code == 200
    assert_problem(add(client, cart["id"], "X099", 1), 422, "too_many_lines")
    assert len(client.get(f"/api/v1/carts/{cart['id']}").get_json()["lines"]) == 100


def test_a_cart_does_not_mix_currencies_and_a_refused_add_changes_nothing(client, shop_):
    f.product(sku="EURO-MUG", price=1100, currency="EUR")
    db.session.commit()
    cart = client.post("/api/v1/carts", json={}).get_json()
    before = add(client, cart["id"], "MUG", 1)
    body = assert_problem(add(client, cart["id"], "EURO-MUG", 1), 422, "currency_mismatch")
    assert "EUR" in body["detail"] and "USD" in body["detail"]
    after = client.get(f"/api/v1/carts/{cart['id']}")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert [line["sku"] for line in after.get_json()["lines"]] == ["MUG"]


def test_stale_if_match_is_412_and_changes_nothing(client, shop_):
    created = client.post("/api/v1/carts", json={})
    cart_id, etag = created.get_json()["id"], created.headers["ETag"]
    first = add(client, cart_id, "MUG", 1, **{"If-Match": etag})
    assert first.status_code == 200 and first.headers["ETag"] != etag
    stale = add(client, cart_id, "TEA", 1, **{"If-Match": etag})
    assert_problem(stale, 412, "stale_cart")
    assert [line["sku"] for line in client.get(f"/api/v1/carts/{cart_id}").get_json()["lines"]] == ["MUG"]
    assert add(client, cart_id, "TEA", 1, **{"If-Match": first.headers["ETag"]}).status_code == 200


def test_guest_cart_claimed_and_merged_with_cap(client, shop_):
    ann = sign_in(client)
    mine = client.get("/api/v1/me/cart", headers=ann).get_json()
    add(client, mine["id"], "MUG", 60, ann)
    guest = client.post("/api/v1/carts", json={"pickup_store_id": shop_["nyc"].id}).get_json()
    add(client, guest["id"], "MUG", 50)
    add(client, guest["id"], "TEA", 1)
    merged = client.post(f"/api/v1/carts/{guest['id']}/claim", headers=ann)
    assert merged.status_code == 200
    body = merged.get_json()
    assert body["id"] == mine["id"]
    assert {line["sku"]: line["quantity"] for line in body["lines"]} == {"MUG": 99, "TEA": 1}
    assert any("capped at 99" in note for note in body["notes"])
    assert body["pickup_store_id"] == shop_["nyc"].id
    gone = client.get(f"/api/v1/carts/{guest['id']}")
    assert_problem(gone, 410, "cart_merged")
    assert gone.get_json()["merged_into"] == mine["id"]
    # The guest id no longer opens anything: the account cart needs the account's token.
    assert_problem(client.get(f"/api/v1/carts/{mine['id']}"), 401, "sign_in_required")


def test_claim_without_an_account_cart_keeps_the_cart(client, shop_):
    guest = client.post("/api/v1/carts", json={}).get_json()
    add(client, guest["id"], "PEN", 2)
    ann = sign_in(client)
    claimed = client.post(f"/api/v1/carts/{guest['id']}/claim", headers=ann).get_json()
    assert claimed["id"] == guest["id"] and claimed["customer_id"] == shop_["ann"].id
    assert client.get("/api/v1/me/cart", headers=ann).get_json()["id"] == guest["id"]
    assert_problem(client.get(f"/api/v1/carts/{guest['id']}"), 401, "sign_in_required")


def test_customers_cannot_touch_each_others_carts_or_timelines(client, shop_):
    f.user(email="bob@example.com", password="bob-password")
    db.session.commit()
    ann, bob_h = sign_in(client), sign_in(client, "bob@example.com", "bob-password")
    ann_cart = client.get("/api/v1/me/cart", headers=ann).get_json()
    assert_problem(client.get(f"/api/v1/carts/{ann_cart['id']}", headers=bob_h), 404, "cart_not_found")
    assert_problem(add(client, ann_cart["id"], "MUG", 1, bob_h), 404, "cart_not_found")
    assert_problem(client.post(f"/api/v1/carts/{ann_cart['id']}/claim", headers=bob_h), 404, "cart_not_found")
    assert_problem(client.get(f"/api/v1/customers/{shop_['ann'].id}/timeline", headers=bob_h), 403, "forbidden")
    assert client.get(f"/api/v1/carts/{ann_cart['id']}", headers=ann).status_code == 200


def test_staff_of_another_store_cannot_open_a_cart_at_that_counter(client, shop_):
    ann = sign_in(client)
    cart = client.get("/api/v1/me/cart", headers=ann).get_json()
    clerk = f.bearer(shop_["clerk"])
    url = f"/api/v1/customers/{shop_['ann'].id}/cart"
    assert_problem(client.get(url, headers={**clerk, "X-Store-ID": str(shop_["chi"].id)}), 403, "wrong_store")
    assert_problem(client.get(url, headers=clerk), 422, "store_required")
    at_nyc = {**clerk, "X-Store-ID": str(shop_["nyc"].id)}
    assert_problem(client.get(url, headers=at_nyc), 404, "cart_not_found")  # no pickup store chosen yet
    client.patch(f"/api/v1/carts/{cart['id']}", json={"pickup_store_id": shop_["nyc"].id}, headers=ann)
    assert client.get(url, headers=at_nyc).status_code == 200


def test_guest_contact_details_are_validated(client, shop_):
    cart = client.post("/api/v1/carts", json={}).get_json()
    url = f"/api/v1/carts/{cart['id']}"
    assert_problem(client.patch(url, json={"email": "not-an-email"}), 422, "validation_error")
    assert_problem(client.patch(url, json={"phone": "12345"}), 422, "validation_error")
    assert_problem(client.patch(url, json={"pickup_store_id": 999}), 404, "store_not_found")
    ok = client.patch(url, json={"email": "Guest@Example.com", "phone": "+14155550100"}).get_json()
    assert (ok["email"], ok["phone"]) == ("guest@example.com", "+14155550100")
    assert_problem(client.get("/api/v1/carts/not-a-real-cart-id"), 404, "cart_not_found")
    assert_problem(client.post("/api/v1/carts", json={}, headers={"X-Channel": "fax"}), 422, "unknown_channel")


def test_cart_ids_are_long_and_random(client, shop_):
    ids = {client.post("/api/v1/carts", json={}).get_json()["id"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) >= 32 for i in ids)


def test_idle_tracking(client, shop_, monkeypatch):
    cart = client.post("/api/v1/carts", json={}).get_json()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    add(client, cart["id"], "MUG", 1)
    row = db.session.get(Cart, cart["id"])
    db.session.refresh(row)
    assert row.status == "active" and abs((row.last_activity_at - later).total_seconds()) < 1
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 4
