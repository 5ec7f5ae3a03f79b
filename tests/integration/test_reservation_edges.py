"""Reservations at their edges: the moment a hold expires, who and what the ledger names, part of a line.

Written against the mutants `make mutants` found alive in inventory/reservations.py.
"""

from __future__ import annotations

import datetime as dt

import pytest

from inventory import reservations
from inventory.models import LedgerEntry, Stock
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


@pytest.fixture
def at(monkeypatch):
    def move(when: dt.datetime):
        monkeypatch.setattr(clock, "now", lambda: when)
    move(NOW)
    return move


def _entries(reason: str) -> list[tuple]:
    rows = db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.reason == reason).order_by(LedgerEntry.id))
    return [(e.product_id, e.delta_on_hand, e.delta_reserved, e.source, e.actor_id) for e in rows]


def test_a_hold_is_over_at_the_very_second_it_expires(shelf, at):
    s, mug, _ = shelf
    first = reservations.reserve(s.id, {mug: 1}, "order:1", dt.timedelta(minutes=10))
    second = reservations.reserve(s.id, {mug: 1}, "order:2", dt.timedelta(minutes=10))
    db.session.commit()
    at(first.expires_at)
    assert reservations.extend(first, first.expires_at + dt.timedelta(hours=1)) is False
    with pytest.raises(DomainError) as err:
        reservations.consume(first)
    assert err.value.code == "reservation_not_active"
    db.session.rollback()
    assert reservations.release_expired() == 2  # the second hold ends at the same second
    db.session.commit()
    assert db.session.get(Stock, (s.id, mug.id)).reserved == 0
    assert reservations.release(second).status == "expired"  # releasing a lapsed hold is no error
    assert_stock_invariants()


def test_extending_a_live_hold_keeps_it_longer_and_never_shorter(shelf, at):
    s, mug, _ = shelf
    r = reservations.reserve(s.id, {mug: 1}, "order:1", dt.timedelta(minutes=10))
    later = NOW + dt.timedelta(days=2)
    assert reservations.extend(r, later) is True and r.expires_at == later
    assert reservations.extend(r, NOW + dt.timedelta(minutes=1)) is True and r.expires_at == later
    reservations.release(r)
    assert reservations.extend(r, later + dt.timedelta(days=1)) is False


def test_the_ledger_names_the_hold_and_who_released_or_handed_over(shelf, at):
    s, mug, tea = shelf
    clerk = f.user("staff", [s])
    released = reservations.reserve(s.id, {mug: 2}, "counter:1")
    handed = reservations.reserve(s.id, {mug: 3, tea: 2}, "order:2")
    reservations.release(released, actor_id=clerk.id)
    reservations.consume(handed, {mug.id: 3}, actor_id=clerk.id)  # no TEA taken: both units go back
    db.session.commit()
    assert _entries("release") == [
        (mug.id, 0, -2, f"reservation:{released.id}", clerk.id),
        (tea.id, 0, -2, f"reservation:{handed.id}", clerk.id),
    ]
    assert _entries("pickup") == [(mug.id, -3, -3, f"reservation:{handed.id}", clerk.id)]
    assert_stock_invariants()


def test_a_short_pick_gives_back_part_of_a_line_or_all_of_it(shelf, at):
    s, mug, tea = shelf
    clerk = f.user("staff", [s])
    r = reservations.reserve(s.id, {mug: 3, tea: 2}, "order:1")
    for units in (0, 4):
        with pytest.raises(DomainError) as err:
            reservations.release_units(r, mug.id, units)
        assert (err.value.status, err.value.code) == (409, "units_not_reserved")
    reservations.release_units(r, mug.id, 1, actor_id=clerk.id)
    reservations.release_units(r, tea.id, 2)
    db.session.commit()
    assert [(line.product_id, line.quantity) for line in r.lines] == [(mug.id, 2)]
    assert reservations.reserved_units(r, mug.id) == 2 and reservations.reserved_units(r, tea.id) == 0
    assert _entries("release") == [(mug.id, 0, -1, f"reservation:{r.id}:short", clerk.id),
                                   (tea.id, 0, -2, f"reservation:{r.id}:short", None)]
    reservations.release(r)
    with pytest.raises(DomainError) as err:
        reservations.release_units(r, mug.id, 1)
    assert (err.value.status, err.value.code, err.value.extra) == (409, "reservation_not_active",
                                                                   {"status_now": "released"})
    assert reservations.reserved_units(r, mug.id) == 0
    assert_stock_invariants()


def test_a_corrected_pick_takes_back_given_up_units_only_while_they_are_free_and_the_hold_lives(shelf, at):
    s, mug, tea = shelf
    clerk = f.user("staff", [s])
    r = reservations.reserve(s.id, {mug: 3, tea: 2}, "order:1", dt.timedelta(hours=1))
    reservations.release_units(r, mug.id, 2)
    reservations.release_units(r, tea.id, 2)  # the whole TEA line goes
    reservations.regain_units(r, mug, 1, actor_id=clerk.id)
    reservations.regain_units(r, tea, 1, actor_id=clerk.id)  # the line comes back
    db.session.commit()
    assert sorted((line.product_id, line.quantity) for line in r.lines) == [(mug.id, 2), (tea.id, 1)]
    assert _entries("reservation")[-2:] == [(mug.id, 0, 1, f"reservation:{r.id}:regained", clerk.id),
                                            (tea.id, 0, 1, f"reservation:{r.id}:regained", clerk.id)]
    reservations.reserve(s.id, {mug: 2}, "order:2")  # MUG: 5 on hand, 4 held, 1 free
    with pytest.raises(DomainError) as err:
        reservations.regain_units(r, mug, 2)
    assert (err.value.code, err.value.extra["short"][0]["available"]) == ("insufficient_stock", 1)
    at(r.expires_at)  # still `active` (the sweep has not run), but over at this very second
    with pytest.raises(DomainError) as err:
        reservations.regain_units(r, mug, 1)
    assert (err.value.status, err.value.code, err.value.extra) == (409, "reservation_not_active",
                                                                   {"status_now": "active"})
    db.session.rollback()
    reservations.release(r)
    with pytest.raises(DomainError) as err:
        reservations.regain_units(r, mug, 1)
    assert (err.value.code, err.value.extra) == ("reservation_not_active", {"status_now": "released"})
    db.session.rollback()
    assert_stock_invariants()


def test_a_handed_over_hold_cannot_be_released_after_all(shelf, at):
    s, mug, _ = shelf
    r = reservations.reserve(s.id, {mug: 2}, "order:1")
    reservations.consume(r, {mug.id: 2})
    db.session.commit()
    with pytest.raises(DomainError) as err:
        reservations.release(r)
    assert (err.value.status, err.value.code, err.value.extra) == (409, "reservation_not_active",
                                                                   {"status_now": "consumed"})
    db.session.rollback()
    assert db.session.get(Stock, (s.id, mug.id)).on_hand == 3
    assert_stock_invariants()
