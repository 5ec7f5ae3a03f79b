"""Short picks corrected at the same moment by several clerks: a correction takes the units back
under the stock-row lock a hold takes, so the last free unit goes to exactly one of them
(PostgreSQL, real threads; without the lock all twelve get it)."""

from __future__ import annotations

import pytest

from inventory import stock_events
from inventory.models import Stock
from shop.core.extensions import db
from tests.support.concurrency import hammer
from tests.support.invariants import assert_stock_invariants
from tests.support.orders import cart_for, checkout

pytestmark = pytest.mark.postgres

ORDERS = 12


def test_the_last_unit_goes_to_one_correction(client, store_world, wide_app):
    world, staff = store_world, store_world["staff"]
    corrections = []
    for _ in range(ORDERS):  # each order gave its one MUG back on a short pick
        placed = checkout(client, cart_for(client, world["store"], lines=(("MUG", 1),))).get_json()
        oid, line = placed["order"]["id"], placed["order"]["lines"][0]["id"]
        client.post(f"/api/v1/orders/{oid}/picking", headers=staff)
        assert client.put(f"/api/v1/orders/{oid}/lines/{line}/pick", json={"picked_quantity": 0},
                          headers=staff).status_code == 200
        corrections.append(("PUT", f"/api/v1/orders/{oid}/lines/{line}/pick", {"picked_quantity": 1}, staff))
    stock_events.record_event(world["store"].id, "till-race", "sale", {world["p"]["MUG"]: 9})
    db.session.commit()  # one MUG left on the shelf, free

    results = hammer(wide_app, corrections)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (ORDERS - 1), results
    assert {body["code"] for status, body in results if status == 409} == {"units_released"}
    db.session.expire_all()
    stock = db.session.get(Stock, (world["store"].id, world["p"]["MUG"].id))
    assert (stock.on_hand, stock.reserved) == (1, 1)
    assert_stock_invariants()
