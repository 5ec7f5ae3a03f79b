"""Holds by SKU, and the one-statement hold on PostgreSQL: the same rows as the full path, or none."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from inventory import reservations
from inventory.models import LedgerEntry, Reservation, ReservationLine, Stock
from shop.core.errors import DomainError
from shop.core.extensions import db
from tests.support import factories as f
from tests.support.invariants import assert_stock_invariants


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
    seen: list[str] = []
    engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        db.session.connection()  # the transaction is already open, as in a request after auth
        reservations.reserve_skus(s.id, {"MUG": 2}, "counter:3")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(seen) == 1 and seen[0].lstrip().startswith("WITH want AS")
    db.session.commit()
    assert_stock_invariants()


def test_stock_rows_the_session_holds_show_the_new_hold(shelf):
    s, mug, _ = shelf
    row = db.session.get(Stock, (s.id, mug.id))
    assert row.reserved == 0
    reservations.reserve(s.id, {mug: 4}, "order:9")
    assert row.reserved == 4  # the one-statement hold does not leave it stale
    db.session.commit()
    assert_stock_invariants()
