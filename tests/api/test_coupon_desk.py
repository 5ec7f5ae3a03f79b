"""Marketing's coupon desk: list (paged, by active and batch), edit what is safe, deactivate."""

from __future__ import annotations

import pytest

from shop.carts import coupons
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.api import add
from tests.support.orders import checkout
from tests.support.paging import flat, walk
from tests.support.problems import assert_problem


@pytest.fixture
def desk(app):
    store = f.store()
    mug = f.product(sku="MUG", price=2000)
    f.stock(store, mug, 100)
    for i in range(5):
        coupons.create({"code": f"SPRING{i}", "kind": "percent", "value": 10, "batch": "spring"})
    coupons.create({"code": "WELCOME", "kind": "fixed", "value": 500, "currency": "USD"})
    db.session.commit()
    return {"store": store, "marketing": f.bearer(f.user("marketing"))}


def _patch(client, desk, coupon, **body):
    return client.patch(f"/api/v1/coupons/{coupon}", json=body, headers=desk["marketing"])


def _use(client, desk, code):
    """A guest checks out with the coupon: one redemption."""
    cart = client.post("/api/v1/carts", json={"pickup_store_id": desk["store"].id}).get_json()
    assert add(client, cart["id"], "MUG", 1).status_code == 200
    assert client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": code}).status_code == 200
    assert checkout(client, cart["id"], email="g@example.com", payment_method="pay_at_store").status_code == 201


def test_the_list_pages_newest_first_and_filters_by_batch_and_active(client, desk):
    pages = walk(client, "/api/v1/coupons?limit=2", headers=desk["marketing"], limit=2)
    assert flat(pages, "code") == ["WELCOME", "SPRING4", "SPRING3", "SPRING2", "SPRING1", "SPRING0"]
    spring = client.get("/api/v1/coupons?batch=spring", headers=desk["marketing"]).get_json()["items"]
    assert {c["code"] for c in spring} == {f"SPRING{i}" for i in range(5)}
    assert _patch(client, desk, "spring2", active=False).get_json()["active"] is False
    off = client.get("/api/v1/coupons?active=false", headers=desk["marketing"]).get_json()["items"]
    assert [c["code"] for c in off] == ["SPRING2"]
    on = client.get("/api/v1/coupons?active=true&batch=spring", headers=desk["marketing"]).get_json()["items"]
    assert "SPRING2" not in {c["code"] for c in on} and len(on) == 4


def test_a_deactivated_code_no_longer_applies_and_can_be_brought_back(client, desk):
    _patch(client, desk, "WELCOME", active=False)
    cart = client.post("/api/v1/carts", json={"pickup_store_id": desk["store"].id}).get_json()
    add(client, cart["id"], "MUG", 1)
    assert_problem(client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": "WELCOME"}), 422,
                   "coupon_unknown")
    assert client.get("/api/v1/coupons/WELCOME", headers=desk["marketing"]).get_json()["active"] is False
    _patch(client, desk, "WELCOME", active=True)
    assert client.post(f"/api/v1/carts/{cart['id']}/coupons", json={"code": "WELCOME"}).status_code == 200


def test_limits_and_dates_stay_editable_after_use_but_not_the_terms(client, desk):
    assert _patch(client, desk, "WELCOME", min_subtotal=1000).get_json()["min_subtotal"] == 1000  # unused yet
    _use(client, desk, "WELCOME")
    _use(client, desk, "WELCOME")
    body = client.get("/api/v1/coupons/welcome", headers=desk["marketing"]).get_json()
    assert body["uses"] == 2
    problem = assert_problem(_patch(client, desk, "WELCOME", min_subtotal=0), 409, "coupon_redeemed")
    assert problem["fields"] == ["min_subtotal"]
    assert_problem(_patch(client, desk, "WELCOME", max_uses=1), 422, "coupon_max_uses_below_uses")
    edited = _patch(client, desk, "WELCOME", max_uses=2, ends_at="2099-01-01T00:00:00Z").get_json()
    assert (edited["max_uses"], edited["ends_at"], edited["min_subtotal"]) == (2, "2099-01-01T00:00:00+00:00", 1000)
    # the same min_subtotal again is no change
    assert _patch(client, desk, "WELCOME", min_subtotal=1000).status_code == 200


@pytest.mark.parametrize("body", [{"value": 50}, {"kind": "fixed"}, {"code": "OTHER"}, {"max_uses": 1.5},
                                  {"max_uses": 0}, {"min_subtotal": "10"}, {"active": "maybe"}])
def test_what_may_never_change_or_is_malformed_is_a_422_that_changes_nothing(client, desk, body):
    assert_problem(_patch(client, desk, "WELCOME", **body), 422, "validation_error")
    coupon = client.get("/api/v1/coupons/WELCOME", headers=desk["marketing"]).get_json()
    assert (coupon["kind"], coupon["value"], coupon["max_uses"], coupon["active"]) == ("fixed", 500, None, True)


def test_an_unknown_code_is_a_404_and_a_bad_cursor_a_422(client, desk):
    assert_problem(_patch(client, desk, "NOPE", active=False), 404, "coupon_not_found")
    assert_problem(client.get("/api/v1/coupons/NOPE", headers=desk["marketing"]), 404, "coupon_not_found")
    assert_problem(client.get("/api/v1/coupons?cursor=zzz", headers=desk["marketing"]), 422, "invalid_cursor")
