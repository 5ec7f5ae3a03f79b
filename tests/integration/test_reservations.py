"""Reservation services: expiry never counts, consume at handover, the sweep, at-risk coverage."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory import reservations, stock
from inventory.models import LedgerEntry, Reservation, Stock
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants


@pytest.fixture
def later(monkeypatch):
    def move(minutes: int):
        when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
        monkeypatch.setattr(clock, "now", lambda: when)
    return move


def free(s, product) -> int:
    return stock.store_stock(s.id, [product.sku], clock.now())[0]["available"]


def test_all_or_nothing_lists_every_short_line(shelf):
    s, mug, tea = shelf
    with pytest.raises(DomainError) as err:
        reservations.reserve(s.id, {mug: 6, tea: 3}, "order:1")
    assert err.value.code == "insufficient_stock"
    assert err.value.extra["short"] == [
        {"sku": "MUG", "requested": 6, "available": 5},
        {"sku": "TEA", "requested": 3, "available": 2},
    ]
    db.session.commit()  # even a caller that commits after the refusal keeps nothing
    assert free(s, mug) == 5 and free(s, tea) == 2
    assert db.session.scalar(db.select(db.func.count()).select_from(Reservation)) == 0
    assert_stock_invariants()


def test_expired_reservations_never_count_even_before_the_sweep(shelf, later):
    s, mug, _ = shelf
    reservations.reserve(s.id, {mug: 5}, "order:1", dt.timedelta(minutes=15))
    db.session.commit()
    assert free(s, mug) == 0
    later(16)
    assert free(s, mug) == 5  # readers do not count it
    second = reservations.reserve(s.id, {mug: 5}, "order:2")  # writers release it first
    db.session.commit()
    assert second.status == "active"
    statuses = sorted(r for (r,) in db.session.execute(db.text("SELECT status FROM reservations")))
    assert statuses == ["active", "expired"]
    assert_stock_invariants()


def test_a_writer_releases_a_whole_expired_hold_even_on_skus_it_does_not_want(shelf, later):
    s, mug, tea = shelf
    reservations.reserve(s.id, {mug: 5, tea: 2}, "order:1", dt.timedelta(minutes=15))
    db.session.commit()
    later(16)
    reservations.reserve(s.id, {mug: 3}, "order:2")  # wants MUG only; the old hold also had TEA
    db.session.commit()
    assert db.session.get(Stock, (s.id, tea.id)).reserved == 0
    assert db.session.get(Stock, (s.id, mug.id)).reserved == 3
    assert_stock_invariants()


def test_a_hold_releases_only_the_lapsed_holds_in_its_way_and_the_sweep_all_the_others(shelf, later):
    s, mug, tea = shelf
    other = f.store()
    f.stock(other, mug, 5)
    db.session.commit()
    in_the_way = reservations.reserve(s.id, {mug: 4}, "order:1", dt.timedelta(minutes=5))
    elsewhere = reservations.reserve(other.id, {mug: 1}, "order:2", dt.timedelta(minutes=5))  # same SKU
    aside = reservations.reserve(s.id, {tea: 1}, "order:3", dt.timedelta(minutes=5))  # same store
    db.session.commit()
    later(10)
    reservations.reserve(s.id, {mug: 3}, "order:4")  # short until the lapsed MUG hold here goes
    db.session.commit()
    assert [db.session.get(Reservation, r.id).status for r in (in_the_way, elsewhere, aside)] == [
        "expired", "active", "active"]
    assert db.session.get(Stock, (other.id, mug.id)).reserved == 1
    assert_stock_invariants()
    assert reservations.release_expired() == 2  # one lapsed hold at each store, in one batch
    db.session.commit()
    assert db.session.get(Stock, (other.id, mug.id)).reserved == 0
    assert_stock_invariants()


def test_sweep_releases_expired_and_is_safe_to_run_twice(shelf, later):
    s, mug, tea = shelf
    reservations.reserve(s.id, {mug: 2, tea: 1}, "order:1", dt.timedelta(minutes=5))
    reservations.reserve(s.id, {mug: 1}, "order:2", dt.timedelta(minutes=60))
    db.session.commit()
    later(10)
    assert reservations.release_expired() == 1
    assert reservations.release_expired() == 0
    db.session.commit()
    assert db.session.get(Stock, (s.id, mug.id)).reserved == 1
    assert_stock_invariants()


def test_consume_takes_picked_units_and_releases_the_rest(shelf):
    s, mug, tea = shelf
    r = reservations.reserve(s.id, {mug: 3, tea: 2}, "order:1")
    reservations.consume(r, {mug.id: 3, tea.id: 1})
    db.session.commit()
    mug_row, tea_row = db.session.get(Stock, (s.id, mug.id)), db.session.get(Stock, (s.id, tea.id))
    assert (mug_row.on_hand, mug_row.reserved) == (2, 0)
    assert (tea_row.on_hand, tea_row.reserved) == (1, 0)
    reasons = [e.reason for e in db.session.scalars(db.select(LedgerEntry).order_by(LedgerEntry.id))]
    assert reasons.count("pickup") == 2 and reasons[-1] == "release"
    with pytest.raises(DomainError) as err:
        reservations.consume(r)
    assert err.value.code == "reservation_not_active"
    assert_stock_invariants()


def test_an_expired_reservation_cannot_be_consumed(shelf, later):
    s, mug, _ = shelf
    r = reservations.reserve(s.id, {mug: 1}, "order:1", dt.timedelta(minutes=1))
    db.session.commit()
    later(2)
    with pytest.raises(DomainError):
        reservations.consume(r)
    db.session.rollback()
    assert_stock_invariants()


def test_safety_stock_is_never_promised_online(app):
    s, mug = f.store(), f.product()
    f.stock(s, mug, 5, safety_stock=2)
    with pytest.raises(DomainError):
        reservations.reserve(s.id, {mug: 4}, "order:1")
    assert reservations.reserve(s.id, {mug: 3}, "order:2").status == "active"
