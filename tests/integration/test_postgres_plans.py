"""PostgreSQL plans each statement for its values, except those prepared on purpose (shop/core/plans.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from inventory import reservations, stock
from shop.accounts.actors import Actor
from shop.carts import adds, snapshot
from shop.carts import service as carts
from shop.core.clock import clock
from shop.core.extensions import db
from tests.support import factories as f

pytestmark = pytest.mark.postgres

_PREPARED = text("SELECT statement, generic_plans FROM pg_prepared_statements")


def fresh_connection() -> None:
    """A connection of its own, as a new worker has: pooled ones keep what earlier tests prepared
    on purpose (a hold, a token lookup) for their life, which failed these tests after those."""
    db.session.remove()
    db.engine.dispose()


def test_statements_are_planned_for_their_values_every_time(app):
    # A generic plan made while `reservations` was small made every hold slower as it grew, so
    # nothing is prepared on the server unless a caller asks for it.
    fresh_connection()
    shop = f.store()
    item = f.product(sku="PLAN-1")
    for _ in range(12):
        stock.store_stock(shop.id, [item.sku], clock.now())
    assert db.session.execute(_PREPARED).all() == []


def test_the_hold_statement_is_prepared_and_reuses_its_plan(app):
    fresh_connection()
    shop = f.store()
    item = f.product(sku="PLAN-2")
    f.stock(shop, item, on_hand=100)
    for i in range(8):
        reservations.reserve_skus(shop.id, {item.sku: 1}, f"plan-{i}")
    rows = db.session.execute(_PREPARED).all()
    [hold] = [row for row in rows if "WITH want AS" in row.statement]
    assert hold.generic_plans > 0  # planning the hold costs more than running it
    # Besides it, only the ledger's write (prepared on purpose too: rows by key) where a hold took it.
    assert all(row.statement.lstrip().startswith("WITH change") for row in rows if row is not hold)
    stock.store_stock(shop.id, [item.sku], clock.now())  # the connection is back to preparing nothing
    assert len(db.session.execute(_PREPARED).all()) == len(rows)


def test_the_cart_read_is_prepared_and_reuses_its_plan(app):
    # Planning the cart read cost three times running it; every step of it is a key lookup.
    fresh_connection()
    shop = f.store()
    f.stock(shop, f.product(sku="PLAN-3"), on_hand=10)
    guest = Actor("guest", None, "web")
    cart, _ = carts.open_cart(guest, shop.id)
    adds.add_line(cart.id, "PLAN-3", 1, guest)
    for _ in range(8):
        assert snapshot.load(cart.id).lines[0].available == 10
    [row] = [row for row in db.session.execute(_PREPARED) if "FROM carts" in row.statement]
    assert row.generic_plans > 0
