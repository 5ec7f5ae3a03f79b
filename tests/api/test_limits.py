"""Each bound the API states is the bound the database keeps: just inside is stored, just outside is refused
by the API (422) and by the database itself (a CHECK or the integer column) when a write goes around the API."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from shop.carts.models import Cart, CartLine
from shop.core.extensions import db
from shop.core.limits import MAX_HOLD_DAYS, MAX_ID, MAX_LINE_QUANTITY, MAX_PAGE_SIZE, MIN_HOLD_DAYS
from stores.models import Store
from tests.support import factories as f
from tests.support.api import add
from tests.support.problems import assert_problem

STORE = {"code": "EDGE", "name": "Edge", "latitude": 40.7, "longitude": -74.0, "timezone": "America/New_York"}


@pytest.fixture
def admin(app):
    u = f.user("admin")
    db.session.commit()
    return f.bearer(u)


def _refused_by_the_database(row) -> None:
    db.session.add(row)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("days", [MIN_HOLD_DAYS, MAX_HOLD_DAYS])
def test_a_hold_period_within_bounds_is_stored(client, admin, days):
    resp = client.post("/api/v1/stores", json={**STORE, "hold_days": days}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    assert db.session.get(Store, resp.get_json()["id"]).hold_days == days


@pytest.mark.parametrize("days", [MIN_HOLD_DAYS - 1, MAX_HOLD_DAYS + 1])
def test_a_hold_period_out_of_bounds_is_refused_by_the_api_and_the_database(client, admin, days):
    body = assert_problem(client.post("/api/v1/stores", json={**STORE, "hold_days": days}, headers=admin),
                          422, "validation_error")
    assert "hold_days" in body["errors"]
    store = f.store()
    db.session.commit()
    patched = client.patch(f"/api/v1/stores/{store.id}", json={"hold_days": days}, headers=admin)
    assert_problem(patched, 422, "validation_error")
    _refused_by_the_database(Store(code="RAW", name="Raw", latitude=0, longitude=0, timezone="UTC",
                                   hold_days=days))


def test_a_cart_line_holds_up_to_the_cap_and_the_database_agrees(client, app):
    product = f.product(sku="CAP")
    db.session.commit()
    cart = client.post("/api/v1/carts", json={}).get_json()
    assert_problem(add(client, cart["id"], "CAP", MAX_LINE_QUANTITY + 1), 422, "validation_error")
    assert add(client, cart["id"], "CAP", MAX_LINE_QUANTITY).status_code == 200
    assert db.session.scalar(db.select(CartLine.quantity)) == MAX_LINE_QUANTITY
    line_url = f"/api/v1/carts/{cart['id']}/lines/CAP"
    assert_problem(client.patch(line_url, json={"quantity": MAX_LINE_QUANTITY + 1}), 422, "validation_error")
    other = Cart(id="raw-cart-0000000000000")
    db.session.add(other)
    db.session.flush()
    _refused_by_the_database(CartLine(cart_id=other.id, product_id=product.id, quantity=MAX_LINE_QUANTITY + 1,
                                      unit_price_at_add=1))


def test_the_largest_id_is_looked_up_and_one_more_is_refused(client, app):
    # On PostgreSQL an id past the integer column would be a DataError: the bound is the column's.
    assert_problem(client.get(f"/api/v1/stores/{MAX_ID}"), 404, "store_not_found")
    assert_problem(client.get(f"/api/v1/stores/{MAX_ID + 1}"), 404, "not_found")
    assert_problem(client.post("/api/v1/carts", json={"pickup_store_id": MAX_ID}), 404, "store_not_found")
    assert_problem(client.post("/api/v1/carts", json={"pickup_store_id": MAX_ID + 1}), 422, "validation_error")
    store = f.store()
    staff = f.bearer(f.user("staff", [store]))
    url = f"/api/v1/customers/{f.user().id}/cart"
    db.session.commit()
    assert_problem(client.get(url, headers={**staff, "X-Store-ID": str(MAX_ID)}), 403, "wrong_store")
    assert_problem(client.get(url, headers={**staff, "X-Store-ID": str(MAX_ID + 1)}), 422, "store_required")


@pytest.mark.parametrize("path", ["/api/v1/products", "/api/v1/stores"])
def test_a_page_is_at_most_the_page_size(client, app, path):
    assert client.get(f"{path}?limit={MAX_PAGE_SIZE}").status_code == 200
    assert_problem(client.get(f"{path}?limit={MAX_PAGE_SIZE + 1}"), 422, "validation_error")
