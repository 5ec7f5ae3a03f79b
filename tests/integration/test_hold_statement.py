"""Holds by SKU, and the one-statement hold on PostgreSQL: the same rows as the full path, or none."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from sqlalchemy import event

from inventory import reservations
from inventory.models import LedgerEntry, Reservation, ReservationLine, Stock
from shop.core.clock import clock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants


@contextlib.contextmanager
def statements():
    """The SQL run inside, the transaction being already open (as in a request after auth)."""
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    db.session.connection()
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_a_hold_by_sku_books_every_line_and_its_ledger(shelf):
    s, mug, tea = shelf
    staff = f.user("staff", [s])
    held = reservations.reserve_skus(s.id, {"TEA": 2, "MUG": 3}, "counter:1", actor_id=staff.id)
    db.session.commit()
    assert held.status == "active" and sorted((line.sku, line.quantity) for line in held.lines) == [
        ("MUG", 3), ("TEA", 2)]
    row = db.session.get(Reservation, held.id)
    assert row.reference == "counter:1" and row.expires_at == held.expires_at
    assert {(line.product_id, line.quantity) for line in row.lines} == {(mug.id, 3), (tea.id, 2)}
    entries = db.session.scalars(db.select(LedgerEntry).where(LedgerEntry.reason == "reservation")).all()
    assert {(e.product_id, e.delta_reserved, e.source, e.actor_id) for e in entries} == {
        (mug.id, 3, f"reservation:{held.id}", staff.id), (tea.id, 2, f"reservation:{held.id}", staff.id)}
    assert db.session.get(Stock, (s.id, tea.id)).reserved == 2
    assert_stock_invariants()


@pytest.mark.parametrize("skus, code, status", [
    ({"MUG": 1, "NOPE": 1, "NADA": 1}, "unknown_sku", 422),
    ({"OLD": 1}, "unknown_sku", 422),          # inactive: not sold at the counter
    ({"MUG": 1, "FRESH": 1}, "insufficient_stock", 409),  # never stocked at this store
    ({"MUG": 5, "TEA": 3}, "insufficient_stock", 409),
])
def test_a_refused_hold_by_sku_writes_nothing(shelf, skus, code, status):
    s, _, _ = shelf
    f.product(sku="OLD", active=False)
    f.product(sku="FRESH")
    db.session.commit()
    with pytest.raises(DomainError) as err:
        reservations.reserve_skus(s.id, skus, "counter:2")
    assert (err.value.code, err.value.status) == (code, status)
    if code == "unknown_sku":
        assert err.value.extra["skus"] == [sku for sku in skus if sku not in ("MUG", "TEA")]
    db.session.commit()  # even a caller that commits after the refusal keeps nothing
    assert _count(Reservation) == _count(ReservationLine) == 0
    assert _count(LedgerEntry) == 2  # the two receipts of the fixture
    assert_stock_invariants()


@pytest.mark.postgres
def test_on_postgresql_a_hold_that_fits_is_one_statement(shelf):
    s, mug, _ = shelf
    with statements() as seen:
        reservations.reserve_skus(s.id, {"MUG": 2}, "counter:3")
    assert len(seen) == 1 and seen[0].lstrip().startswith("WITH want AS")
    db.session.commit()
    assert_stock_invariants()


@pytest.mark.postgres
def test_on_postgresql_a_checkouts_hold_is_one_statement_too(shelf):
    """Checkout holds by product (`reserve`): the same one statement, keeping what it was asked."""
    s, mug, tea = shelf
    with statements() as seen:
        held = reservations.reserve(s.id, {mug: 2, tea: 1}, "order:9", dt.timedelta(minutes=20))
    assert len(seen) == 1 and seen[0].lstrip().startswith("WITH want AS")
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Reservation, held.id)
    assert (row.reference, row.expires_at - row.created_at) == ("order:9", dt.timedelta(minutes=20))
    assert sorted((line.product_id, line.quantity) for line in row.lines) == sorted([(mug.id, 2), (tea.id, 1)])
    assert_stock_invariants()


@pytest.mark.postgres
def test_on_postgresql_a_refusal_with_no_expired_hold_in_the_way_is_one_statement(shelf):
    s, mug, tea = shelf
    with statements() as seen, pytest.raises(DomainError) as refused:
        reservations.reserve_skus(s.id, {"TEA": 4, "MUG": 99}, "counter:4")
    assert len(seen) == 1 and seen[0].lstrip().startswith("WITH want AS")
    assert refused.value.code == "insufficient_stock"
    # The same answer as the full path gives: each short line, in product order, with what is free.
    assert refused.value.extra["short"] == sorted(
        [{"sku": "MUG", "requested": 99, "available": 5}, {"sku": "TEA", "requested": 4, "available": 2}],
        key=lambda line: {"MUG": mug.id, "TEA": tea.id}[line["sku"]])
    db.session.commit()
    assert _count(Reservation) == 0
    assert_stock_invariants()


@pytest.mark.postgres
def test_on_postgresql_an_expired_hold_in_the_way_still_goes_to_the_full_path(shelf, monkeypatch):
    s, mug, _ = shelf
    reservations.reserve_skus(s.id, {"MUG": 4}, "counter:old", ttl=dt.timedelta(minutes=5))
    db.session.commit()
    later = clock.now() + dt.timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    with statements() as seen:
        held = reservations.reserve_skus(s.id, {"MUG": 5}, "counter:new")  # fits once the old hold goes
    db.session.commit()
    assert len(seen) > 1 and held.status == "active"
    assert db.session.scalar(db.select(Reservation.status).where(Reservation.reference == "counter:old")) == "expired"
    assert_stock_invariants()


def test_stock_rows_the_session_holds_show_the_new_hold(shelf):
    s, mug, _ = shelf
    row = db.session.get(Stock, (s.id, mug.id))
    assert row.reserved == 0
    reservations.reserve(s.id, {mug: 4}, "order:9")
    assert row.reserved == 4  # the one-statement hold does not leave it stale
    db.session.commit()
    assert_stock_invariants()
