"""A catalog and a backlog of expired holds big enough for real plans, written by PostgreSQL itself.

Used by the plan test (tests/integration/test_plans_at_scale.py) and by `make bench`. Rows are made
with INSERT ... SELECT over generate_series (200,000 SKUs at five stores in seconds, where the ORM
would take minutes), and every figure agrees with its ledger and its holds, as the app would leave it.
Each runs unwatched (shop.core.database.unwatched): a bulk statement is rightly quiet for seconds on
a loaded machine, where the silence probe's fresh connection may not answer in time.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from shop.core import database
from shop.core.extensions import db

PREFIX = "C-"


def catalog_sku(n: int) -> str:
    """The SKU of the n-th catalog item (1-based), as `seed_catalog` names it."""
    return f"{PREFIX}{n:06d}"


_SKU_SQL = f"'{PREFIX}' || lpad(CAST(g AS text), 6, '0')"


def seed_catalog(count: int, store_ids: list[int], on_hand: int = 50) -> None:
    """`count` products, each received `on_hand` times at every store in `store_ids`."""
    with database.unwatched(db.session.connection()):
        _seed_catalog(count, store_ids, on_hand)


def _seed_catalog(count: int, store_ids: list[int], on_hand: int) -> None:
    db.session.execute(text(
        "INSERT INTO products (sku, name, price, currency, active, created_at, updated_at) "
        f"SELECT {_SKU_SQL}, 'Catalog item ' || g, 100 + g % 5000, 'USD', true, now(), now() "
        "FROM generate_series(1, :n) AS g"), {"n": count})
    catalog = f"FROM products AS p CROSS JOIN unnest(CAST(:stores AS integer[])) AS s WHERE p.sku LIKE '{PREFIX}%'"
    db.session.execute(text(
        "INSERT INTO stock (store_id, product_id, on_hand, reserved, safety_stock) "
        f"SELECT s, p.id, :on_hand, 0, 0 {catalog}"), {"stores": store_ids, "on_hand": on_hand})
    db.session.execute(text(
        "INSERT INTO stock_ledger (store_id, product_id, delta_on_hand, delta_reserved, reason, source, created_at) "
        f"SELECT s, p.id, :on_hand, 0, 'receipt', 'seed', now() {catalog}"), {"stores": store_ids, "on_hand": on_hand})


_HOLDS = text(f"""
WITH holds AS (
    INSERT INTO reservations (store_id, reference, status, expires_at, at_risk, created_at)
    SELECT :store_id, 'seeded:' || g, :status, :expires_at, false, :created_at
    FROM generate_series(1, :n) AS g
    RETURNING id, CAST(split_part(reference, ':', 2) AS integer) AS g
), lines AS (
    INSERT INTO reservation_lines (reservation_id, product_id, quantity, at_risk, store_id, expires_at, live)
    SELECT holds.id, p.id, 1, false, :store_id, :expires_at, :status = 'active'
    FROM holds JOIN products AS p ON p.sku = '{PREFIX}' || lpad(CAST(1 + (holds.g - 1) % :spread AS text), 6, '0')
    RETURNING product_id, quantity
), per_product AS (
    SELECT product_id, sum(quantity) AS units FROM lines GROUP BY product_id
), entries AS (
    INSERT INTO stock_ledger (store_id, product_id, delta_on_hand, delta_reserved, reason, source, created_at)
    SELECT :store_id, product_id, 0, units, 'reservation', 'seeded', :created_at FROM per_product
    UNION ALL
    SELECT :store_id, product_id, 0, -units, 'release', 'seeded', :expires_at FROM per_product
    WHERE :status = 'released'
)
UPDATE stock AS s SET reserved = s.reserved + per_product.units
FROM per_product WHERE :status = 'active' AND s.store_id = :store_id AND s.product_id = per_product.product_id
""")


def seed_holds(store_id: int, count: int, spread: int, expires_at: dt.datetime, status: str = "active") -> None:
    """`count` one-unit holds at a store over the first `spread` catalog SKUs in turn (stocked
    there by `seed_catalog`), `active` (past expiry if `expires_at` is, and never swept: a
    backlog) or `released` (history), with their ledger entries and figures."""
    with database.unwatched(db.session.connection()):
        db.session.execute(_HOLDS, {"store_id": store_id, "n": count, "spread": spread, "status": status,
                                    "expires_at": expires_at, "created_at": expires_at - dt.timedelta(minutes=15)})
