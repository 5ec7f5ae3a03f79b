"""The stock ledger: the one way stock figures change, so on_hand and reserved always equal its sums."""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sqlalchemy import Integer, String, bindparam, insert, select, text, update
from sqlalchemy.orm.attributes import set_committed_value

from inventory.back_in_stock import watch
from inventory.models import LedgerEntry, Stock
from shop.core.clock import clock
from shop.core.extensions import UTCDateTime, db
from shop.core.pagination import Page, keyset
from shop.core.plans import one_statement, prepared

_LEDGER, _STOCK = LedgerEntry.__table__, Stock.__table__
_INSERT = insert(_LEDGER)
_UPDATE = (
    update(_STOCK)
    .where(_STOCK.c.store_id == bindparam("s"), _STOCK.c.product_id == bindparam("p"))
    .values(on_hand=_STOCK.c.on_hand + bindparam("dh"), reserved=_STOCK.c.reserved + bindparam("dr"))
)

_WRITE = """
WITH change (n, store_id, product_id, dh, dr) AS (VALUES {rows}), entries AS (
    INSERT INTO stock_ledger (store_id, product_id, delta_on_hand, delta_reserved, reason, source,
                              actor_id, created_at)
    SELECT store_id, product_id, dh, dr, :reason, :source, :actor_id, :now FROM change ORDER BY n
)
UPDATE stock SET on_hand = stock.on_hand + change.dh, reserved = stock.reserved + change.dr
FROM change WHERE stock.store_id = change.store_id AND stock.product_id = change.product_id
"""


@functools.cache
def _write_statement(count: int):
    """The INSERT of `count` entries and the UPDATE of their rows as one statement (one round trip
    instead of two); entries get their ids in the order given, as the general path's do."""
    rows = ", ".join(f"({i}, CAST(:s_{i} AS integer), CAST(:p_{i} AS integer), CAST(:dh_{i} AS integer), "
                     f"CAST(:dr_{i} AS integer))" for i in range(count))
    return text(_WRITE.format(rows=rows)).bindparams(
        bindparam("reason", type_=String), bindparam("source", type_=String),
        bindparam("actor_id", type_=Integer), bindparam("now", type_=UTCDateTime))


def _write(changes: list[tuple[Stock, int, int]], entry: dict) -> None:
    if one_statement() and len({(st.store_id, st.product_id) for st, _, _ in changes}) == len(changes):
        params = dict(entry)  # a row twice would be one UPDATE's two matches: the general path
        for i, (st, dh, dr) in enumerate(changes):
            params |= {f"s_{i}": st.store_id, f"p_{i}": st.product_id, f"dh_{i}": dh, f"dr_{i}": dr}
        with prepared(db.session):  # rows by key (the caller flushed): planned once per connection and count
            db.session.execute(_write_statement(len(changes)), params)
        return
    db.session.execute(_INSERT, [
        {"store_id": st.store_id, "product_id": st.product_id, "delta_on_hand": dh, "delta_reserved": dr,
         "reason": entry["reason"], "source": entry["source"], "actor_id": entry["actor_id"],
         "created_at": entry["now"]}
        for st, dh, dr in changes
    ])
    db.session.execute(_UPDATE, [{"s": st.store_id, "p": st.product_id, "dh": dh, "dr": dr}
                                 for st, dh, dr in changes])


def apply_many(
    changes: Iterable[tuple[Stock, int, int]], *, reason: str, source: str = "", actor_id: int | None = None
) -> None:
    """Apply (stock, delta_on_hand, delta_reserved) changes to rows the caller has locked
    (inventory.stock.lock_rows) and append their entries: on PostgreSQL one statement, elsewhere
    one INSERT and one UPDATE per row (tests/integration/test_ledger_writes.py: the same rows).

    Core statements, not the unit of work, because every hold, release and till sale comes here;
    the loaded Stock objects are kept in step with what was written. A row that can only have
    gained units (on hand up, or reserved down) is watched for coming back (inventory.back_in_stock).
    """
    changes = list(changes)
    if not changes:
        return
    db.session.flush()  # pending ORM changes to these rows go first
    _write(changes, {"reason": reason, "source": source, "actor_id": actor_id, "now": clock.now()})
    with watch(st for st, dh, dr in changes if dh > 0 or dr < 0):
        for st, dh, dr in changes:
            set_committed_value(st, "on_hand", st.on_hand + dh)
            set_committed_value(st, "reserved", st.reserved + dr)


def apply(
    stock: Stock,
    *,
    reason: str,
    delta_on_hand: int = 0,
    delta_reserved: int = 0,
    source: str = "",
    actor_id: int | None = None,
) -> None:
    """Change one locked stock row and append its entry (see apply_many)."""
    apply_many([(stock, delta_on_hand, delta_reserved)], reason=reason, source=source, actor_id=actor_id)


def entries(store_id: int, product_id: int | None, limit: int, cursor: str | None) -> Page:
    """A store's ledger, newest first, one page after the cursor."""
    stmt = select(LedgerEntry).where(LedgerEntry.store_id == store_id)
    if product_id is not None:
        stmt = stmt.where(LedgerEntry.product_id == product_id)
    return keyset(stmt, (LedgerEntry.id,), limit=limit, cursor=cursor, descending=True)
