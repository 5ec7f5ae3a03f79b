"""Stock figures per store and SKU: locking rows in key order, and reading what is available.

Every writer locks the stock rows it will change with SELECT ... FOR UPDATE in (store, product)
order before it touches any reservation row, so concurrent writers queue instead of deadlocking,
and the check "enough available?" is made on a row no one else can change until commit
(READ COMMITTED is enough; see docs/inventory.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import lazyload

from inventory.models import Product, ReservationLine, Stock
from shop.core.errors import DomainError
from shop.core.extensions import db
from shop.core.limits import MAX_AVAILABILITY_STORES
from stores.models import Store
from stores.services import get_store, within


def ensure_rows(store_id: int, product_ids: Iterable[int]) -> None:
    """Create missing stock rows at zero; concurrent creators do not collide (ON CONFLICT DO NOTHING).

    Rare (the first stock of a SKU at a store), so this is where an unknown store becomes a 404.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return
    get_store(store_id)
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(Stock).values([{"store_id": store_id, "product_id": pid} for pid in ids])
    db.session.execute(stmt.on_conflict_do_nothing(index_elements=["store_id", "product_id"]))


def run_locking(stmt, store_id: int, product_ids: Iterable[int], **params) -> list:
    """Run a statement that locks stock rows (a Stock first in each row, bound to `store_id` and
    `ids`, in key order); the first stock of a SKU at this store is created, then locked again."""
    ids = sorted(set(product_ids))
    params = {"store_id": store_id, "ids": ids, **params}
    rows = db.session.execute(stmt, params).all()
    if not set(ids) <= {row[0].product_id for row in rows}:
        ensure_rows(store_id, ids)
        rows = db.session.execute(stmt, params).all()
    return rows


def _of_ids(store: str = "store_id"):
    return Stock.store_id == bindparam(store), Stock.product_id.in_(bindparam("ids", expanding=True))


def locking_rows(store, ids):
    """The stock rows at `store` (an expression) of the products `ids` selects, locked in key order,
    for a CTE (inventory.expiring's lock-and-claim; `lock_rows` is the same lock, by binds)."""
    return (select(Stock.__table__).where(Stock.store_id == store, Stock.product_id.in_(ids))
            .order_by(Stock.product_id).with_for_update(of=Stock.__table__))


_LOCK = (
    select(Stock)
    .where(*_of_ids())
    .order_by(Stock.product_id)
    .options(lazyload(Stock.product))
    .with_for_update(of=Stock)
    .execution_options(populate_existing=True)
)


def lock_rows(store_id: int, product_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock (and create if missing) the stock rows of these products at this store, in key order."""
    return {stock.product_id: stock for stock, in run_locking(_LOCK, store_id, product_ids)}


def lapsed(line, now):
    """The line (ReservationLine or an alias) is of a hold past its expiry that nobody has released
    yet: counted in `reserved`, free to anyone. Served by ix_reservation_lines_live."""
    return and_(line.live, line.expires_at <= now)


def expired_units(store_id, product_id, now):
    """Units still counted in `reserved` at (store, product) by active reservations past expiry.

    A correlated scalar subquery: pass the outer query's columns or bind parameters. One range of
    ix_reservation_lines_live: neither a backlog of expired holds of other SKUs nor the SKU's
    history of released holds is read.
    """
    return (
        select(func.coalesce(func.sum(ReservationLine.quantity), 0))
        .where(ReservationLine.store_id == store_id, ReservationLine.product_id == product_id,
               lapsed(ReservationLine, now))
        .scalar_subquery()
    )


def reserved_now(reserved, store_id, product_id, now):
    """`reserved` less the units of holds past expiry that no sweep has released yet (SQL)."""
    return reserved - expired_units(store_id, product_id, now)


def free_units(on_hand, reserved, safety_stock):
    """The one statement of what a new hold may take: on hand, less reserved, less the safety stock.

    Plain arithmetic, so the same expression serves ints (rows a writer has locked) and SQL columns
    (the hold statement renders it). Pass a `reserved` without expired holds (`reserved_now`, or a
    writer that released them first); the hold statement passes the raw figure, which can only
    under-state what is free.
    """
    return on_hand - reserved - safety_stock


def available(on_hand: int, reserved: int, safety_stock: int) -> int:
    """What a shopper is told is free: `free_units`, never below zero."""
    return max(0, free_units(on_hand, reserved, safety_stock))


# Built once: the hot read paths (cart reads, the 100-SKU lookup) skip statement construction.
_STORE_STOCK = (
    select(
        Product.sku,
        func.coalesce(Stock.on_hand, 0),
        reserved_now(func.coalesce(Stock.reserved, 0), bindparam("store_id"), Product.id, bindparam("now")),
        func.coalesce(Stock.safety_stock, 0),
    )
    .outerjoin(Stock, and_(Stock.product_id == Product.id, Stock.store_id == bindparam("store_id")))
    .where(Product.sku.in_(bindparam("skus", expanding=True)))
)


def store_stock(store_id: int, skus: list[str], now: dt.datetime) -> list[dict]:
    """Figures for these SKUs at one store in one query; a SKU never stocked there reads as zeros.

    A 422 `unknown_sku` names every SKU that is not in the catalog.
    """
    found = {
        sku: {"sku": sku, "store_id": store_id, "on_hand": on_hand, "reserved": res,
              "safety_stock": safety, "available": available(on_hand, res, safety)}
        for sku, on_hand, res, safety in db.session.execute(
            _STORE_STOCK, {"store_id": store_id, "skus": list(skus), "now": now})
    }
    unknown = [sku for sku in skus if sku not in found]
    if unknown:
        raise DomainError("unknown_sku", f"Unknown SKU: {', '.join(unknown)}.", skus=unknown)
    return [found[sku] for sku in skus]


# Every store with its row of one product (a store that never stocked it reads as zeros), in one
# statement: each row is found by primary key from its store, never by a scan of the SKU's rows.
_AVAILABILITY = (
    select(Store.id, Store.code, Store.name, Store.latitude, Store.longitude, func.coalesce(Stock.on_hand, 0),
           reserved_now(func.coalesce(Stock.reserved, 0), Store.id, bindparam("product_id"), bindparam("now")),
           func.coalesce(Stock.safety_stock, 0))
    .outerjoin(Stock, and_(Stock.store_id == Store.id, Stock.product_id == bindparam("product_id")))
    .order_by(Store.code)
)


def availability(product: Product, now: dt.datetime, near: tuple[float, float] | None,
                 radius_km: float) -> list[dict]:
    """Where a SKU can be had: what each store (nearest first, with `near`; at most 100) has available.

    One statement reads the stores and their rows of this SKU together; the stores' opening hours
    are not read (the answer does not show them). Which stores are near is stores.services.within,
    the rule the store list uses.
    """
    rows = db.session.execute(_AVAILABILITY, {"product_id": product.id, "now": now}).all()
    return [
        {"store_id": row.id, "store_code": row.code, "store_name": row.name,
         "available": available(row[5], row[6], row[7]),
         "distance_km": None if distance is None else round(distance, 2)}
        for row, distance in within(rows, near, radius_km)[:MAX_AVAILABILITY_STORES]
    ]
