"""Letting a hold go under locks its caller already holds: claiming its status, giving its units
back, and finding the expired holds that touch a set of products (inventory.reservations'
lifecycle, the sweep and the full hold path all end a hold this way).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import aliased, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from inventory import ledger
from inventory.keysets import among
from inventory.models import Reservation, ReservationLine, Stock
from inventory.stock import lapsed, locking_rows
from shop.core.extensions import db
from shop.core.plans import one_statement, prepared

# On PostgreSQL the claim and its lines' liveness are one statement (a data-modifying CTE: one
# round trip instead of two); it returns a row per line (a NULL one for a hold without lines) when
# the hold was active, none when someone else moved it. Elsewhere: the two UPDATEs below.
_CLAIM = text("""
WITH claimed AS (
    UPDATE reservations SET status = :status WHERE id = :id AND status = 'active' RETURNING id
), lines AS (
    UPDATE reservation_lines SET live = false
    WHERE reservation_id IN (SELECT id FROM claimed) RETURNING product_id, at_risk
)
SELECT lines.product_id, lines.at_risk FROM claimed LEFT JOIN lines ON true
""")
_ENDED = "inventory.expiring.ended"


def _lock_and_claim():
    """The stock rows' lock (inventory.stock's, in key order) and the claim of an active, unexpired
    hold with lines at those rows, in one statement, the hold's lines read by it (the hold need not
    be loaded): the claim's condition reads the lock's count, so it runs only after every row is
    locked (the lock order stays stock, then holds) and only if every line's row exists. Each
    locked row comes back as its Stock, with the claim's outcome and the line's at_risk and quantity."""
    reservations, lines = Reservation.__table__, ReservationLine.__table__
    held = select(lines.c.product_id).where(lines.c.reservation_id == bindparam("hold_id"))
    store = select(reservations.c.store_id).where(reservations.c.id == bindparam("hold_id")).scalar_subquery()
    locked = locking_rows(store, held).cte("locked")
    rows = select(func.count()).select_from(locked).scalar_subquery()
    claimed = (update(reservations)
               .where(reservations.c.id == bindparam("hold_id"), reservations.c.status == "active",
                      reservations.c.expires_at > bindparam("now"), rows > 0,
                      rows == select(func.count()).select_from(held.subquery()).scalar_subquery())
               .values(status=bindparam("new_status")).returning(reservations.c.id).cte("claimed"))
    ended = (update(lines).where(lines.c.reservation_id.in_(select(claimed.c.id))).values(live=False)
             .returning(lines.c.product_id, lines.c.at_risk, lines.c.quantity).cte("ended"))
    stock = aliased(Stock, locked)
    return (select(stock, select(func.count()).select_from(claimed).scalar_subquery(), ended.c.at_risk,
                   ended.c.quantity)
            .select_from(locked).outerjoin(ended, ended.c.product_id == locked.c.product_id)
            .order_by(locked.c.product_id).options(lazyload(stock.product))
            .execution_options(populate_existing=True))


_LOCK_AND_CLAIM = _lock_and_claim()


def _claim_rows(reservation: Reservation, new_status: str) -> list | None:
    result = db.session.execute(
        update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == "active")
        .values(status=new_status)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.execute(
        update(ReservationLine).where(ReservationLine.reservation_id == reservation.id).values(live=False)
        .returning(ReservationLine.product_id, ReservationLine.at_risk)
        .execution_options(synchronize_session=False)).all()


def _innermost():
    session = db.session()
    return session.get_nested_transaction() or session.get_transaction()


def claim(reservation: Reservation, new_status: str) -> bool:
    """Move an active reservation to `new_status`; False if someone else already moved it.

    The lines' at_risk come back with the claim, and are final from here: a stock count marks only
    live lines (stock_events.refresh_at_risk). `ended_at_risk` answers them for this transaction."""
    if one_statement():
        rows = db.session.execute(_CLAIM, {"id": reservation.id, "status": new_status}).all() or None
    else:
        rows = _claim_rows(reservation, new_status)
    if rows is None:
        db.session.refresh(reservation, ["status"])
        return False
    _claimed(reservation, new_status, rows)
    return True


@dataclass(frozen=True)
class Claimed:
    """What `lock_and_claim` locked and claimed: the stock rows by product id, the hold's lines as
    (product id, quantity) by product id, and the products whose lines were at risk."""

    stocks: dict[int, Stock]
    lines: list[tuple[int, int]]
    at_risk: frozenset[int]


def lock_and_claim(hold_id: int, new_status: str, now: dt.datetime) -> Claimed | None:
    """On PostgreSQL, lock the stock rows of an active hold's lines and claim it in one round trip
    (instead of reading the hold, inventory.stock.lock_rows, then `claim`). None when it did not
    claim (another database, a hold without lines or past `now`, a stock row missing, a hold someone
    else moved): the caller then takes the general path, whose locks are the same, in the same order.
    A loaded hold is not kept in step here (`mark_claimed`)."""
    if not one_statement():
        return None
    db.session.flush()  # nothing of the unit of work's is prepared with it
    with prepared(db.session):  # key lookups and key UPDATEs: planned once per connection
        found = db.session.execute(_LOCK_AND_CLAIM, {"hold_id": hold_id, "new_status": new_status,
                                                     "now": now}).all()
    if not found or not found[0][1]:
        return None
    risky = frozenset(stock.product_id for stock, _, at_risk, _ in found if at_risk)
    _note_ended(hold_id, risky)
    return Claimed({stock.product_id: stock for stock, _, _, _ in found},
                   [(stock.product_id, quantity) for stock, _, _, quantity in found], risky)


def mark_claimed(reservation: Reservation, new_status: str, risky) -> None:
    """What a claim leaves known on a loaded hold: its status, its lines no longer live, their at_risk."""
    set_committed_value(reservation, "status", new_status)
    for line in reservation.lines:
        set_committed_value(line, "live", False)
        set_committed_value(line, "at_risk", line.product_id in risky)


def _claimed(reservation: Reservation, new_status: str, rows) -> None:
    risky = frozenset(product_id for product_id, at_risk in rows if at_risk)
    mark_claimed(reservation, new_status, risky)
    _note_ended(reservation.id, risky)


def _note_ended(hold_id: int, risky: frozenset[int]) -> None:
    """Remember the hold this transaction ended, with its products at risk (`ended_at_risk`)."""
    current, ended = db.session.info.get(_ENDED, (None, {}))
    if current is not _innermost():
        current, ended = db.session.info[_ENDED] = (_innermost(), {})
    ended[hold_id] = risky


def ended_at_risk() -> dict[int, frozenset[int]]:
    """The holds this transaction ended (claimed), each with its products at risk: no need to read
    them again. Empty in another transaction or savepoint than the claim's."""
    current, ended = db.session.info.get(_ENDED, (None, {}))
    return ended if current is _innermost() else {}


def release_lines(reservation: Reservation, stocks, reason_source: str, actor_id=None) -> None:
    ledger.apply_many([(stocks[line.product_id], 0, -line.quantity) for line in reservation.lines],
                      reason="release", source=reason_source, actor_id=actor_id)


def lapsed_holds_touching(store_id, product_ids, now):
    """Ids of expired, unreleased holds at the store with a line for one of these products."""
    return (select(ReservationLine.reservation_id)
            .where(ReservationLine.store_id == store_id, ReservationLine.product_id.in_(product_ids),
                   lapsed(ReservationLine, now)))


def expired_touching(store_id: int, product_ids, now: dt.datetime) -> list[Reservation]:
    """In id order, so the ledger's release entries come in one order whatever the plan (the
    agreement test in tests/integration/test_ledger_writes.py compares them entry by entry)."""
    return list(db.session.scalars(
        select(Reservation).where(among(Reservation.id, lapsed_holds_touching(store_id, list(product_ids), now)))
        .order_by(Reservation.id)))


def expire_locked(reservations: list[Reservation], stocks) -> int:
    done = 0
    for reservation in reservations:
        if any(line.product_id not in stocks for line in reservation.lines):
            continue  # its rows are not locked here: the sweep or the next writer releases it
        if claim(reservation, "expired"):
            release_lines(reservation, stocks, f"reservation:{reservation.id}:expired")
            done += 1
    return done
