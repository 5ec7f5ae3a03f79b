"""The stock invariants of DESIGN.md, checked against the database."""

from __future__ import annotations

from sqlalchemy import func, select

from inventory.models import LedgerEntry, Reservation, ReservationLine, Stock
from shop.core.extensions import db


def assert_stock_invariants() -> None:
    """on_hand and reserved equal their ledger sums; reserved equals the live reservations; each
    line's store, expiry and live flag are its reservation's."""
    ledger = {
        (s, p): (oh, rs)
        for s, p, oh, rs in db.session.execute(
            select(LedgerEntry.store_id, LedgerEntry.product_id,
                   func.sum(LedgerEntry.delta_on_hand), func.sum(LedgerEntry.delta_reserved))
            .group_by(LedgerEntry.store_id, LedgerEntry.product_id)
        )
    }
    live = {
        (s, p): q
        for s, p, q in db.session.execute(
            select(Reservation.store_id, ReservationLine.product_id, func.sum(ReservationLine.quantity))
            .join(Reservation)
            .where(Reservation.status == "active")
            .group_by(Reservation.store_id, ReservationLine.product_id)
        )
    }
    for row in db.session.scalars(select(Stock).execution_options(populate_existing=True)):
        key = (row.store_id, row.product_id)
        on_hand, reserved = ledger.get(key, (0, 0))
        assert row.on_hand == on_hand, f"{key}: on_hand {row.on_hand} != ledger {on_hand}"
        assert row.reserved == reserved, f"{key}: reserved {row.reserved} != ledger {reserved}"
        assert row.reserved == live.get(key, 0), f"{key}: reserved {row.reserved} != live {live.get(key, 0)}"
        assert row.reserved >= 0
    # Lines copy their hold's store, expiry and liveness for ix_reservation_lines_live: never out of step.
    astray = db.session.execute(
        select(ReservationLine.id).join(Reservation)
        .where((ReservationLine.live != (Reservation.status == "active"))
               | (ReservationLine.store_id != Reservation.store_id)
               | (ReservationLine.expires_at != Reservation.expires_at))
    ).all()
    assert astray == [], f"reservation lines out of step with their hold: {astray}"
