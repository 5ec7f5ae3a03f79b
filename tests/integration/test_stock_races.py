"""Races on PostgreSQL with real threads, each request on its own connection: no unit sold twice."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from inventory.models import Reservation
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.concurrency import hammer
from tests.support.invariants import assert_stock_invariants

pytestmark = pytest.mark.postgres


def test_200_attempts_for_10_units_give_exactly_10(app, wide_app):
    s, mug = f.store(), f.product(sku="MUG")
    f.stock(s, mug, 12, safety_stock=2)
    staff = f.bearer(f.user("staff", [s]))
    url = f"/api/v1/stores/{s.id}/reservations"
    calls = [("POST", url, {"lines": [{"sku": "MUG", "quantity": 1}]}, staff)] * 200
    results = hammer(wide_app, calls)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 10, 409: 190}, statuses
    assert all(body["code"] == "insufficient_stock" for status, body in results if status == 409)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(Reservation.id))) == 10
    assert_stock_invariants()


def test_overlapping_multi_line_holds_and_till_sales_never_deadlock(app, wide_app):
    s = f.store()
    skus = [f"SKU{i}" for i in range(5)]
    for sku in skus:
        f.stock(s, f.product(sku=sku), 20)
    staff = f.bearer(f.user("staff", [s]))
    rng = random.Random(7)
    calls = []
    for _ in range(120):
        picked = rng.sample(skus, rng.randint(2, 4))  # different SKU orders on purpose
        lines = [{"sku": sku, "quantity": rng.randint(1, 3)} for sku in picked]
        calls.append(("POST", f"/api/v1/stores/{s.id}/reservations", {"lines": lines}, staff))
    for i in range(40):
        picked = rng.sample(skus, rng.randint(1, 3))
        lines = [{"sku": sku, "quantity": 1} for sku in picked]
        body = {"event_id": f"till-{i}", "type": "sale", "lines": lines}
        calls.append(("POST", f"/api/v1/stores/{s.id}/stock-events", body, staff))
    rng.shuffle(calls)
    results = hammer(wide_app, calls)
    assert {status for status, _ in results} <= {201, 409}, Counter(s for s, _ in results)
    assert Counter(status for status, body in results if "event_id" in (body or {}))[201] == 40
    # Online holds never promised more than the 20 units that were there before any sale.
    held = Counter()
    for status, body in results:
        if status == 201 and "lines" in body and "status" in body:
            for line in body["lines"]:
                held[line["sku"]] += line["quantity"]
    assert all(held[sku] <= 20 for sku in skus), held
    assert sum(held.values()) > 0
    db.session.expire_all()
    assert_stock_invariants()


def test_the_same_till_event_twice_at_once_applies_once(app, wide_app):
    s, mug = f.store(), f.product(sku="MUG")
    f.stock(s, mug, 10)
    staff = f.bearer(f.user("staff", [s]))
    body = {"event_id": "till-dup", "type": "sale", "lines": [{"sku": "MUG", "quantity": 1}]}
    results = hammer(wide_app, [("POST", f"/api/v1/stores/{s.id}/stock-events", body, staff)] * 8)
    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({str(b) for _, b in results}) == 1
    db.session.expire_all()
    from inventory.models import Stock

    assert db.session.get(Stock, (s.id, mug.id)).on_hand == 9
    assert_stock_invariants()
