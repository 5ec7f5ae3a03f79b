"""Sweeps under load: two at once and holds at the same time never deadlock, each sweep stands alone."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import sweeps as order_sweeps
from shop.orders.models import Order
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants
from tests.support.sweeps import at_once, ready_orders

SKUS = 30  # enough that a batch locked order by order takes a while to hold every stock row


@pytest.fixture
def busy_store(app):
    store = f.store(code="BUSY", hold_days=1)
    products = [f.product(sku=f"P{i}") for i in range(SKUS)]
    for product in products:
        f.stock(store, product, 400)
    staff_user = f.user("staff", [store])
    db.session.commit()
    return store, products, staff_user


def _sweep(job):
    def run():
        done = job()
        db.session.commit()
        return done
    return run


def _holds(wide_app, store, headers, seed: int, count: int):
    """One client placing `count` four-line holds one after another, SKUs in a random order."""
    def run():
        rng, statuses = random.Random(seed), []
        client = wide_app.test_client()
        for _ in range(count):
            lines = [{"sku": f"P{i}", "quantity": 1} for i in rng.sample(range(SKUS), 4)]
            resp = client.post(f"/api/v1/stores/{store.id}/reservations", json={"lines": lines}, headers=headers)
            statuses.append(resp.status_code)
        return statuses
    return run


@pytest.mark.postgres
def test_two_no_show_sweeps_and_multi_line_holds_at_once_never_deadlock(busy_store, wide_app, monkeypatch):
    store, products, staff_user = busy_store
    earlier = clock.now() - dt.timedelta(days=7)
    with monkeypatch.context() as m:  # made a week ago: every pickup deadline has passed
        m.setattr(clock, "now", lambda: earlier)
        ids = ready_orders(store, staff_user, products, 100, lines=3)
    headers = f.bearer(staff_user)
    jobs = [_sweep(order_sweeps.expire_no_shows), _sweep(order_sweeps.expire_no_shows)]
    jobs += [_holds(wide_app, store, headers, seed, 15) for seed in range(8)]
    results = at_once(wide_app, jobs)
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == [], errors
    assert sum(results[:2]) == 100  # every order expired exactly once, by one sweep or the other
    holds = Counter(status for statuses in results[2:] for status in statuses)
    assert set(holds) <= {201, 409}, holds
    db.session.expire_all()
    assert Counter(db.session.scalars(db.select(Order.status).where(Order.id.in_(ids)))) == {"expired": 100}
    assert_stock_invariants()
