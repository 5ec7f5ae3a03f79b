"""The one place a SKU coming back at a store is noticed: `watch` the stock rows a writer changes.

Every change to what shoppers can reserve goes through a locked stock row: the ledger
(inventory.ledger.apply_many: receipts, returns, counts, holds released, expired or cancelled,
short picks) and the safety stock (inventory.views.stock). Both wrap the change in `watch`, which
compares `available` (the one free-units rule, inventory.stock) on each row before and after, and
sends `events.stock_available` for a row that went from 0 to more, once per change, inside the
writer's transaction (a receiver's rows commit or roll back with it).

The figures are the row's own: a hold past its expiry that no sweep has released yet still counts
as reserved here, although readers already count its units as free. So a SKU that comes back only
because a hold lapsed is announced when the sweep (or the next writer) releases that hold, within
HOLDS_SWEEP_SECONDS, not at the instant of expiry; and it is never announced twice for one rise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from flask import current_app

from inventory.models import Stock
from inventory.stock import available
from shop.core import events
from stores.services import get_store


def _free(row: Stock) -> int:
    return available(row.on_hand, row.reserved, row.safety_stock)


@contextlib.contextmanager
def watch(rows: Iterable[Stock]) -> Iterator[None]:
    """Around a change to these locked rows: announce each that went from nothing to reserve to some."""
    rows = list(rows)
    before = [_free(row) for row in rows]
    yield
    for row, was in zip(rows, before, strict=True):
        now = _free(row)
        if was == 0 and now > 0:
            events.stock_available.send(
                current_app._get_current_object(), store_id=row.store_id, sku=row.product.sku,
                product_id=row.product_id, available=now, store_name=get_store(row.store_id).name)
