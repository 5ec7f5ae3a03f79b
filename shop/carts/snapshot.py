"""A cart read in one statement: the cart, its lines, current prices and stock at the pickup store.

Every page of every channel shows the cart, so reading it is the hottest path in the shop. One
prebuilt Core statement replaces ORM loads of the cart, its lines and products plus a stock query
(see docs/performance.md). Writers still lock and change the ORM `Cart`; after their flush they
read the snapshot in the same transaction, so the answer is exactly what they are about to commit.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select
from sqlalchemy.engine import Row

from inventory.models import Product, Stock
from inventory.stock import available, reserved_now
from shop.carts.models import Cart, CartLine
from shop.core.clock import clock
from shop.core.extensions import db
from shop.core.plans import prepared


@dataclass(frozen=True)
class SnapshotLine:
    product_id: int  # so a checkout writes its order lines and hold without reading the products again
    sku: str
    name: str
    quantity: int
    price: int
    price_at_add: int
    currency: str
    active: bool
    available: int | None  # None without a pickup store


@dataclass(frozen=True)
class CartSnapshot:
    id: str
    customer_id: int | None
    status: str
    merged_into_id: str | None
    pickup_store_id: int | None
    email: str | None
    phone: str | None
    coupon_code: str | None
    version: int
    notes: list
    last_activity_at: dt.datetime
    lines: tuple[SnapshotLine, ...]


_carts, _lines, _products, _stock = Cart.__table__, CartLine.__table__, Product.__table__, Stock.__table__
_CART_COLUMNS = ("id", "customer_id", "status", "merged_into_id", "pickup_store_id", "email", "phone",
                 "coupon_code", "version", "notes", "last_activity_at")


def _select(carts):
    """The snapshot's read, its cart columns from `carts` (the table, or an UPDATE's RETURNING)."""
    return (
        select(
            *(carts.c[name] for name in _CART_COLUMNS),
            _lines.c.product_id, _lines.c.quantity, _lines.c.unit_price_at_add,
            _products.c.sku, _products.c.name, _products.c.price, _products.c.currency, _products.c.active,
            _stock.c.on_hand,
            reserved_now(_stock.c.reserved, carts.c.pickup_store_id, _lines.c.product_id, bindparam("now"))
            .label("reserved"),
            _stock.c.safety_stock,
        )
        .select_from(carts)
        .outerjoin(_lines, _lines.c.cart_id == carts.c.id)
        .outerjoin(_products, _products.c.id == _lines.c.product_id)
        .outerjoin(_stock, and_(_stock.c.store_id == carts.c.pickup_store_id,
                                _stock.c.product_id == _lines.c.product_id))
    )


_SELECT = _select(_carts)
_STATEMENT = _SELECT.where(_carts.c.id == bindparam("cart_id")).order_by(_lines.c.id)
# Many carts at once (the abandonment sweep's batch): the same read, one statement for the batch.
_MANY = _SELECT.where(_carts.c.id.in_(bindparam("cart_ids", expanding=True))).order_by(_carts.c.id, _lines.c.id)


def after(update, also=None):
    """`update` (of one cart, by key) and the snapshot's read of what it returns, as one statement
    (PostgreSQL: the UPDATE a data-modifying WITH query). The read runs on the statement's snapshot,
    taken before the UPDATE waited for the row's lock, so each row also carries the version that
    snapshot saw (`seen_version`): `locked` trusts the rows only when the UPDATE raised exactly it.
    `also(query, changed)` may add to the read what the caller wants with it (a checkout: the store)."""
    changed = update.returning(*(_carts.c[name] for name in _CART_COLUMNS)).cte("changed")
    seen = _carts.alias("seen")
    query = _select(changed).add_columns(seen.c.version.label("seen_version")).join(seen, seen.c.id == changed.c.id)
    return (query if also is None else also(query, changed)).order_by(_lines.c.id)


def _line(row) -> SnapshotLine:
    if row.pickup_store_id is None:
        free = None
    elif row.on_hand is None:  # never stocked at this store
        free = 0
    else:
        free = available(row.on_hand, row.reserved, row.safety_stock)
    return SnapshotLine(row.product_id, row.sku, row.name, row.quantity, row.price, row.unit_price_at_add, row.currency,
                        row.active, free)


def _snapshot(rows) -> CartSnapshot:
    """One cart's rows (its columns repeated on each line's row) as its snapshot."""
    head = rows[0]
    lines = tuple(_line(row) for row in rows if row.sku is not None)
    return CartSnapshot(*(getattr(head, name) for name in _CART_COLUMNS), lines=lines)


def load(cart_id: str) -> CartSnapshot | None:
    """The cart as it stands in this transaction (pending ORM changes are flushed first), or None.

    Run on the session's connection, not through the session: the statement names ORM columns (the
    expired units' subquery), so the session's execute took its ORM path (loading rows as entities,
    ~0.2 ms of a 2 ms read) for plain rows. The one thing that path did for us, the autoflush, is done
    here. Prepared: planning it cost three times running it (0.32 against 0.11 ms), and every step
    is a key lookup (shop.core.plans)."""
    session = db.session
    if session.autoflush:
        session.flush()
    with prepared(session):
        rows = session.connection().execute(_STATEMENT, {"cart_id": cart_id, "now": clock.now()}).all()
    return _snapshot(rows) if rows else None


def locked(statement, params: dict) -> tuple[bool, CartSnapshot | None, Row | None]:
    """Run a statement built by `after` (`params` with its `now`): (changed, snapshot, its first
    row, for what `also` added). (False, None, None): the UPDATE changed no row. (True, None, None):
    it did, but a change committed after the statement's snapshot was taken (the version it raised
    is not one above the version the read saw): the caller reads the cart again (`load`)."""
    session = db.session
    if session.autoflush:
        session.flush()
    with prepared(session):  # an UPDATE by key and key lookups, as the bump and `load`
        rows = session.connection().execute(statement, params).all()
    if not rows:
        return False, None, None
    if rows[0].version != rows[0].seen_version + 1:
        return True, None, None
    return True, _snapshot(rows), rows[0]


def load_many(cart_ids: list[str]) -> dict[str, CartSnapshot]:
    """`load` for many carts in one statement: {cart id: snapshot} (a missing cart is left out)."""
    rows = db.session.execute(_MANY, {"cart_ids": list(cart_ids), "now": clock.now()}).all()
    return {cart_id: _snapshot(list(group)) for cart_id, group in itertools.groupby(rows, key=lambda row: row.id)}
