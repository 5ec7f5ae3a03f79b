"""Every reader tells the same free figure (expired holds not yet swept count as free), and a writer
can hold what the readers show."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory import reservations, stock, stock_events
from shop.accounts.actors import Actor
from shop.carts import adds, snapshot
from shop.carts import service as carts
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants


def test_readers_and_writers_agree_on_what_is_free(app, monkeypatch):
    shop = f.store()
    mug = f.product(sku="MUG")
    f.stock(shop, mug, 5, safety_stock=1)
    db.session.commit()
    reservations.reserve(shop.id, {mug: 2}, "order:lapsed", dt.timedelta(minutes=1))
    reservations.reserve(shop.id, {mug: 1}, "order:live", dt.timedelta(hours=1))
    guest = Actor("guest", None, "web")
    cart, _ = carts.open_cart(guest, shop.id)
    adds.add_line(cart.id, "MUG", 1, guest)
    db.session.commit()
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)

    def readers() -> set[int]:
        return {stock.store_stock(shop.id, ["MUG"], later)[0]["available"],
                stock.availability(mug, later, None, 100)[0]["available"],
                snapshot.load(cart.id).lines[0].available}

    assert readers() == {3}  # 5 on hand, 1 held live, 1 kept back; the lapsed hold's 2 are free
    result, _ = stock_events.record_event(shop.id, "till-1", "receipt", {mug: 1})
    db.session.commit()
    assert result["lines"][0]["available"] == 4  # the till is told what the website shows
    assert readers() == {4}
    with pytest.raises(DomainError):
        reservations.reserve(shop.id, {mug: 5}, "order:too-many")
    db.session.rollback()
    reservations.reserve(shop.id, {mug: 4}, "order:all-of-it")
    db.session.commit()
    assert readers() == {0}


def test_an_extended_hold_stays_held_past_its_first_expiry(app, monkeypatch):
    shop = f.store()
    mug = f.product(sku="MUG")
    f.stock(shop, mug, 3)
    db.session.commit()
    hold = reservations.reserve(shop.id, {mug: 2}, "order:ready", dt.timedelta(minutes=1))
    assert reservations.extend(hold, clock.now() + dt.timedelta(days=1))  # the order is ready for pickup
    db.session.commit()
    later = clock.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert stock.store_stock(shop.id, ["MUG"], later)[0]["available"] == 1
    with pytest.raises(DomainError):
        reservations.reserve(shop.id, {mug: 2}, "order:next")
    db.session.rollback()
    assert_stock_invariants()
