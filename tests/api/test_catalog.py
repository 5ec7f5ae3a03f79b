"""The catalog: admin creates and changes products; anyone searches with cursor pagination."""

from __future__ import annotations

import pytest

from inventory.models import Product
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.problems import assert_problem

MUG = {"sku": "MUG-1", "name": "Ceramic Mug", "price": 1299, "currency": "USD", "gtin": "4006381333931"}


@pytest.fixture
def admin(app):
    u = f.user("admin")
    db.session.commit()
    return f.bearer(u)


def test_admin_creates_and_changes_a_product(client, admin):
    resp = client.post("/api/v1/products", json=MUG, headers=admin)
    assert resp.status_code == 201 and resp.get_json() == {**MUG, "active": True}
    changed = client.patch("/api/v1/products/MUG-1", json={"price": 1499, "active": False}, headers=admin)
    assert changed.get_json()["price"] == 1499 and changed.get_json()["active"] is False
    assert client.get("/api/v1/products/MUG-1").get_json()["name"] == "Ceramic Mug"


@pytest.mark.parametrize("change, field", [
    ({"price": 12.99}, "price"),
    ({"price": "1299"}, "price"),
    ({"price": -1}, "price"),
    ({"price": 10**12}, "price"),
    ({"currency": "usd"}, "currency"),
    ({"gtin": "4006381333932"}, "gtin"),
    ({"sku": "has space"}, "sku"),
    ({"name": ""}, "name"),
])
def test_bad_product_input_is_refused(client, admin, change, field):
    body = assert_problem(client.post("/api/v1/products", json={**MUG, **change}, headers=admin),
                          422, "validation_error")
    assert field in body["errors"]
    assert db.session.scalar(db.select(db.func.count(Product.id))) == 0


def test_sku_and_gtin_are_unique(client, admin):
    client.post("/api/v1/products", json=MUG, headers=admin)
    assert_problem(client.post("/api/v1/products", json=MUG, headers=admin), 409, "sku_taken")
    other = {**MUG, "sku": "MUG-2"}
    assert_problem(client.post("/api/v1/products", json=other, headers=admin), 409, "gtin_taken")


def test_sku_cannot_be_patched_and_customers_cannot_write(client, admin):
    client.post("/api/v1/products", json=MUG, headers=admin)
    assert_problem(client.patch("/api/v1/products/MUG-1", json={"sku": "X"}, headers=admin),
                   422, "validation_error")
    customer = f.user()
    db.session.commit()
    assert_problem(client.post("/api/v1/products", json={**MUG, "sku": "Y"}, headers=f.bearer(customer)),
                   403, "forbidden")


def test_search_pages_through_everything_once(client, app):
    for i in range(25):
        f.product(sku=f"TEA-{i:02d}", name=f"Green tea {i}")
    f.product(sku="MUG-9", name="Mug")
    db.session.commit()
    seen, cursor = [], None
    while True:
        url = "/api/v1/products?q=tea&limit=10" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        seen += [p["sku"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"TEA-{i:02d}" for i in range(25)]
    by_sku = client.get("/api/v1/products?q=mug-").get_json()["items"]
    assert [p["sku"] for p in by_sku] == ["MUG-9"]


def test_bad_paging_is_refused(client):
    assert_problem(client.get("/api/v1/products?cursor=not-ours!"), 422, "invalid_cursor")
    assert_problem(client.get("/api/v1/products?limit=101"), 422, "validation_error")
    assert_problem(client.get("/api/v1/products?limit=0"), 422, "validation_error")


def test_unknown_product_is_404(client):
    assert_problem(client.get("/api/v1/products/NOPE"), 404, "product_not_found")
