"""Two devices changing one cart at the same moment, on PostgreSQL with real threads."""

from __future__ import annotations

from collections import Counter

import pytest

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.concurrency import hammer

pytestmark = pytest.mark.postgres


@pytest.fixture
def cart(app, client):
    f.product(sku="MUG")
    f.product(sku="TEA")
    db.session.commit()
    created = client.post("/api/v1/carts", json={})
    return created.get_json()["id"], created.headers["ETag"]


def test_simultaneous_adds_of_one_sku_both_land(client, cart, wide_app):
    cart_id, _ = cart
    url = f"/api/v1/carts/{cart_id}/lines"
    for _round in range(5):
        results = hammer(wide_app, [("POST", url, {"sku": "MUG", "quantity": 2}, {}),
                                    ("POST", url, {"sku": "MUG", "quantity": 3}, {"X-Channel": "app"})])
        assert [status for status, _ in results] == [200, 200]
    body = client.get(f"/api/v1/carts/{cart_id}").get_json()
    assert body["lines"][0]["quantity"] == 5 * 5
    assert body["version"] == 1 + 10


def test_stale_if_match_lets_exactly_one_of_two_changes_win(client, cart, wide_app):
    cart_id, etag = cart
    url = f"/api/v1/carts/{cart_id}/lines"
    results = hammer(wide_app, [("POST", url, {"sku": "MUG", "quantity": 1}, {"If-Match": etag}),
                                ("POST", url, {"sku": "TEA", "quantity": 1}, {"If-Match": etag})])
    assert Counter(status for status, _ in results) == {200: 1, 412: 1}
    lines = client.get(f"/api/v1/carts/{cart_id}").get_json()["lines"]
    assert len(lines) == 1
