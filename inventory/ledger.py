"""The stock ledger: the one way stock figures change, so on_hand and reserved always equal its sums."""

from __future__ import annotations

from sqlalchemy import select

from inventory.models import LedgerEntry, Stock
from inventory.pagination import decode_cursor, page
from shop.extensions import db


def apply(
    stock: Stock,
    *,
    reason: str,
    delta_on_hand: int = 0,
    delta_reserved: int = 0,
    source: str = "",
    actor_id: int | None = None,
) -> LedgerEntry:
    """Change a stock row the caller has locked (inventory.stock.lock_rows) and append its entry."""
    stock.on_hand += delta_on_hand
    stock.reserved += delta_reserved
    entry = LedgerEntry(
        store_id=stock.store_id,
        product_id=stock.product_id,
        delta_on_hand=delta_on_hand,
        delta_reserved=delta_reserved,
        reason=reason,
        source=source,
        actor_id=actor_id,
    )
    db.session.add(entry)
    return entry


def entries(store_id: int, product_id: int | None, limit: int, cursor: str | None) -> dict:
    """A store's ledger, newest first, paginated by an opaque cursor."""
    stmt = select(LedgerEntry).where(LedgerEntry.store_id == store_id).order_by(LedgerEntry.id.desc())
    if product_id is not None:
        stmt = stmt.where(LedgerEntry.product_id == product_id)
    before = decode_cursor(cursor, int)
    if before is not None:
        stmt = stmt.where(LedgerEntry.id < before)
    return page(list(db.session.scalars(stmt.limit(limit + 1))), limit, key=lambda e: e.id)
