"""The stock ledger: the one way stock figures change, so on_hand and reserved always equal its sums."""

from __future__ import annotations

from sqlalchemy import update

from inventory.models import LedgerEntry, Stock
from shop.extensions import db


def ensure_stock_row(store_id: int, product_id: int) -> None:
    """Create the (store, SKU) stock row at zero if it is missing; safe under concurrency."""
    if db.session.get(Stock, (store_id, product_id)) is not None:
        return
    with db.session.begin_nested():
        db.session.add(Stock(store_id=store_id, product_id=product_id))


def record(
    store_id: int,
    product_id: int,
    *,
    reason: str,
    delta_on_hand: int = 0,
    delta_reserved: int = 0,
    source: str = "",
    actor_id: int | None = None,
) -> LedgerEntry:
    """Apply a change to the stock row with one atomic UPDATE and append its ledger entry."""
    db.session.execute(
        update(Stock)
        .where(Stock.store_id == store_id, Stock.product_id == product_id)
        .values(
            on_hand=Stock.on_hand + delta_on_hand, reserved=Stock.reserved + delta_reserved
        )
        .execution_options(synchronize_session=False)
    )
    entry = LedgerEntry(
        store_id=store_id,
        product_id=product_id,
        delta_on_hand=delta_on_hand,
        delta_reserved=delta_reserved,
        reason=reason,
        source=source,
        actor_id=actor_id,
    )
    db.session.add(entry)
    return entry
