"""The hot add and the ORM changes at the same moment share one version bump, on PostgreSQL with threads."""

from __future__ import annotations

from collections import Counter

import pytest

from shop.core.extensions import db
from tests.support import factories as f
from tests.support.carts import add, events_of
from tests.support.concurrency import hammer

pytestmark = pytest.mark.postgres


@pytest.fixture
def cart(app, client):
    for sku in ("MUG", "TEA"):
        f.product(sku=sku)
    db.session.commit()
    cart_id = client.post("/api/v1/carts", json={}).get_json()["id"]
    assert add(client, cart_id, "TEA", 1).status_code == 200
    return cart_id


def mixed_changes(cart_id: str, rounds: int, headers: dict) -> list:
    """An add (the hot path), a quantity change and a details change (the ORM path), `rounds` times."""
    base = f"/api/v1/carts/{cart_id}"
    calls = []
    for n in range(rounds):
        calls += [("POST", f"{base}/lines", {"sku": "MUG", "quantity": 1}, headers),
                  ("PATCH", f"{base}/lines/TEA", {"quantity": n + 2}, headers),
                  ("PATCH", base, {"email": f"guest{n}@example.com"}, headers)]
    return calls


def test_one_stale_etag_lets_exactly_one_change_win_whichever_path(client, cart, wide_app):
    for _round in range(5):
        seen = client.get(f"/api/v1/carts/{cart}")
        version, events = seen.get_json()["version"], events_of(cart)
        results = hammer(wide_app, mixed_changes(cart, 2, {"If-Match": seen.headers["ETag"]}))
        assert Counter(status for status, _ in results) == {200: 1, 412: 5}
        db.session.rollback()
        assert client.get(f"/api/v1/carts/{cart}").get_json()["version"] == version + 1
        assert events_of(cart) == events + 1


def test_changes_without_if_match_all_land_each_with_its_own_version(client, cart, wide_app):
    version, events = client.get(f"/api/v1/carts/{cart}").get_json()["version"], events_of(cart)
    results = hammer(wide_app, mixed_changes(cart, 6, {}))
    assert [status for status, _ in results] == [200] * 18
    assert sorted(body["version"] for _, body in results) == list(range(version + 1, version + 19))
    db.session.rollback()
    body = client.get(f"/api/v1/carts/{cart}").get_json()
    assert body["version"] == version + 18 and events_of(cart) == events + 18
    assert {line["sku"]: line["quantity"] for line in body["lines"]}["MUG"] == 6
