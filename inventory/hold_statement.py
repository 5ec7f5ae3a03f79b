"""The common hold in one PostgreSQL statement: the fast path of inventory.reservations.

A hold is the hottest write in the shop (every checkout and counter hold). Statement by statement
it costs seven round trips with the product lookup; here it is one. It finds the products by SKU,
locks their stock rows in key order (the order of every other writer, so no deadlock), checks that
each has the units free *counting expired holds as still reserved*, and only then writes the hold,
its lines, the ledger entries and the new `reserved` figures.

Counting expired holds as reserved can only under-state what is free, so a hold that passes here
is one the full path would grant. When it does not pass, the statement writes nothing. If every SKU
is known and stocked and no expired hold has a line on any of them, its figures are exactly the
ones the full path would look at, so it refuses itself: it returns each line's free units and the
409 is answered without a second round trip (a refusal is the race's common answer: 190 of 200
buyers). Otherwise (an unknown SKU, a missing stock row, an expired hold in the way) it declines
and the full path decides: it releases expired holds under the same locks, names every short SKU,
and tells an unknown SKU from a short one.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from inventory.models import Stock
from inventory.stock import available, free_units
from shop.core.extensions import db
from shop.core.plans import prepared

_s = Stock.__table__.alias("s")
# The one free-units expression, on the raw `reserved` (expired holds still counted: a lower bound).
_FREE = str(free_units(_s.c.on_hand, _s.c.reserved, _s.c.safety_stock).compile(dialect=postgresql.dialect()))

_HOLD = """
WITH want AS (
    SELECT p.id AS product_id, p.sku, w.quantity
    FROM (VALUES {lines}) AS w(sku, quantity)
    JOIN products AS p ON p.sku = w.sku AND (p.active OR NOT :active_only)
), locked AS (
    SELECT s.product_id, {free} AS free, s.on_hand, s.reserved, s.safety_stock
    FROM stock AS s
    WHERE s.store_id = :store_id AND s.product_id IN (SELECT product_id FROM want)
    ORDER BY s.product_id
    FOR UPDATE
), verdict AS (
    SELECT count(*) = {count} AS complete,
           count(*) = {count} AND coalesce(bool_and(l.free >= w.quantity), false) AS ok
    FROM locked AS l JOIN want AS w USING (product_id)
), hold AS (
    INSERT INTO reservations (store_id, reference, status, expires_at, at_risk, created_at)
    SELECT :store_id, :reference, 'active', :expires_at, false, :now FROM verdict WHERE ok
    RETURNING id
), hold_lines AS (
    INSERT INTO reservation_lines (reservation_id, product_id, quantity, at_risk, store_id, expires_at, live)
    SELECT hold.id, w.product_id, w.quantity, false, :store_id, :expires_at, true FROM hold, want AS w
    RETURNING id, product_id
), moved AS (
    UPDATE stock AS s SET reserved = s.reserved + w.quantity
    FROM want AS w, verdict AS v
    WHERE v.ok AND s.store_id = :store_id AND s.product_id = w.product_id
), entries AS (
    INSERT INTO stock_ledger
        (store_id, product_id, delta_on_hand, delta_reserved, reason, source, actor_id, created_at)
    SELECT :store_id, w.product_id, 0, w.quantity, 'reservation', 'reservation:' || hold.id, :actor_id, :now
    FROM hold, want AS w
)
SELECT hold.id AS hold_id, hold_lines.id AS line_id, want.product_id, want.sku, want.quantity,
       CAST(NULL AS integer) AS on_hand, CAST(NULL AS integer) AS reserved,
       CAST(NULL AS integer) AS safety_stock, false AS in_the_way
FROM hold, hold_lines JOIN want USING (product_id)
UNION ALL
-- Refused: every line's figures, and whether an expired hold (inventory.stock.lapsed: live and
-- past expiry, ix_reservation_lines_live) keeps units of it that the full path would free first.
SELECT NULL, NULL, w.product_id, w.sku, w.quantity, l.on_hand, l.reserved, l.safety_stock, EXISTS (
    SELECT FROM reservation_lines AS rl
    WHERE rl.store_id = :store_id AND rl.product_id = w.product_id AND rl.live AND rl.expires_at <= :now)
FROM verdict AS v, locked AS l JOIN want AS w USING (product_id)
WHERE v.complete AND NOT v.ok
ORDER BY 3
"""


@functools.cache
def _statement(count: int):
    """The statement for holds of `count` lines. The lines are a VALUES list, not arrays: the
    planner then knows how many rows it joins even in a generic plan, finds the reused plan as
    cheap as a fresh one, and keeps it (with arrays it guessed 10 rows and planned every hold)."""
    lines = ", ".join(f"(CAST(:sku_{i} AS text), CAST(:quantity_{i} AS integer))" for i in range(count))
    return text(_HOLD.format(lines=lines, count=count, free=_FREE))


@dataclass(frozen=True)
class Refused:
    """The statement's own refusal: the short lines as the 409 names them, in product order."""

    short: list[dict]


def try_hold(store_id: int, quantities: dict[str, int], reference: str, now: dt.datetime,
             expires_at: dt.datetime, actor_id: int | None, *, active_only: bool):
    """(hold id, [(line id, product id, sku)] in product order) when every SKU is in the catalog
    and free and is now held; Refused when the full path would refuse the same lines with no
    expired hold to release first; None when the statement wrote nothing and the full path must decide."""
    params = {"active_only": active_only, "store_id": store_id, "reference": reference,
              "expires_at": expires_at, "now": now, "actor_id": actor_id}
    for i, (sku, quantity) in enumerate(quantities.items()):
        params[f"sku_{i}"], params[f"quantity_{i}"] = sku, quantity
    with prepared(db.session):  # planning this statement costs more than running it
        rows = db.session.execute(_statement(len(quantities)), params).all()
    if not rows:
        return None
    if rows[0].hold_id is not None:
        return rows[0].hold_id, [(row.line_id, row.product_id, row.sku) for row in rows]
    if any(row.in_the_way for row in rows):
        return None
    free = [(row, available(row.on_hand, row.reserved, row.safety_stock)) for row in rows]
    return Refused([{"sku": row.sku, "requested": row.quantity, "available": units}
                    for row, units in free if units < row.quantity])
