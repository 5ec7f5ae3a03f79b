"""Sweeps under load: two at once and holds at the same time never deadlock, each sweep stands alone."""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from inventory.models import Stock
from shop.core import scheduler
from shop.core import sweeps as runner
from shop.core.clock import clock
from shop.core.extensions import db
from shop.orders import payment_events as order_payments
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
    jobs = [order_sweeps.expire_no_shows, order_sweeps.expire_no_shows]
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


@pytest.mark.postgres
def test_a_deadlock_is_rolled_back_and_retried(busy_store, wide_app):
    """Two transactions taking two rows in opposite orders: PostgreSQL kills one, the runner runs it again."""
    store, products, _ = busy_store
    first, second = products[0].id, products[1].id
    barrier, calls = threading.Barrier(2), Counter()

    def bump(order):
        def work():
            calls[order] += 1
            for n, product_id in enumerate(order):
                db.session.execute(text("UPDATE stock SET safety_stock = safety_stock + 1 "
                                        "WHERE store_id = :s AND product_id = :p"), {"s": store.id, "p": product_id})
                if n == 0 and calls[order] == 1:
                    barrier.wait()  # both hold their first row: each now waits for the other's
            return "done"
        return lambda: runner.in_transaction(work)

    results = at_once(wide_app, [bump((first, second)), bump((second, first))])
    assert results == ["done", "done"], results
    assert sum(calls.values()) == 3  # one of them ran twice
    db.session.expire_all()
    assert db.session.get(Stock, (store.id, first)).safety_stock == 2
    assert db.session.get(Stock, (store.id, second)).safety_stock == 2


def test_an_item_that_fails_is_left_for_the_next_run_and_the_rest_is_done(busy_store, monkeypatch):
    store, products, staff_user = busy_store
    earlier = clock.now() - dt.timedelta(days=7)
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: earlier)
        ids = ready_orders(store, staff_user, products, 3, lines=2)
    claim = runner.claim_next(Order, Order.status == "ready_for_pickup")

    def handle(order):
        order_payments.close(order, "expire", "test")
        if order.id == ids[1]:
            raise RuntimeError("this one is broken")

    report = runner.drain("test", claim, handle)
    assert (report.done, report.failed) == (2, 1)
    db.session.expire_all()
    assert [db.session.get(Order, i).status for i in ids] == ["expired", "ready_for_pickup", "expired"]
    assert_stock_invariants()


def test_a_failing_sweep_is_reported_and_the_others_still_run(app, busy_store, monkeypatch):
    store, products, staff_user = busy_store
    earlier = clock.now() - dt.timedelta(days=7)
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: earlier)
        [oid] = ready_orders(store, staff_user, products, 1)

    def broken():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setitem(scheduler.registered(app), "expire_unpaid", (60, broken))
    out = app.test_cli_runner().invoke(args=["scheduler", "run", "--once"])
    assert out.exit_code == 1
    assert "FAILED expire_unpaid: OperationalError" in out.output
    assert re.search(r"^ +1 expire_no_shows \(", out.output, re.M)
    db.session.expire_all()
    assert db.session.get(Order, oid).status == "expired"
