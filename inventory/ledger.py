"""The stock ledger: the one way stock figures change, so on_hand and reserved always equal its sums."""

from __future__ import annotations

from inventory.models import LedgerEntry, Stock
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
